use hookline::Error;
use hookline::SignupInput;
use hookline::account::Role;
use hookline::accounts::{self, ThrottlePolicy};
use hookline::backend_tests;
use hookline::clock::ManualClock;
use hookline::testing::TestDatabase;
use std::time::Duration;

fn signup(name: &str, email: &str) -> SignupInput {
    SignupInput {
        business_name: name.into(),
        email: email.into(),
        password: "correct horse battery".into(),
    }
}

backend_tests! {
    async fn sign_up_creates_merchant_and_user(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let account = accounts::sign_up(&t.db, &*clock, &signup("Acme Ltd", "Ops@Acme.Example")).await.unwrap();
        assert_eq!(account.role, Role::Merchant);
        assert_eq!(account.email, "ops@acme.example");
        assert_eq!(account.business_name.as_deref(), Some("Acme Ltd"));
        assert!(account.merchant_id.as_deref().unwrap().starts_with("mer_"));
        assert_eq!(accounts::count_merchants(&t.db).await.unwrap(), 1);
    }

    async fn duplicate_email_is_refused_and_writes_nothing(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        accounts::sign_up(&t.db, &*clock, &signup("First", "ops@acme.example")).await.unwrap();
        let err = accounts::sign_up(&t.db, &*clock, &signup("Second", "OPS@acme.example ")).await.unwrap_err();
        match err {
            Error::Validation(fields) => assert!(fields.get("email").unwrap().contains("already exists")),
            other => panic!("expected a validation error, got {other:?}"),
        }
        // The second merchant row was rolled back with its user.
        assert_eq!(accounts::count_merchants(&t.db).await.unwrap(), 1);
    }

    async fn invalid_sign_up_writes_nothing(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let bad = SignupInput { business_name: "".into(), email: "x".into(), password: "short".into() };
        let Error::Validation(fields) = accounts::sign_up(&t.db, &*clock, &bad).await.unwrap_err() else {
            panic!("expected validation errors");
        };
        assert_eq!(fields.0.len(), 3);
        assert_eq!(accounts::count_merchants(&t.db).await.unwrap(), 0);
    }

    async fn sign_in_accepts_right_password_only(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let created = accounts::sign_up(&t.db, &*clock, &signup("Acme", "ops@acme.example")).await.unwrap();
        let policy = ThrottlePolicy::default();
        let signed_in = accounts::sign_in(&t.db, &*clock, policy, " OPS@acme.example", "correct horse battery", "10.1.1.1").await.unwrap();
        assert_eq!(signed_in, created);
        let wrong = accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "wrong horse battery", "10.1.1.1").await.unwrap_err();
        let unknown = accounts::sign_in(&t.db, &*clock, policy, "nobody@acme.example", "correct horse battery", "10.1.1.1").await.unwrap_err();
        assert!(matches!(wrong, Error::InvalidCredentials));
        assert!(matches!(unknown, Error::InvalidCredentials));
        assert_eq!(wrong.to_string(), unknown.to_string());
        // What cannot be an address is refused the same way, on both backends
        // (PostgreSQL cannot store NUL, nor index 3,000 characters).
        for impossible in ["ops\0@acme.example".to_owned(), format!("{}@acme.example", "x".repeat(3000))] {
            let refused = accounts::sign_in(&t.db, &*clock, policy, &impossible, "correct horse battery", "10.1.1.2").await.unwrap_err();
            assert!(matches!(refused, Error::InvalidCredentials), "{refused}");
        }
    }

    async fn throttles_per_email_until_window_closes(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        accounts::sign_up(&t.db, &*clock, &signup("Acme", "ops@acme.example")).await.unwrap();
        let policy = ThrottlePolicy { window_ms: 60_000, max_failures_per_email: 3, max_failures_per_address: 100, ..ThrottlePolicy::default() };
        for i in 0..3 {
            let addr = format!("10.0.0.{i}");
            let err = accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "nope nope nope", &addr).await.unwrap_err();
            assert!(matches!(err, Error::InvalidCredentials));
        }
        // Even the right password is refused while the email is throttled.
        let err = accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "correct horse battery", "10.9.9.9").await.unwrap_err();
        let Error::Throttled { retry_after_secs } = err else { panic!("expected throttling, got {err:?}") };
        assert!(retry_after_secs > 0 && retry_after_secs <= 60);
        clock.advance(Duration::from_secs(61));
        accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "correct horse battery", "10.9.9.9").await.unwrap();
    }

    async fn throttles_per_address_across_emails(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        accounts::sign_up(&t.db, &*clock, &signup("Acme", "ops@acme.example")).await.unwrap();
        let policy = ThrottlePolicy { window_ms: 60_000, max_failures_per_email: 100, max_failures_per_address: 4, ..ThrottlePolicy::default() };
        for i in 0..4 {
            let email = format!("guess{i}@acme.example");
            accounts::sign_in(&t.db, &*clock, policy, &email, "whatever whatever", "192.0.2.7").await.unwrap_err();
        }
        let err = accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "correct horse battery", "192.0.2.7").await.unwrap_err();
        assert!(matches!(err, Error::Throttled { .. }));
        // Another address is not affected.
        accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "correct horse battery", "192.0.2.8").await.unwrap();
        // IPv6 addresses count by their /64: a client holds the whole of one.
        for i in 0..4 {
            let email = format!("guess{i}@acme.example");
            let address = format!("2001:db8:1:2::{i:x}");
            accounts::sign_in(&t.db, &*clock, policy, &email, "whatever whatever", &address).await.unwrap_err();
        }
        let err = accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "correct horse battery", "2001:db8:1:2:ffff::9").await.unwrap_err();
        assert!(matches!(err, Error::Throttled { .. }));
        accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "correct horse battery", "2001:db8:1:3::1").await.unwrap();
    }

    async fn an_address_already_refused_cannot_lock_out_other_accounts(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        accounts::sign_up(&t.db, &*clock, &signup("Acme", "ops@acme.example")).await.unwrap();
        let policy = ThrottlePolicy { window_ms: 60_000, max_failures_per_email: 2, max_failures_per_address: 2, ..ThrottlePolicy::default() };
        for i in 0..2 {
            accounts::sign_in(&t.db, &*clock, policy, &format!("guess{i}@acme.example"), "whatever whatever", "203.0.113.9").await.unwrap_err();
        }
        for _ in 0..5 {
            let err = accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "whatever whatever", "203.0.113.9").await.unwrap_err();
            assert!(matches!(err, Error::Throttled { .. }));
        }
        // The refused attempts did not count against the email they named.
        accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "correct horse battery", "198.51.100.1").await.unwrap();
    }

    async fn guesses_sent_at_once_get_no_more_checks_than_one_by_one(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        accounts::sign_up(&t.db, &*clock, &signup("Acme", "ops@acme.example")).await.unwrap();
        let policy = ThrottlePolicy { window_ms: 60_000, max_failures_per_email: 3, max_failures_per_address: 100, ..ThrottlePolicy::default() };
        let guesses: Vec<_> = (0..20).map(|i| {
            let (db, clock) = (t.db.clone(), clock.clone());
            tokio::spawn(async move {
                accounts::sign_in(&db, &*clock, policy, "ops@acme.example", &format!("guess number {i}"), "198.51.100.4").await
            })
        }).collect();
        let mut checked = 0;
        for guess in guesses {
            match guess.await.unwrap() {
                Err(Error::InvalidCredentials) => checked += 1,
                Err(Error::Throttled { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(checked, 3, "only as many passwords are checked as the limit allows");
        // A successful sign-in does not count against its address.
        let policy = ThrottlePolicy { max_failures_per_email: 100, max_failures_per_address: 2, ..policy };
        clock.advance(Duration::from_secs(61));
        for _ in 0..5 {
            accounts::sign_in(&t.db, &*clock, policy, "ops@acme.example", "correct horse battery", "198.51.100.5").await.unwrap();
        }
    }

    async fn admins_have_no_merchant_and_unique_email(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let admin = accounts::create_admin(&t.db, &*clock, "Help@Hookline.Example", "a long admin password").await.unwrap();
        assert_eq!(admin.role, Role::Admin);
        assert_eq!(admin.merchant_id, None);
        assert!(matches!(
            accounts::create_admin(&t.db, &*clock, "help@hookline.example", "another long password").await,
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            accounts::create_admin(&t.db, &*clock, "x@hookline.example", "short").await,
            Err(Error::Validation(_))
        ));
        assert_eq!(accounts::count_merchants(&t.db).await.unwrap(), 0);
    }

    async fn merchant_search_matches_name_email_and_id(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = accounts::sign_up(&t.db, &*clock, &signup("Acme Payments", "ops@acme.example")).await.unwrap();
        clock.advance(Duration::from_secs(1));
        accounts::sign_up(&t.db, &*clock, &signup("Globex 100%", "billing@globex.example")).await.unwrap();
        let all = accounts::search_merchants(&t.db, "", 50).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].business_name, "Globex 100%", "newest first");
        assert_eq!(accounts::search_merchants(&t.db, "ACME", 50).await.unwrap().len(), 1);
        assert_eq!(accounts::search_merchants(&t.db, "billing@", 50).await.unwrap().len(), 1);
        let by_id = accounts::search_merchants(&t.db, acme.merchant_id.as_deref().unwrap(), 50).await.unwrap();
        assert_eq!(by_id[0].business_name, "Acme Payments");
        // The admin page looks a merchant up by its exact id, not by search.
        let id = acme.merchant_id.as_deref().unwrap();
        assert_eq!(accounts::merchant(&t.db, id).await.unwrap().unwrap().business_name, "Acme Payments");
        assert!(accounts::merchant(&t.db, &id[..id.len() - 1]).await.unwrap().is_none());
        assert!(accounts::merchant(&t.db, &format!("{id}\0")).await.unwrap().is_none());
        // LIKE wildcards in the query are taken literally.
        assert_eq!(accounts::search_merchants(&t.db, "100%", 50).await.unwrap().len(), 1);
        // Unescaped, `_` would match any character ("exa" in both emails).
        assert_eq!(accounts::search_merchants(&t.db, "e_a", 50).await.unwrap().len(), 0);
        // Case is ignored beyond ASCII too, on both backends.
        clock.advance(Duration::from_secs(1));
        accounts::sign_up(&t.db, &*clock, &signup("ÖKOSTROM Überweisung", "kasse@oeko.example")).await.unwrap();
        for query in ["ökostrom", "überweisung", "ÜBERWEISUNG", "Ökostrom ü"] {
            let found = accounts::search_merchants(&t.db, query, 50).await.unwrap();
            assert_eq!(found.len(), 1, "{query}");
            assert_eq!(found[0].business_name, "ÖKOSTROM Überweisung", "{query}");
        }
        assert!(accounts::search_merchants(&t.db, "uberweisung", 50).await.unwrap().is_empty());
    }

    async fn migrations_are_idempotent(backend) {
        let t = TestDatabase::new(backend).await;
        t.db.migrate().await.unwrap();
        t.db.ping().await.unwrap();
    }
}
