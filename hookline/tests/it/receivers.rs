//! The dispatcher against real HTTPS receivers on loopback, each with its own
//! self-signed certificate trusted through the delivery policy, and each
//! misbehaving in one of the ways merchant servers do.

use crate::endpoints::{merchant, sbox};
use hookline::Error;
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::dispatch::{ClientCache, DeliveryPolicy, Dispatcher};
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::endpoints;
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::events::schema::event_schema;
use hookline::ingest::{self, PublishInput};
use hookline::metrics::Metrics;
use hookline::mode::Mode;
use hookline::retry::RetrySchedule;
use hookline::signing::{SigningSecret, verify};
use hookline::store::Db;
use hookline::store::deliveries::{self, AttemptRow};
use hookline::store::events as event_store;
use hookline::testing::TestDatabase;
use hookline::testing::receiver::{Behaviour, TlsReceiver};
use std::sync::Arc;
use std::time::Duration;

/// HTTPS only, loopback allowed (the receivers live there), short timeouts.
fn tls_dispatcher(
    db: &Db,
    clock: &Arc<ManualClock>,
    receivers: &[&TlsReceiver],
) -> Arc<Dispatcher> {
    Arc::new(Dispatcher {
        db: db.clone(),
        sbox: sbox(),
        clock: clock.clone(),
        schedule: RetrySchedule::default(),
        clients: ClientCache::new(DeliveryPolicy {
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            allow_http: false,
            allow_private: true,
            source_address: None,
            extra_roots_pem: receivers
                .iter()
                .map(|r| r.cert_pem.clone().into_bytes())
                .collect(),
            inbox_prefix: None,
        }),
        node_id: "tls-node".into(),
        lease: Duration::from_secs(60),
        batch_size: 50,
        max_in_flight: 16,
        max_per_endpoint: 4,
        metrics: Arc::new(Metrics::new()),
        breaker: Default::default(),
        wakeup: Default::default(),
        gates: Default::default(),
    })
}

async fn endpoint(db: &Db, clock: &ManualClock, merchant: &str, url: &str) -> String {
    let input = EndpointInput {
        url: url.into(),
        event_types: vec!["payin.succeeded".into()],
        ..EndpointInput::default()
    };
    let rules = EndpointRules {
        allow_http: false,
        opt_in_approved: false,
    };
    endpoints::create(db, &sbox(), clock, merchant, Mode::Live, &input, rules)
        .await
        .unwrap()
        .id
}

async fn publish(db: &Db, clock: &ManualClock, merchant: &str) -> String {
    ingest::publish(
        db,
        clock,
        &PublishInput {
            merchant_id: merchant.into(),
            mode: "live".into(),
            event_type: "payin.succeeded".into(),
            data: sample_data(EventType::PayinSucceeded, clock.now_ms()),
        },
        None,
    )
    .await
    .unwrap()
    .event
    .id
}

fn delivery(event: &str, endpoint: &str) -> String {
    format!("dlv_{}_{endpoint}", event.trim_start_matches("evt_"))
}

async fn only_attempt(db: &Db, event: &str, endpoint: &str) -> AttemptRow {
    let attempts = deliveries::attempts_of(db, &delivery(event, endpoint))
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1, "{endpoint}");
    attempts.into_iter().next().unwrap()
}

