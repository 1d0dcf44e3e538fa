use crate::endpoints::merchant;
use hookline::Error;
use hookline::backend_tests;
use hookline::balance::{self, BalanceRequestInput, Observed, RequestStatus, Snapshot};
use hookline::clock::ManualClock;
use hookline::events::Currency;
use hookline::mode::Mode;

fn asking(threshold: &str, currency: &str) -> BalanceRequestInput {
    BalanceRequestInput {
        threshold: threshold.into(),
        currency: currency.into(),
    }
}

fn snapshot(merchant_id: &str, available: i64) -> Snapshot {
    Snapshot {
        merchant_id: merchant_id.to_owned(),
        mode: Mode::Live,
        currency: Currency::parse("EUR").unwrap(),
        available,
        balance_id: None,
    }
}

/// The watch as a failure between its disarm and the warning's storing
/// leaves it: disarmed, owing the warning under `key`.
async fn owe(db: &hookline::store::Db, merchant_id: &str, key: &str) {
    let data = serde_json::json!({
        "balance_id": "bal_live_eur",
        "available": { "value": 40_000, "currency": "EUR" },
        "threshold": { "value": 50_000, "currency": "EUR" },
        "response": { "code": "below_threshold", "message": "Available balance is below your threshold" },
        "observed_at": "2026-11-28T14:05:00Z",
    });
    hookline::on_db!(db, |pool| {
        sqlx::query("UPDATE balance_watch SET armed = FALSE, owed_data = $1, owed_key = $2 WHERE merchant_id = $3")
            .bind(data.to_string())
            .bind(key)
            .bind(merchant_id)
            .execute(pool)
            .await
            .unwrap();
    });
}

backend_tests! {
    async fn a_warning_a_failure_interrupted_is_sent_by_the_next_snapshot(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "treasury@acme.example").await;
        let req = balance::request(&t.db, &*clock, &acme, Mode::Live, &asking("500.00", "EUR")).await.unwrap();
        balance::decide(&t.db, &*clock, &req.id, true, "ok").await.unwrap();
        assert_eq!(balance::observe(&t.db, &*clock, &snapshot(&acme, 60_000), 10).await.unwrap(), Observed::Unchanged { armed: true });

        // The database failed after the disarm: the platform's next snapshot,
        // even one back above the re-arm line, sends the warning first.
        owe(&t.db, &acme, "balance-warning:test:1").await;
        let Observed::Warned { event_id } = balance::observe(&t.db, &*clock, &snapshot(&acme, 70_000), 10).await.unwrap() else { panic!("owed warning") };
        let (event, _) = hookline::store::logs::event(&t.db, &acme, &event_id).await.unwrap().unwrap();
        assert_eq!(event.event_type, "balance.threshold_warning");
        assert!(event.data.contains("40000"), "the crossing's own figures: {}", event.data);
        assert_eq!(balance::observe(&t.db, &*clock, &snapshot(&acme, 70_000), 10).await.unwrap(), Observed::Rearmed);

        // Stored, but the failure came before the watch heard: sent again
        // under the same key, it is the same event, not a second one.
        owe(&t.db, &acme, "balance-warning:test:1").await;
        let again = balance::observe(&t.db, &*clock, &snapshot(&acme, 45_000), 10).await.unwrap();
        assert_eq!(again, Observed::Warned { event_id: event_id.clone() });
        assert_eq!(hookline::store::events::count_for_merchant(&t.db, &acme).await.unwrap(), 1);
        assert_eq!(balance::observe(&t.db, &*clock, &snapshot(&acme, 45_000), 10).await.unwrap(), Observed::Unchanged { armed: false });
    }

    async fn balance_warnings_are_requested_then_decided(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;

        let Err(Error::Validation(fields)) = balance::request(&t.db, &*clock, &acme, Mode::Live, &asking("", "XXX")).await else { panic!("validation") };
        assert!(fields.get("threshold").is_some() && fields.get("currency").is_some());
        // The largest threshold is 10^12 minor units, whatever the currency's minor unit.
        for (currency, most) in [("EUR", "10000000000"), ("JPY", "1000000000000"), ("KWD", "1000000000")] {
            let Err(Error::Validation(fields)) = balance::request(&t.db, &*clock, &acme, Mode::Live, &asking("99999999999999", currency)).await else { panic!("too large") };
            assert!(fields.get("threshold").unwrap().ends_with(&format!("at most {most}.")), "{currency}: {fields}");
        }
        assert!(balance::list(&t.db, &acme, Mode::Live).await.unwrap().is_empty(), "nothing stored");

        let req = balance::request(&t.db, &*clock, &acme, Mode::Live, &asking("5000.00", "EUR")).await.unwrap();
        assert_eq!((req.threshold.value, req.status), (500_000, RequestStatus::Pending));
        let Err(Error::Validation(fields)) = balance::request(&t.db, &*clock, &acme, Mode::Live, &asking("10", "EUR")).await else { panic!("one pending at a time") };
        assert!(fields.get("threshold").unwrap().contains("already"));
        assert!(!balance::approved(&t.db, &acme, Mode::Live).await.unwrap());
        assert!(balance::list(&t.db, &globex, Mode::Live).await.unwrap().is_empty());
        assert!(balance::list(&t.db, &acme, Mode::Sandbox).await.unwrap().is_empty());

        balance::decide(&t.db, &*clock, &req.id, true, "Approved for treasury alerts").await.unwrap();
        assert!(balance::approved(&t.db, &acme, Mode::Live).await.unwrap());
        assert!(!balance::approved(&t.db, &acme, Mode::Sandbox).await.unwrap(), "per mode");
        let listed = balance::list(&t.db, &acme, Mode::Live).await.unwrap();
        assert_eq!(listed[0].status, RequestStatus::Approved);
        assert_eq!(listed[0].note, "Approved for treasury alerts");
        let Err(Error::Validation(fields)) = balance::decide(&t.db, &*clock, &req.id, false, "").await else { panic!("decided once") };
        assert_eq!(fields.get("decision"), Some("This request was approved already."));
        assert!(matches!(balance::decide(&t.db, &*clock, "bal_none", false, "").await, Err(Error::NotFound)));

        let denied = balance::request(&t.db, &*clock, &acme, Mode::Sandbox, &asking("100", "JPY")).await.unwrap();
        balance::decide(&t.db, &*clock, &denied.id, false, "Not available in sandbox yet").await.unwrap();
        assert!(!balance::approved(&t.db, &acme, Mode::Sandbox).await.unwrap());
    }

    async fn of_requests_sent_at_once_one_waits_for_review(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let sends = (0..8).map(|i| {
            let (db, clock, acme) = (t.db.clone(), clock.clone(), acme.clone());
            tokio::spawn(async move {
                balance::request(&db, &*clock, &acme, Mode::Live, &asking(&format!("{}00", i + 1), "EUR")).await
            })
        });
        let mut filed = 0;
        for send in sends.collect::<Vec<_>>() {
            match send.await.unwrap() {
                Ok(_) => filed += 1,
                Err(Error::Validation(fields)) => assert!(fields.get("threshold").unwrap().contains("already")),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(filed, 1);
        assert_eq!(balance::list(&t.db, &acme, Mode::Live).await.unwrap().len(), 1);
    }
}
