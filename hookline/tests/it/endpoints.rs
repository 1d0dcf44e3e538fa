use hookline::Error;
use hookline::SignupInput;
use hookline::backend_tests;
use hookline::clock::ManualClock;
use hookline::crypto::SecretBox;
use hookline::endpoint::{EndpointInput, EndpointRules};
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

        endpoints::rotate_secret(&t.db, &sbox(), &*clock, &acme, &ep.id, Duration::from_secs(3600)).await.unwrap();
        let second = endpoints::current_secret(&t.db, &sbox(), &*clock, &acme, &ep.id).await.unwrap();
        assert_ne!(first, second);
        let signing = endpoints::signing_secrets(&t.db, &sbox(), &*clock, &ep.id).await.unwrap();
        assert_eq!(signing, vec![second.clone(), first.clone()], "both sign during the grace period, new first");
        clock.advance(Duration::from_secs(3601));
        assert_eq!(endpoints::signing_secrets(&t.db, &sbox(), &*clock, &ep.id).await.unwrap(), vec![second.clone()]);

        // No grace: the old secret stops at once.
        endpoints::rotate_secret(&t.db, &sbox(), &*clock, &acme, &ep.id, Duration::ZERO).await.unwrap();
        assert_eq!(endpoints::signing_secrets(&t.db, &sbox(), &*clock, &ep.id).await.unwrap().len(), 1);
        assert!(matches!(
            endpoints::rotate_secret(&t.db, &sbox(), &*clock, &globex, &ep.id, Duration::ZERO).await,
            Err(Error::NotFound)
        ));
    }
}
