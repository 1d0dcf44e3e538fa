use crate::deliveries::publish_sample;
use crate::endpoints::{input, merchant, sbox};
use hookline::Error;
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::endpoint::EndpointRules;
use hookline::endpoints;
use hookline::events::EventType;
use hookline::logs::ops as logs;
use hookline::logs::{DeliveryState, LogQuery, PAGE_SIZE, RecoverInput};
use hookline::mode::Mode;
use hookline::store::Db;
use hookline::store::deliveries::{self, Lease, Outcome};
use hookline::time::format_input;
use std::time::Duration;

/// Claims every due delivery and records `outcome` for each, as a dispatcher would.
async fn finish_all(db: &Db, clock: &ManualClock, outcome: Outcome) -> usize {
    let lease = Lease {
        owner: "test".into(),
        until_ms: clock.now_ms() + 30_000,
    };
    let claimed = deliveries::claim_due(db, clock.now_ms(), &lease, 10_000)
        .await
        .unwrap();
    for d in &claimed {
        assert!(
            deliveries::finish(db, &d.id, &lease, outcome)
                .await
                .unwrap()
        );
    }
    claimed.len()
}

/// A `datetime-local` value with seconds, as the browser sends with `step="1"`.
fn at(ms: i64) -> String {
    format!("{}:{:02}", format_input(ms), (ms / 1000) % 60)
}

fn query() -> LogQuery {
    LogQuery::default()
}

