use hookline::Error;
use hookline::SignupInput;
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::crypto::SecretBox;
use hookline::endpoint::{EndpointInput, EndpointRules, EndpointStatus, GracePeriod, HealthBadge};
use hookline::endpoints;
use hookline::events::EventType;
use hookline::mode::Mode;
use hookline::store::Db;
use hookline::testing::TestDatabase;
use std::time::Duration;

pub async fn merchant(db: &Db, clock: &ManualClock, email: &str) -> String {
    let input = SignupInput {
        business_name: format!("Shop {email}"),
        email: email.into(),
        password: "correct horse battery".into(),
    };
    hookline::accounts::sign_up(db, clock, &input)
        .await
        .unwrap()
        .merchant_id
        .unwrap()
}

pub fn input(url: &str, types: &[EventType]) -> EndpointInput {
    EndpointInput {
        url: url.into(),
        description: "orders service".into(),
        event_types: types.iter().map(|t| t.as_str().to_owned()).collect(),
        payload_version: String::new(),
        allowlist: vec![],
    }
}

pub fn sbox() -> SecretBox {
    SecretBox::new(&[42u8; 32])
}

backend_tests! {
    async fn create_get_and_list_are_scoped_to_the_merchant_and_mode(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let rules = EndpointRules::default();
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Sandbox,
            &input("https://hooks.acme.example/in", &[EventType::RefundUpdated, EventType::PayinSucceeded]), rules).await.unwrap();
        assert!(ep.id.starts_with("ep_"));
        assert_eq!(ep.event_types, vec![EventType::PayinSucceeded, EventType::RefundUpdated]);
        assert_eq!(ep.payload_version, hookline::events::versions::latest());
        assert!(ep.enabled);
        assert_eq!(endpoints::get(&t.db, &acme, &ep.id).await.unwrap(), ep);
        assert!(matches!(endpoints::get(&t.db, &globex, &ep.id).await, Err(Error::NotFound)));
        assert_eq!(endpoints::list(&t.db, &acme, Mode::Sandbox).await.unwrap().len(), 1);
        assert!(endpoints::list(&t.db, &acme, Mode::Live).await.unwrap().is_empty());
        assert!(endpoints::list(&t.db, &globex, Mode::Sandbox).await.unwrap().is_empty());
    }

    async fn invalid_input_stores_nothing(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let bad = input("http://hooks.acme.example/in", &[]);
        let Err(Error::Validation(fields)) = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live, &bad, EndpointRules::default()).await else {
            panic!("expected validation errors");
        };
        assert!(fields.get("url").is_some() && fields.get("event_types").is_some());
        let control = EndpointInput {
            url: "https://hooks.acme.example/\0in".into(),
            description: "Orders\0".into(),
            ..input("https://hooks.acme.example/in", &[EventType::PayinSucceeded])
        };
        let Err(Error::Validation(fields)) = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live, &control, EndpointRules::default()).await else {
            panic!("expected validation errors");
        };
        assert_eq!(fields.get("url"), Some(hookline::validation::CONTROL_CHARACTER));
        assert_eq!(fields.get("description"), Some(hookline::validation::CONTROL_CHARACTER));
        assert!(endpoints::list(&t.db, &acme, Mode::Live).await.unwrap().is_empty());
    }

    async fn secrets_are_sealed_and_rotate_with_grace(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Sandbox,
            &input("https://hooks.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        let first = endpoints::current_secret(&t.db, &sbox(), &*clock, &acme, &ep.id).await.unwrap();
        assert!(first.to_whsec().starts_with("whsec_"));
        assert!(matches!(endpoints::current_secret(&t.db, &sbox(), &*clock, &globex, &ep.id).await, Err(Error::NotFound)));
        // The wrong operator key cannot read it.
        assert!(endpoints::current_secret(&t.db, &SecretBox::new(&[1u8; 32]), &*clock, &acme, &ep.id).await.is_err());

        endpoints::rotate_secret(&t.db, &sbox(), &*clock, &acme, &ep.id, GracePeriod::OneHour).await.unwrap();
        let second = endpoints::current_secret(&t.db, &sbox(), &*clock, &acme, &ep.id).await.unwrap();
        assert_ne!(first, second);
        let signing = endpoints::signing_secrets(&t.db, &sbox(), &*clock, &ep.id).await.unwrap();
        assert_eq!(signing, vec![second.clone(), first.clone()], "both sign during the grace period, new first");
        clock.advance(Duration::from_secs(3601));
        assert_eq!(endpoints::signing_secrets(&t.db, &sbox(), &*clock, &ep.id).await.unwrap(), vec![second.clone()]);

        // No grace: the old secret stops at once.
        endpoints::rotate_secret(&t.db, &sbox(), &*clock, &acme, &ep.id, GracePeriod::None).await.unwrap();
        assert_eq!(endpoints::signing_secrets(&t.db, &sbox(), &*clock, &ep.id).await.unwrap().len(), 1);
        assert!(matches!(
            endpoints::rotate_secret(&t.db, &sbox(), &*clock, &globex, &ep.id, GracePeriod::None).await,
            Err(Error::NotFound)
        ));
    }

    async fn dispatch_view_has_each_live_endpoint_with_its_signing_secrets_current_first(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let create = |url: &'static str| {
            let (db, clock, acme) = (&t.db, &clock, &acme);
            async move {
                endpoints::create(db, &sbox(), &**clock, acme, Mode::Live,
                    &input(url, &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap()
            }
        };
        let rotated = create("https://hooks.acme.example/rotated").await;
        let plain = create("https://hooks.acme.example/plain").await;
        let deleted = create("https://hooks.acme.example/deleted").await;
        let first = endpoints::current_secret(&t.db, &sbox(), &*clock, &acme, &rotated.id).await.unwrap();
        endpoints::rotate_secret(&t.db, &sbox(), &*clock, &acme, &rotated.id, GracePeriod::OneHour).await.unwrap();
        let second = endpoints::current_secret(&t.db, &sbox(), &*clock, &acme, &rotated.id).await.unwrap();
        endpoints::delete(&t.db, &*clock, &acme, &deleted.id).await.unwrap();

        fn sorted(mut found: Vec<(String, Vec<hookline::signing::SigningSecret>)>) -> Vec<(String, Vec<hookline::signing::SigningSecret>)> {
            found.sort_by(|a, b| a.0.cmp(&b.0));
            found
        }
        let view = |now: i64| {
            let ids = [rotated.id.as_str(), plain.id.as_str(), deleted.id.as_str(), "ep_missing"];
            let db = &t.db;
            async move {
                sorted(hookline::store::endpoints::get_live_many_with_secrets(db, &ids, now).await.unwrap()
                    .into_iter()
                    .map(|(endpoint, sealed)| (endpoint.row.id, endpoints::open_secrets(&sbox(), &sealed).unwrap()))
                    .collect())
            }
        };
        let plain_secret = endpoints::current_secret(&t.db, &sbox(), &*clock, &acme, &plain.id).await.unwrap();
        let expected = sorted(vec![
            (rotated.id.clone(), vec![second.clone(), first.clone()]),
            (plain.id.clone(), vec![plain_secret.clone()]),
        ]);
        assert_eq!(view(clock.now_ms()).await, expected, "the deleted and missing ones are left out; during the grace both sign, new first");

        clock.advance(Duration::from_secs(3601));
        let expected = sorted(vec![(rotated.id.clone(), vec![second]), (plain.id.clone(), vec![plain_secret])]);
        assert_eq!(view(clock.now_ms()).await, expected, "after the grace only the new one signs");
    }

    async fn secrets_list_shows_when_each_stops_signing(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Sandbox,
            &input("https://hooks.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        let first = endpoints::secrets(&t.db, &*clock, &acme, &ep.id).await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].expires_ms, None);
        let now = clock.now_ms();
        endpoints::rotate_secret(&t.db, &sbox(), &*clock, &acme, &ep.id, GracePeriod::OneDay).await.unwrap();
        let listed = endpoints::secrets(&t.db, &*clock, &acme, &ep.id).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].expires_ms, None, "the current one first");
        assert_eq!(listed[1].id, first[0].id);
        assert_eq!(listed[1].expires_ms, Some(now + 24 * 3_600_000));
        clock.advance(Duration::from_secs(24 * 3600 + 1));
        assert_eq!(endpoints::secrets(&t.db, &*clock, &acme, &ep.id).await.unwrap().len(), 1);
        assert!(matches!(endpoints::secrets(&t.db, &*clock, &globex, &ep.id).await, Err(Error::NotFound)));
    }

    async fn update_replaces_settings_and_subscriptions_and_is_owner_only(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let rules = EndpointRules::default();
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Sandbox,
            &input("https://hooks.acme.example/in", &[EventType::PayinSucceeded]), rules).await.unwrap();
        clock.advance(Duration::from_secs(5));
        let mut changed = input("https://hooks.acme.example/v2", &[EventType::RefundUpdated, EventType::PayoutUpdated]);
        changed.allowlist = vec!["203.0.113.0/24".into()];
        changed.payload_version = "2025-06-01".into();
        let updated = endpoints::update(&t.db, &*clock, &acme, &ep.id, &changed, rules).await.unwrap();
        assert_eq!(updated.url, "https://hooks.acme.example/v2");
        assert_eq!(updated.event_types, vec![EventType::PayoutUpdated, EventType::RefundUpdated]);
        assert_eq!(updated.allowlist, vec!["203.0.113.0/24".to_owned()]);
        assert_eq!(updated.payload_version, "2025-06-01");
        assert!(updated.updated_ms > ep.updated_ms);

        // Bad input and someone else's endpoint change nothing.
        let bad = input("ftp://x", &[]);
        assert!(matches!(endpoints::update(&t.db, &*clock, &acme, &ep.id, &bad, rules).await, Err(Error::Validation(_))));
        assert!(matches!(endpoints::update(&t.db, &*clock, &globex, &ep.id, &changed, rules).await, Err(Error::NotFound)));
        assert_eq!(endpoints::get(&t.db, &acme, &ep.id).await.unwrap(), updated);
    }

    async fn delete_hides_the_endpoint_and_fails_what_it_still_owed(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Sandbox,
            &input("https://hooks.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        let event = crate::deliveries::publish_sample(&t.db, &clock, &acme, Mode::Sandbox, EventType::PayinSucceeded).await;
        assert!(matches!(endpoints::delete(&t.db, &*clock, &globex, &ep.id).await, Err(Error::NotFound)));
        endpoints::delete(&t.db, &*clock, &acme, &ep.id).await.unwrap();
        assert!(matches!(endpoints::get(&t.db, &acme, &ep.id).await, Err(Error::NotFound)));
        assert!(endpoints::list(&t.db, &acme, Mode::Sandbox).await.unwrap().is_empty());
        let states = hookline::store::events::deliveries_of(&t.db, &event).await.unwrap();
        assert_eq!(states, vec![(ep.id.clone(), "failed".to_owned())], "kept in the logs, no longer owed");
        assert!(matches!(endpoints::delete(&t.db, &*clock, &acme, &ep.id).await, Err(Error::NotFound)));
    }

    async fn overview_reports_status_health_and_the_last_day(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let rules = EndpointRules::default();
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://hooks.acme.example/in", &[EventType::PayinSucceeded]), rules).await.unwrap();
        let off = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://hooks.acme.example/off", &[EventType::PayinSucceeded]), rules).await.unwrap();
        endpoints::disable(&t.db, &*clock, &acme, &off.id).await.unwrap();
        let rows = endpoints::overview(&t.db, &*clock, &acme, Mode::Live).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].status, rows[0].health), (EndpointStatus::Enabled, HealthBadge::Healthy));
        assert_eq!(rows[0].success_rate_24h(), None, "nothing attempted yet");
        assert_eq!((rows[1].status, rows[1].health), (EndpointStatus::Disabled, HealthBadge::Off));
        assert!(endpoints::overview(&t.db, &*clock, &acme, Mode::Sandbox).await.unwrap().is_empty());

        // Three attempts today, one of them a success; one two days ago is not counted.
        let now = clock.now_ms();
        for (i, (started, ok)) in [(now - 2 * 86_400_000, true), (now - 1000, false), (now - 500, false), (now - 100, true)].into_iter().enumerate() {
            crate::deliveries::insert_attempt(&t.db, &acme, &ep.id, started, ok, i).await;
        }
        hookline::store::health::record_failure(&t.db, &ep.id, now, 100, now).await.unwrap();
        let rows = endpoints::overview(&t.db, &*clock, &acme, Mode::Live).await.unwrap();
        assert_eq!((rows[0].attempts_24h, rows[0].succeeded_24h), (3, 1));
        assert!((rows[0].success_rate_24h().unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(rows[0].health, HealthBadge::Failing);
    }
}
