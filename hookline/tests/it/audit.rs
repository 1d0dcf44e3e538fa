use crate::endpoints::merchant;
use hookline::Error;
use hookline::audit::{self, Action, Actor, AuditQuery, NewEntry};
use hookline::backend_tests;
use hookline::clock::ManualClock;
use std::time::Duration;

fn actor(email: &str, role: &'static str) -> Actor {
    Actor {
        role,
        user_id: None,
        email: email.into(),
        address: "203.0.113.9".into(),
    }
}

backend_tests! {
    async fn the_audit_log_is_filtered_and_append_only(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let ops = actor("ops@acme.example", "merchant");
        let admin = actor("help@hookline.example", "admin");
        let entries = [
            (&ops, &acme, Action::SignIn, ""),
            (&ops, &acme, Action::SecretRevealed, ""),
            (&admin, &acme, Action::BalanceApproved, "Treasury use case checked"),
            (&ops, &globex, Action::SignIn, ""),
        ];
        for (who, merchant_id, action, reason) in entries {
            clock.advance(Duration::from_secs(60));
            audit::record(&t.db, &*clock, NewEntry {
                actor: who, merchant_id: Some(merchant_id), action, target: Some("ep_1"),
                detail: "detail".into(), reason,
            }).await.unwrap();
        }
        let all = audit::list(&t.db, &AuditQuery::default(), None).await.unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].merchant_id.as_deref(), Some(globex.as_str()), "newest first");
        let mine = audit::list(&t.db, &AuditQuery::default(), Some(&acme)).await.unwrap();
        assert_eq!(mine.len(), 3);
        let sneaky = AuditQuery { merchant: globex.clone(), ..AuditQuery::default() };
        assert_eq!(audit::list(&t.db, &sneaky, Some(&acme)).await.unwrap().len(), 3, "a merchant sees only its own");
        let by_admin = AuditQuery { actor: "help@hookline.example".into(), ..AuditQuery::default() };
        let found = audit::list(&t.db, &by_admin, None).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reason, "Treasury use case checked");
        assert_eq!(found[0].address, "203.0.113.9");
        let sign_ins = AuditQuery { action: "sign_in".into(), ..AuditQuery::default() };
        assert_eq!(audit::list(&t.db, &sign_ins, None).await.unwrap().len(), 2);
        let bad = AuditQuery { action: "took_over".into(), from: "yesterday".into(), ..AuditQuery::default() };
        let Err(Error::Validation(fields)) = audit::list(&t.db, &bad, None).await else { panic!("validation") };
        assert!(fields.get("action").is_some() && fields.get("from").is_some());
        let nul = AuditQuery { actor: "help\0@hookline.example".into(), merchant: "mer_\0".into(), ..AuditQuery::default() };
        let Err(Error::Validation(fields)) = audit::list(&t.db, &nul, None).await else { panic!("validation") };
        assert!(fields.get("actor").is_some() && fields.get("merchant").is_some());

        // No code path can change or remove an entry: the database refuses.
        let refused = hookline::on_db!(&t.db, |pool| {
            let update = sqlx::query("UPDATE audit_log SET reason = 'edited'").execute(pool).await;
            let delete = sqlx::query("DELETE FROM audit_log").execute(pool).await;
            (update.is_err(), delete.is_err())
        });
        assert_eq!(refused, (true, true));
        assert_eq!(audit::list(&t.db, &AuditQuery::default(), None).await.unwrap().len(), 4);
    }
}