backend_tests! {
    async fn the_log_filters_searches_and_pages(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let rules = EndpointRules::default();
        let a = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://a.acme.example/in", &[EventType::PayinSucceeded, EventType::RefundUpdated]), rules).await.unwrap();
        let b = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://b.acme.example/in", &[EventType::PayinSucceeded]), rules).await.unwrap();
        endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Sandbox,
            &input("https://sandbox.acme.example/in", &[EventType::PayinSucceeded]), rules).await.unwrap();
        endpoints::create(&t.db, &sbox(), &*clock, &globex, Mode::Live,
            &input("https://globex.example/in", &[EventType::PayinSucceeded]), rules).await.unwrap();

        let start = clock.now_ms();
        let mut payins = Vec::new();
        for _ in 0..30 {
            payins.push(publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await);
            clock.advance(Duration::from_secs(1));
        }
        let refund = publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::RefundUpdated).await;
        publish_sample(&t.db, &clock, &acme, Mode::Sandbox, EventType::PayinSucceeded).await;
        publish_sample(&t.db, &clock, &globex, Mode::Live, EventType::PayinSucceeded).await;

        // 30 payins to two endpoints and one refund: 61 live deliveries, newest first, in pages.
        let first = logs::page(&t.db, &acme, Mode::Live, &query()).await.unwrap();
        assert_eq!(first.rows.len(), PAGE_SIZE);
        assert_eq!(first.rows[0].event_id, refund);
        assert!(first.rows.windows(2).all(|w| (w[0].created_ms, &w[0].delivery_id) > (w[1].created_ms, &w[1].delivery_id)));
        let cursor = first.next_cursor.clone().expect("a second page");
        let second = logs::page(&t.db, &acme, Mode::Live, &LogQuery { cursor, ..query() }).await.unwrap();
        let two = logs::page(&t.db, &acme, Mode::Live, &LogQuery { limit: "2".into(), ..query() }).await.unwrap();
        assert_eq!(two.rows.len(), 2);
        assert!(two.next_cursor.is_some());
        let Err(hookline::Error::Validation(fields)) = logs::page(&t.db, &acme, Mode::Live, &LogQuery { limit: "500".into(), ..query() }).await else { panic!("limit") };
        assert!(fields.get("limit").is_some());
        assert_eq!(second.rows.len(), 61 - PAGE_SIZE);
        assert!(second.next_cursor.is_none());
        assert!(second.rows.iter().all(|r| !first.rows.iter().any(|f| f.delivery_id == r.delivery_id)));
        assert!(first.rows.iter().chain(&second.rows).all(|r| r.state == DeliveryState::Pending && r.endpoint_url.contains("acme")));

        // Filters combine.
        let only_b = logs::page(&t.db, &acme, Mode::Live, &LogQuery { endpoint: b.id.clone(), ..query() }).await.unwrap();
        assert_eq!(only_b.rows.len(), 30);
        assert!(only_b.rows.iter().all(|r| r.endpoint_id == b.id));
        let refunds = logs::page(&t.db, &acme, Mode::Live, &LogQuery { event_type: "refund.updated".into(), ..query() }).await.unwrap();
        assert_eq!(refunds.rows.len(), 1);
        assert_eq!(refunds.rows[0].endpoint_id, a.id);
        let by_id = logs::page(&t.db, &acme, Mode::Live, &LogQuery { search: payins[3].clone(), ..query() }).await.unwrap();
        assert_eq!(by_id.rows.len(), 2);
        let by_id_at_b = LogQuery { search: payins[3].clone(), endpoint: b.id.clone(), ..query() };
        let by_id_at_b = logs::page(&t.db, &acme, Mode::Live, &by_id_at_b).await.unwrap();
        assert_eq!(by_id_at_b.rows.len(), 1);
        assert_eq!(by_id_at_b.rows[0].endpoint_id, b.id);
        let detail = logs::event(&t.db, &acme, Mode::Live, &payins[3]).await.unwrap();
        let by_txn = logs::page(&t.db, &acme, Mode::Live, &LogQuery { search: detail.resource_id.clone(), ..query() }).await.unwrap();
        // Samples share one transaction id: every payin delivery matches, the refund does not.
        assert_eq!(by_txn.rows.len(), PAGE_SIZE);
        assert!(by_txn.rows.iter().all(|r| r.resource_id == detail.resource_id && r.event_id != refund));
        let window = LogQuery { from: at(start + 10_000), to: at(start + 20_000), ..query() };
        let ranged = logs::page(&t.db, &acme, Mode::Live, &window).await.unwrap();
        assert_eq!(ranged.rows.len(), 20, "ten seconds, one payin a second, two endpoints");

        finish_all(&t.db, &clock, Outcome::Succeeded).await;
        let done = logs::page(&t.db, &acme, Mode::Live, &LogQuery { status: "succeeded".into(), ..query() }).await.unwrap();
        assert_eq!(done.rows.len(), PAGE_SIZE);
        let pending = logs::page(&t.db, &acme, Mode::Live, &LogQuery { status: "pending".into(), ..query() }).await.unwrap();
        assert!(pending.rows.is_empty());

        // Modes and merchants never mix.
        assert_eq!(logs::page(&t.db, &acme, Mode::Sandbox, &query()).await.unwrap().rows.len(), 1);
        let theirs = logs::page(&t.db, &globex, Mode::Live, &LogQuery { search: payins[0].clone(), ..query() }).await.unwrap();
        assert!(theirs.rows.is_empty());
        let theirs = logs::page(&t.db, &globex, Mode::Live, &LogQuery { endpoint: a.id.clone(), ..query() }).await.unwrap();
        assert!(theirs.rows.is_empty());

        // Bad filters name the field.
        let bad = LogQuery {
            event_type: "payin.nope".into(),
            status: "lost".into(),
            from: "yesterday".into(),
            cursor: "garbage".into(),
            ..query()
        };
        let Err(Error::Validation(fields)) = logs::page(&t.db, &acme, Mode::Live, &bad).await else { panic!("validation") };
        for field in ["event_type", "status", "from", "cursor"] {
            assert!(fields.get(field).is_some(), "{field}: {fields}");
        }
        // PostgreSQL cannot store or compare text with NUL: such filters are
        // named as wrong on both backends, not a server error.
        let nul = LogQuery { search: "txn\0".into(), endpoint: "ep_\0".into(), cursor: "1.dlv_\0".into(), ..query() };
        let Err(Error::Validation(fields)) = logs::page(&t.db, &acme, Mode::Live, &nul).await else { panic!("validation") };
        for field in ["search", "endpoint", "cursor"] {
            assert!(fields.get(field).is_some(), "{field}: {fields}");
        }
        let backwards = LogQuery { from: format_input(start + 20_000), to: format_input(start), ..query() };
        let Err(Error::Validation(fields)) = logs::page(&t.db, &acme, Mode::Live, &backwards).await else { panic!("validation") };
        assert!(fields.get("to").is_some());
    }

    async fn an_event_shows_every_attempt_to_its_owner_only(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://a.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        crate::deliveries::insert_attempt(&t.db, &acme, &ep.id, clock.now_ms(), false, 1).await;
        let detail = logs::event(&t.db, &acme, Mode::Live, "evt_t1").await.unwrap();
        assert_eq!(detail.deliveries.len(), 1);
        let delivery = &detail.deliveries[0];
        assert_eq!(delivery.endpoint_id, ep.id);
        assert_eq!(delivery.state, DeliveryState::Failed);
        assert_eq!(delivery.attempts.len(), 1);
        assert_eq!(delivery.attempts[0].response_status, Some(500));
        assert_eq!(delivery.attempts[0].error_class.as_deref(), Some("http_status"));
        assert_eq!(delivery.attempts[0].payload_version.as_deref(), Some("2026-09-01"), "the version it was sent in");

        let published = publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await;
        let detail = logs::event(&t.db, &acme, Mode::Live, &published).await.unwrap();
        assert!(detail.payload.contains("\n  \""), "pretty-printed: {}", detail.payload);
        assert_eq!(detail.deliveries[0].state, DeliveryState::Pending);
        assert!(detail.deliveries[0].attempts.is_empty());

        assert!(matches!(logs::event(&t.db, &globex, Mode::Live, &published).await, Err(Error::NotFound)));
        assert!(matches!(logs::event(&t.db, &acme, Mode::Sandbox, &published).await, Err(Error::NotFound)));
        assert!(matches!(logs::event(&t.db, &acme, Mode::Live, "evt_missing").await, Err(Error::NotFound)));
        // An id no validator saw (a URL path) holding NUL: not found on SQLite;
        // on PostgreSQL the refusal is classed as the client's, not the server's.
        match logs::event(&t.db, &acme, Mode::Live, "evt_\0").await {
            Err(Error::NotFound) => {}
            Err(e) => assert!(e.is_unstorable_text(), "{e}"),
            Ok(_) => panic!("no such event"),
        }
    }

    async fn resend_queues_the_event_again_for_enabled_endpoints(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://a.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        let event = publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await;
        assert_eq!(finish_all(&t.db, &clock, Outcome::Failed).await, 1);
        clock.advance(Duration::from_secs(60));

        assert!(matches!(logs::resend(&t.db, &*clock, &globex, Mode::Live, &event).await, Err(Error::NotFound)));
        assert_eq!(logs::resend(&t.db, &*clock, &acme, Mode::Live, &event).await.unwrap(), 1);
        let detail = logs::event(&t.db, &acme, Mode::Live, &event).await.unwrap();
        assert_eq!(detail.deliveries[0].state, DeliveryState::Pending);
        assert_eq!(detail.deliveries[0].next_attempt_ms, Some(clock.now_ms()));
        assert_eq!(finish_all(&t.db, &clock, Outcome::Succeeded).await, 1, "due at once");

        // A disabled endpoint cannot take it: nothing changes.
        endpoints::disable(&t.db, &*clock, &acme, &ep.id).await.unwrap();
        let Err(Error::Validation(fields)) = logs::resend(&t.db, &*clock, &acme, Mode::Live, &event).await else { panic!("validation") };
        assert!(fields.get("event").is_some());
        let detail = logs::event(&t.db, &acme, Mode::Live, &event).await.unwrap();
        assert_eq!(detail.deliveries[0].state, DeliveryState::Succeeded);
    }

    async fn recover_resends_failed_deliveries_in_a_range_at_a_bounded_pace(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://a.acme.example/in", &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        let start = clock.now_ms();
        for _ in 0..5 {
            publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await;
            clock.advance(Duration::from_secs(60));
        }
        assert_eq!(finish_all(&t.db, &clock, Outcome::Failed).await, 5);
        let failed = LogQuery { status: "failed".into(), limit: "3".into(), ..LogQuery::default() };
        let first = logs::page(&t.db, &acme, Mode::Live, &failed).await.unwrap();
        assert_eq!(first.rows.len(), 3);
        assert!(first.rows.iter().all(|r| r.state == DeliveryState::Failed));
        let rest = LogQuery { cursor: first.next_cursor.clone().expect("a second page"), ..failed.clone() };
        assert_eq!(logs::page(&t.db, &acme, Mode::Live, &rest).await.unwrap().rows.len(), 2);
        assert!(logs::page(&t.db, &globex, Mode::Live, &failed).await.unwrap().rows.is_empty());
        // The first four minutes hold four failed deliveries; the fifth is outside.
        let range = RecoverInput { endpoint: ep.id.clone(), from: format_input(start), to: format_input(start + 240_000) };
        let plan = logs::recover_preview(&t.db, &acme, Mode::Live, &range).await.unwrap();
        assert_eq!((plan.failed, plan.to_send, plan.seconds), (4, 4, 1));
        assert_eq!(plan.endpoint_url, ep.url);
        let preview_again = logs::recover_preview(&t.db, &acme, Mode::Live, &range).await.unwrap();
        assert_eq!(preview_again.failed, 4, "a preview sends nothing");

        let Err(Error::Validation(fields)) = logs::recover(&t.db, &*clock, &globex, Mode::Live, &range).await else { panic!("validation") };
        assert!(fields.get("endpoint").is_some(), "another merchant's endpoint is not a choice");
        let Err(Error::Validation(fields)) = logs::recover(&t.db, &*clock, &acme, Mode::Sandbox, &range).await else { panic!("validation") };
        assert!(fields.get("endpoint").is_some(), "nor is one of the other mode");
        let empty = RecoverInput::default();
        let Err(Error::Validation(fields)) = logs::recover(&t.db, &*clock, &acme, Mode::Live, &empty).await else { panic!("validation") };
        for field in ["endpoint", "from", "to"] {
            assert!(fields.get(field).is_some(), "{field}");
        }

        let done = logs::recover(&t.db, &*clock, &acme, Mode::Live, &range).await.unwrap();
        assert_eq!(done.to_send, 4);
        assert_eq!(logs::recover_preview(&t.db, &acme, Mode::Live, &range).await.unwrap().failed, 0);
        // Paced: one now, the next 100 ms later, and so on.
        let lease = Lease { owner: "test".into(), until_ms: clock.now_ms() + 30_000 };
        assert_eq!(deliveries::claim_due(&t.db, clock.now_ms(), &lease, 100).await.unwrap().len(), 1);
        clock.advance(Duration::from_millis(300));
        assert_eq!(deliveries::claim_due(&t.db, clock.now_ms(), &lease, 100).await.unwrap().len(), 3);
    }
}
