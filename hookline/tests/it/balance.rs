use crate::endpoints::merchant;
use hookline::Error;
use hookline::backend_tests;
use hookline::balance::{self, BalanceRequestInput, RequestStatus};
use hookline::clock::ManualClock;
use hookline::mode::Mode;

fn asking(threshold: &str, currency: &str) -> BalanceRequestInput {
    BalanceRequestInput {
        threshold: threshold.into(),
        currency: currency.into(),
    }
}

backend_tests! {
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
        assert!(matches!(balance::decide(&t.db, &*clock, &req.id, false, "").await, Err(Error::NotFound)), "decided once");

        let denied = balance::request(&t.db, &*clock, &acme, Mode::Sandbox, &asking("100", "JPY")).await.unwrap();
        balance::decide(&t.db, &*clock, &denied.id, false, "Not available in sandbox yet").await.unwrap();
        assert!(!balance::approved(&t.db, &acme, Mode::Sandbox).await.unwrap());
    }
}
