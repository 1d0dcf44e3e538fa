use crate::endpoints::{input, merchant, sbox};
use hookline::Error;
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::endpoints;
use hookline::events::EventType;
use hookline::mode::Mode;
use hookline::notices::{self, NoticeInput};
use std::time::Duration;

fn notice(title: &str, audience: &str, merchants: &str, version: &str) -> NoticeInput {
    NoticeInput {
        title: title.into(),
        body: "Maintenance window: deliveries are delayed, none are lost.".into(),
        effective_date: "2027-01-15".into(),
        audience: audience.into(),
        merchants: merchants.into(),
        retiring_version: version.into(),
    }
}

backend_tests! {
    async fn notices_reach_their_merchants_until_acknowledged(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let old = EndpointInput { payload_version: "2025-06-01".into(), ..input("https://old.acme.example/in", &[EventType::PayinSucceeded]) };
        endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live, &old, EndpointRules::default()).await.unwrap();
        endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Sandbox,
            &input("https://new.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();

        // Bad input names each field and stores nothing; so does an unknown merchant.
        let Err(Error::Validation(fields)) = notices::publish(&t.db, &*clock, "help@hookline.example", &notice("", "chosen", "", "1999-01-01")).await else { panic!("validation") };
        for field in ["title", "merchants", "retiring_version"] {
            assert!(fields.get(field).is_some(), "{field}: {fields:?}");
        }
        let Err(Error::Validation(fields)) = notices::publish(&t.db, &*clock, "help@hookline.example", &notice("Hi", "chosen", &format!("{globex} mer_nobody"), "")).await else { panic!("unknown merchant") };
        assert!(fields.get("merchants").unwrap().contains("mer_nobody"));
        let Err(Error::Validation(fields)) = notices::publish(&t.db, &*clock, "help@hookline.example", &notice("Hi\0", "chosen", &format!("{globex}\0"), "")).await else { panic!("control characters") };
        for field in ["title", "merchants"] {
            assert_eq!(fields.get(field), Some(hookline::validation::CONTROL_CHARACTER), "{field}");
        }
        assert!(notices::list(&t.db).await.unwrap().is_empty(), "nothing stored");

        // To one chosen merchant.
        let only_globex = notices::publish(&t.db, &*clock, "help@hookline.example", &notice("Globex migration", "chosen", &globex, "")).await.unwrap();
        assert!(!only_globex.to_all);
        assert!(notices::open_for(&t.db, &acme, Mode::Live).await.unwrap().is_empty());
        assert_eq!(notices::open_for(&t.db, &globex, Mode::Live).await.unwrap().len(), 1);
        assert!(matches!(notices::acknowledge(&t.db, &*clock, &acme, "a@acme.example", &only_globex.id).await, Err(Error::NotFound)),
            "a merchant cannot acknowledge a notice that is not its own");

        // To everyone, retiring a payload version: acme sees which endpoint still uses it.
        clock.advance(Duration::from_secs(60));
        let retire = notices::publish(&t.db, &*clock, "help@hookline.example", &notice("2025-06-01 retires", "all", "", "2025-06-01")).await.unwrap();
        let open = notices::open_for(&t.db, &acme, Mode::Live).await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].notice.retiring_version.as_deref(), Some("2025-06-01"));
        assert_eq!(open[0].endpoints_on_version, vec!["https://old.acme.example/in".to_owned()]);
        assert!(notices::open_for(&t.db, &acme, Mode::Sandbox).await.unwrap()[0].endpoints_on_version.is_empty(),
            "the other mode's endpoints are not named");
        let for_globex = notices::open_for(&t.db, &globex, Mode::Live).await.unwrap();
        assert_eq!(for_globex.iter().map(|n| n.notice.id.as_str()).collect::<Vec<_>>(), vec![retire.id.as_str(), only_globex.id.as_str()], "newest first");
        assert!(for_globex[0].endpoints_on_version.is_empty());

        // Acknowledged notices leave the dashboard; the first acknowledgement stands.
        let acked_at = clock.now_ms();
        notices::acknowledge(&t.db, &*clock, &acme, "a@acme.example", &retire.id).await.unwrap();
        clock.advance(Duration::from_secs(60));
        notices::acknowledge(&t.db, &*clock, &acme, "someone@acme.example", &retire.id).await.unwrap();
        assert!(notices::open_for(&t.db, &acme, Mode::Live).await.unwrap().is_empty());
        assert_eq!(notices::open_for(&t.db, &globex, Mode::Live).await.unwrap().len(), 2);
        assert!(matches!(notices::acknowledge(&t.db, &*clock, &acme, "a@acme.example", "ntc_none").await, Err(Error::NotFound)));

        let listed = notices::list(&t.db).await.unwrap();
        assert_eq!(listed.iter().map(|s| (s.notice.id.as_str(), s.recipients, s.acknowledged)).collect::<Vec<_>>(),
            vec![(retire.id.as_str(), 2, 1), (only_globex.id.as_str(), 1, 0)]);
        let (n, recipients) = notices::report(&t.db, &retire.id).await.unwrap();
        assert_eq!(n.title, "2025-06-01 retires");
        assert_eq!(recipients.len(), 2);
        assert_eq!((recipients[0].merchant_id.as_str(), recipients[0].acked_by.as_deref(), recipients[0].acked_ms), (acme.as_str(), Some("a@acme.example"), Some(acked_at)));
        assert_eq!((recipients[1].merchant_id.as_str(), recipients[1].acked_ms), (globex.as_str(), None));
        let (_, chosen) = notices::report(&t.db, &only_globex.id).await.unwrap();
        assert_eq!(chosen.iter().map(|r| r.merchant_id.as_str()).collect::<Vec<_>>(), vec![globex.as_str()]);
        assert!(matches!(notices::report(&t.db, "ntc_none").await, Err(Error::NotFound)));
    }
}
