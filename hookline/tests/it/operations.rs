use crate::deliveries::{insert_attempt, publish_sample};
use crate::endpoints::{input, merchant, sbox};
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::endpoint::EndpointRules;
use hookline::endpoints;
use hookline::events::EventType;
use hookline::mode::Mode;
use hookline::operations;
use hookline::store::health::{self, DisabledReason};
use std::time::Duration;

backend_tests! {
    async fn the_operations_overview_shows_traffic_queue_and_trouble_per_mode(backend) {
        let t = hookline::testing::TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let rules = EndpointRules::default();
        let types = [EventType::PayinSucceeded];
        let a = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live, &input("https://a.acme.example/in", &types), rules).await.unwrap();
        let b = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live, &input("https://b.acme.example/in", &types), rules).await.unwrap();
        let c = endpoints::create(&t.db, &sbox(), &*clock, &globex, Mode::Live, &input("https://globex.example/in", &types), rules).await.unwrap();
        let s = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Sandbox, &input("https://s.acme.example/in", &types), rules).await.unwrap();

        let empty = operations::load(&t.db, &*clock, Mode::Live).await.unwrap();
        assert_eq!(empty.minutes.len(), operations::MINUTES);
        assert_eq!((empty.failure_rate(), empty.oldest_due.clone(), empty.failing.len(), empty.disabled.len()), (None, None, 0, 0));

        // Two events for acme's live endpoints; B is auto-disabled in between, so both of its deliveries are held.
        let first_at = clock.now_ms();
        let first = publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await;
        health::disable(&t.db, &b.id, DisabledReason::Failing, clock.now_ms()).await.unwrap();
        clock.advance(Duration::from_secs(1));
        publish_sample(&t.db, &clock, &acme, Mode::Live, EventType::PayinSucceeded).await;
        clock.advance(Duration::from_secs(30));
        let now = clock.now_ms();

        // Attempts in the last hour: A 1 ok + 1 failed, C 3 failed; sandbox 2 failed; one older failure.
        insert_attempt(&t.db, &acme, &a.id, now - 1_000, true, 1).await;
        insert_attempt(&t.db, &acme, &a.id, now - 2_000, false, 2).await;
        for n in 3..=5 {
            insert_attempt(&t.db, &globex, &c.id, now - 120_000, false, n).await;
        }
        insert_attempt(&t.db, &acme, &s.id, now - 5_000, false, 6).await;
        insert_attempt(&t.db, &acme, &s.id, now - 6_000, false, 7).await;
        insert_attempt(&t.db, &globex, &c.id, now - 2 * 3_600_000, false, 8).await;

        let live = operations::load(&t.db, &*clock, Mode::Live).await.unwrap();
        let (ok, failed): (i64, i64) = live.minutes.iter().fold((0, 0), |(o, f), m| (o + m.ok, f + m.failed));
        assert_eq!((ok, failed), (1, 4), "the two-hour-old failure and sandbox stay out");
        assert_eq!(live.failure_rate(), Some(80.0));
        assert!(live.minutes.windows(2).all(|w| w[1].start_ms - w[0].start_ms == 60_000));
        let q = live.queue;
        assert_eq!((q.due, q.scheduled, q.in_flight, q.held, q.succeeded, q.failed), (2, 0, 0, 2, 1, 5));
        let oldest = live.oldest_due.clone().unwrap();
        assert_eq!((oldest.event_id.as_str(), oldest.endpoint_url.as_str(), oldest.due_ms), (first.as_str(), a.url.as_str(), first_at));
        assert_eq!(oldest.business_name, "Shop a@acme.example");
        let failing: Vec<(&str, i64, i64)> = live.failing.iter().map(|f| (f.url.as_str(), f.failures, f.attempts)).collect();
        assert_eq!(failing, vec![(c.url.as_str(), 3, 3), (a.url.as_str(), 1, 2)], "worst first");
        assert_eq!(live.disabled.len(), 1);
        let d = &live.disabled[0];
        assert_eq!((d.endpoint_id.as_str(), d.reason.as_str(), d.held, d.merchant_id.as_str()), (b.id.as_str(), "failing", 2, acme.as_str()));

        let sandbox = operations::load(&t.db, &*clock, Mode::Sandbox).await.unwrap();
        assert_eq!(sandbox.failure_rate(), Some(100.0));
        assert_eq!(sandbox.failing.iter().map(|f| f.url.as_str()).collect::<Vec<_>>(), vec![s.url.as_str()]);
        assert_eq!((sandbox.queue.failed, sandbox.queue.due, sandbox.oldest_due.clone()), (2, 0, None));
        assert!(sandbox.disabled.is_empty());

        // A merchant's own disable is not Hookline's: it is not listed.
        health::disable(&t.db, &c.id, DisabledReason::Merchant, now).await.unwrap();
        assert_eq!(operations::load(&t.db, &*clock, Mode::Live).await.unwrap().disabled.len(), 1);
    }
}