backend_tests! {
    async fn every_kind_of_answer_is_classified_and_scheduled(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "tls@acme.example").await;

        let ok = TlsReceiver::start(Behaviour::status(200)).await;
        let failing = TlsReceiver::start(Behaviour::status(500)).await;
        let busy = TlsReceiver::start(Behaviour::with_header(429, "retry-after", "120")).await;
        let moved = TlsReceiver::start(Behaviour::with_header(
            301, "location", &format!("{}/elsewhere", ok.url))).await;
        let silent = TlsReceiver::start(Behaviour::Silent).await;
        let reset = TlsReceiver::start(Behaviour::Reset).await;
        let wrong_name = TlsReceiver::start_for(Behaviour::status(200), &["wrong.example"]).await;
        let drip = TlsReceiver::start(Behaviour::Drip { total: 100, every: Duration::from_millis(100) }).await;
        let huge = TlsReceiver::start(Behaviour::Huge { bytes: 5 * 1024 * 1024 }).await;
        let all = [&ok, &failing, &busy, &moved, &silent, &reset, &wrong_name, &drip, &huge];

        let mut ids = Vec::new();
        for r in all {
            ids.push(endpoint(&t.db, &clock, &m, &r.url).await);
        }
        let event = publish(&t.db, &clock, &m).await;
        let d = tls_dispatcher(&t.db, &clock, &all);

        // The healthy endpoint's delivery completes while the silent and
        // dripping ones are still hanging: slow merchants do not hold it up.
        let t0 = clock.now_ms();
        let step = tokio::spawn({ let d = d.clone(); async move { d.step().await } });
        let ok_delivery = delivery(&event, &ids[0]);
        loop {
            let state = deliveries::state(&t.db, &ok_delivery).await.unwrap().unwrap();
            if state.0 == "succeeded" { break; }
            assert!(!step.is_finished(), "the step ended before the healthy delivery was recorded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!step.is_finished(), "the silent receiver is still being waited for");
        assert_eq!(step.await.unwrap().unwrap(), all.len());

        let state = |i: usize| { let db = t.db.clone(); let id = delivery(&event, &ids[i]); async move {
            deliveries::state(&db, &id).await.unwrap().unwrap().0 } };
        let next = |i: usize| { let db = t.db.clone(); let id = delivery(&event, &ids[i]); async move {
            deliveries::next_attempt_ms(&db, &id).await.unwrap().unwrap() - t0 } };

        // 200: delivered, signed, and the body matches the published schema.
        let a = only_attempt(&t.db, &event, &ids[0]).await;
        assert_eq!((a.response_status, a.error_class.as_deref()), (Some(200), None));
        assert_eq!(state(0).await, "succeeded");
        let got = ok.received();
        assert_eq!(got.len(), 1, "the 301 was not followed to the healthy receiver");
        let secret = endpoints::current_secret(&t.db, &sbox(), &*clock, &m, &ids[0]).await.unwrap();
        let check = |s: &SigningSecret| verify(s, got[0].header("webhook-id").unwrap(),
            got[0].header("webhook-timestamp").unwrap(), got[0].header("webhook-signature").unwrap(),
            &got[0].body, clock.now_ms() / 1000, 300);
        check(&secret).unwrap();
        assert!(check(&SigningSecret::generate()).is_err());
        let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
        assert!(body.get("test").is_none(), "a real event is not marked as a test: {body}");
        let schema = event_schema(EventType::PayinSucceeded, body["api_version"].as_str().unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        if let Err(e) = validator.validate(&body) { panic!("captured payload breaks its schema: {e}"); }

        // 500: an HTTP status failure, due again after 5 s ± 20 %.
        let a = only_attempt(&t.db, &event, &ids[1]).await;
        assert_eq!((a.response_status, a.error_class.as_deref()), (Some(500), Some("http_status")));
        assert_eq!(state(1).await, "pending");
        assert!((4_000..=6_000).contains(&next(1).await));

        // 429 with Retry-After: 120 waits the 120 s it asked for.
        let a = only_attempt(&t.db, &event, &ids[2]).await;
        assert_eq!((a.response_status, a.error_class.as_deref()), (Some(429), Some("http_status")));
        assert_eq!(next(2).await, 120_000);

        // 301: not followed, recorded with its Location, retried.
        let a = only_attempt(&t.db, &event, &ids[3]).await;
        assert_eq!((a.response_status, a.error_class.as_deref()), (Some(301), Some("http_status")));
        assert!(a.response_headers.unwrap().contains("/elsewhere"));
        assert_eq!(state(3).await, "pending");

        // Silence past the timeout.
        let a = only_attempt(&t.db, &event, &ids[4]).await;
        assert_eq!((a.response_status, a.error_class.as_deref()), (None, Some("timeout")), "{:?}", a.error_message);
        assert_eq!(silent.received().len(), 1);
        assert_eq!(state(4).await, "pending");

        // A reset connection.
        let a = only_attempt(&t.db, &event, &ids[5]).await;
        assert_eq!((a.response_status, a.error_class.as_deref()), (None, Some("connect")), "{:?}", a.error_message);
        assert_eq!(state(5).await, "pending");

        // A certificate for another name: refused before anything is sent.
        let a = only_attempt(&t.db, &event, &ids[6]).await;
        assert_eq!((a.response_status, a.error_class.as_deref()), (None, Some("tls")), "{:?}", a.error_message);
        assert!(wrong_name.received().is_empty());
        assert_eq!(state(6).await, "pending");

        // A 200 whose body drips in slower than the timeout allows.
        let a = only_attempt(&t.db, &event, &ids[7]).await;
        assert_eq!(a.error_class.as_deref(), Some("timeout"), "{:?}", a.error_message);
        assert_eq!(state(7).await, "pending");

        // 5 MB answer: a success, and only the first 8 KiB are kept.
        let a = only_attempt(&t.db, &event, &ids[8]).await;
        assert_eq!((a.response_status, a.error_class.as_deref()), (Some(200), None));
        assert_eq!(a.response_body.unwrap().len(), 8 * 1024);
        assert_eq!(state(8).await, "succeeded");

        // Retries reuse the same webhook-id; connections to a healthy receiver are reused.
        clock.set(t0 + 7_000);
        assert_eq!(d.step().await.unwrap(), 6, "500, 301, silent, reset, wrong name and drip are due");
        let again = failing.received();
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].header("webhook-id"), again[1].header("webhook-id"));
        assert_eq!(failing.connections(), 1, "the second attempt reused the connection");
    }

    async fn an_answer_holding_nul_bytes_is_recorded_with_the_rest_of_its_batch(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "nul@acme.example").await;
        // PostgreSQL cannot store NUL in text: one merchant's odd answer must
        // not stop the attempts recorded with it from being kept.
        let odd = TlsReceiver::start(Behaviour::Answer {
            status: 200,
            headers: Vec::new(),
            body: "ok\0\0bye \u{ff}".into(),
        })
        .await;
        let plain = TlsReceiver::start(Behaviour::status(200)).await;
        let ids = [endpoint(&t.db, &clock, &m, &odd.url).await, endpoint(&t.db, &clock, &m, &plain.url).await];
        let event = publish(&t.db, &clock, &m).await;
        let d = tls_dispatcher(&t.db, &clock, &[&odd, &plain]);
        assert_eq!(d.step().await.unwrap(), 2);

        for id in &ids {
            assert_eq!(deliveries::state(&t.db, &delivery(&event, id)).await.unwrap().unwrap().0, "succeeded");
        }
        let a = only_attempt(&t.db, &event, &ids[0]).await;
        assert_eq!(a.response_body.as_deref(), Some("ok\u{FFFD}\u{FFFD}bye \u{ff}"));
        assert_eq!(only_attempt(&t.db, &event, &ids[1]).await.response_body.as_deref(), Some("ok"));
        assert_eq!(d.step().await.unwrap(), 0, "nothing is sent twice");
    }

    async fn a_test_event_is_one_recorded_attempt_and_never_retried(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "test@acme.example").await;
        let other = merchant(&t.db, &clock, "other@acme.example").await;
        let ok = TlsReceiver::start(Behaviour::status(200)).await;
        let broken = TlsReceiver::start(Behaviour::status(500)).await;
        let ep_ok = endpoint(&t.db, &clock, &m, &ok.url).await;
        let ep_broken = endpoint(&t.db, &clock, &m, &broken.url).await;
        let d = tls_dispatcher(&t.db, &clock, &[&ok, &broken]);

        let sent = d.send_test_event(&m, &ep_ok, EventType::RefundUpdated).await.unwrap();
        assert!(sent.success);
        assert_eq!(sent.status, Some(200));
        assert_eq!(sent.response_body.as_deref(), Some("ok"));
        assert!(sent.request_headers.contains_key("webhook-signature"));
        assert_eq!(sent.request_headers["webhook-id"], sent.event_id);
        let got = ok.received();
        assert_eq!(got.len(), 1);
        let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
        assert_eq!(body["type"], "refund.updated");
        assert_eq!(body["mode"], "live");
        // Marked as a test in the body a receiver parses, and valid against the published schema.
        assert_eq!(body["test"], true);
        let schema = event_schema(EventType::RefundUpdated, body["api_version"].as_str().unwrap()).unwrap();
        if let Err(e) = jsonschema::validator_for(&schema).unwrap().validate(&body) { panic!("test event breaks its schema: {e}"); }
        assert_eq!(event_store::is_test(&t.db, &sent.event_id).await.unwrap(), Some(true));
        assert_eq!(deliveries::state(&t.db, &sent.delivery_id).await.unwrap(), Some(("succeeded".into(), 1)));
        assert_eq!(deliveries::attempts_of(&t.db, &sent.delivery_id).await.unwrap().len(), 1);

        let failed = d.send_test_event(&m, &ep_broken, EventType::PayinFailed).await.unwrap();
        assert!(!failed.success);
        assert_eq!(failed.status, Some(500));
        assert_eq!(failed.error_class.as_deref(), Some("http_status"));
        assert_eq!(deliveries::state(&t.db, &failed.delivery_id).await.unwrap(), Some(("failed".into(), 1)));

        // Test events are never picked up again, even hours later.
        clock.advance(Duration::from_secs(24 * 3600));
        assert_eq!(d.step().await.unwrap(), 0);
        assert_eq!(broken.received().len(), 1);

        // A node that dies between storing a test event and recording its
        // attempt leaves it failed: nobody sends it when the lease runs out.
        let orphan = event_store::EventRow { id: "evt_0000000000000000000000000000dead".into(), merchant_id: m.clone(),
            mode: "live".into(), event_type: "payin.succeeded".into(), resource_id: "txn_sample_4f2a9c".into(),
            data: sample_data(EventType::PayinSucceeded, clock.now_ms()).to_string(), created_ms: clock.now_ms() };
        let lease = deliveries::Lease { owner: "gone:test".into(), until_ms: clock.now_ms() + 60_000 };
        let orphan_delivery = event_store::insert_test(&t.db, &orphan, &ep_ok, &lease).await.unwrap();
        clock.advance(Duration::from_secs(3600));
        assert_eq!(d.step().await.unwrap(), 0);
        assert_eq!(deliveries::state(&t.db, &orphan_delivery).await.unwrap(), Some(("failed".into(), 0)));
        assert_eq!(ok.received().len(), 1);

        // Another merchant's endpoint does not exist for this caller.
        assert!(matches!(d.send_test_event(&other, &ep_ok, EventType::PayinSucceeded).await, Err(Error::NotFound)));
        assert!(matches!(d.send_test_event(&m, "ep_missing", EventType::PayinSucceeded).await, Err(Error::NotFound)));
        assert_eq!(ok.received().len(), 1);
    }
}
