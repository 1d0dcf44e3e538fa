use crate::endpoints::{input, merchant, sbox};
use hookline::Error;
use hookline::backend_tests;
use hookline::clock::ManualClock;
use hookline::endpoint::EndpointRules;
use hookline::endpoints;
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::ingest::{self, PublishInput};
use hookline::mode::Mode;
use hookline::store::events::deliveries_of;
use hookline::testing::TestDatabase;
use std::sync::Arc;
use std::time::Duration;

fn event(merchant_id: &str, mode: Mode, t: EventType) -> PublishInput {
    PublishInput {
        merchant_id: merchant_id.into(),
        mode: mode.as_str().into(),
        event_type: t.as_str().into(),
        data: sample_data(t, 1_795_835_107_042),
    }
}

/// A new live `payin.succeeded` row of `merchant_id`, as the store writes it.
fn payin_row(merchant_id: &str, created_ms: i64) -> hookline::store::events::EventRow {
    hookline::store::events::EventRow {
        id: hookline::ids::event_id(),
        merchant_id: merchant_id.into(),
        mode: "live".into(),
        event_type: "payin.succeeded".into(),
        resource_id: "txn_1".into(),
        data: "{}".into(),
        created_ms,
    }
}

fn with(data: &serde_json::Value, field: &str, value: &str) -> serde_json::Value {
    let mut data = data.clone();
    data[field] = value.into();
    data
}

backend_tests! {
    async fn fans_out_only_to_matching_endpoints(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let globex = merchant(&t.db, &clock, "b@globex.example").await;
        let rules = EndpointRules::default();
        let mk = |m: String, mode: Mode, types: Vec<EventType>| {
            let db = t.db.clone();
            let clock = clock.clone();
            async move {
                endpoints::create(&db, &sbox(), &*clock, &m, mode, &input("https://hooks.example/in", &types), rules).await.unwrap().id
            }
        };
        let sandbox_payins = mk(acme.clone(), Mode::Sandbox, vec![EventType::PayinSucceeded]).await;
        let sandbox_all = mk(acme.clone(), Mode::Sandbox, vec![EventType::PayinSucceeded, EventType::RefundUpdated]).await;
        let _sandbox_refunds = mk(acme.clone(), Mode::Sandbox, vec![EventType::RefundUpdated]).await;
        let _live_payins = mk(acme.clone(), Mode::Live, vec![EventType::PayinSucceeded]).await;
        let _other_merchant = mk(globex.clone(), Mode::Sandbox, vec![EventType::PayinSucceeded]).await;

        let published = ingest::publish(&t.db, &*clock, &event(&acme, Mode::Sandbox, EventType::PayinSucceeded), None).await.unwrap();
        assert!(!published.replayed);
        assert!(published.event.id.starts_with("evt_"));
        let mut expected = vec![sandbox_payins, sandbox_all];
        expected.sort();
        let got: Vec<String> = deliveries_of(&t.db, &published.event.id).await.unwrap().into_iter().map(|(ep, status)| {
            assert_eq!(status, "pending");
            ep
        }).collect();
        assert_eq!(got, expected, "no live, no other merchant, no unsubscribed endpoint");
    }

    async fn refuses_bad_events_naming_the_field(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let good = event(&acme, Mode::Live, EventType::PayinFailed);
        let cases: Vec<(PublishInput, &str)> = vec![
            (PublishInput { merchant_id: "mer_nobody".into(), ..good.clone() }, "merchant_id"),
            (PublishInput { mode: "production".into(), ..good.clone() }, "mode"),
            (PublishInput { event_type: "payin.maybe".into(), ..good.clone() }, "type"),
            (PublishInput { data: serde_json::json!({}), ..good.clone() }, "data"),
            (PublishInput { data: serde_json::json!({"huge": "x".repeat(300 * 1024)}), ..good.clone() }, "data"),
            (PublishInput { event_type: "payin.succeeded".into(), ..good.clone() }, "data.status"),
            (PublishInput { merchant_id: format!("{acme}\0"), ..good.clone() }, "merchant_id"),
            (PublishInput { data: with(&good.data, "transaction_id", "txn\0"), ..good.clone() }, "data.transaction_id"),
        ];
        for (bad, field) in cases {
            match ingest::publish(&t.db, &*clock, &bad, None).await {
                Err(Error::Validation(fields)) => assert!(
                    fields.0.iter().any(|f| f.field == field),
                    "{field} not named in {fields}"
                ),
                other => panic!("{field}: expected a validation error, got {other:?}"),
            }
        }
        assert!(matches!(
            ingest::publish(&t.db, &*clock, &good, Some("has space")).await,
            Err(Error::Validation(_))
        ));
        assert_eq!(hookline::store::events::count_for_merchant(&t.db, &acme).await.unwrap(), 0);
    }

    async fn idempotency_key_returns_the_first_event_under_concurrency(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "a@acme.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://hooks.example/in", &[EventType::PayoutUpdated]), EndpointRules::default()).await.unwrap();
        let input = Arc::new(event(&acme, Mode::Live, EventType::PayoutUpdated));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (db, clock, input) = (t.db.clone(), clock.clone(), input.clone());
            tasks.push(tokio::spawn(async move {
                ingest::publish(&db, &*clock, &input, Some("payout-51c3-paid")).await.unwrap()
            }));
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut fresh = 0;
        for task in tasks {
            let published = task.await.unwrap();
            ids.insert(published.event.id.clone());
            fresh += usize::from(!published.replayed);
        }
        assert_eq!(ids.len(), 1, "one event for one key");
        assert_eq!(fresh, 1, "exactly one publish stored it");
        let id = ids.into_iter().next().unwrap();
        assert_eq!(deliveries_of(&t.db, &id).await.unwrap(), vec![(ep.id.clone(), "pending".to_owned())]);

        // The same key for a different event is refused.
        let mut other = (*input).clone();
        other.data["amount"]["value"] = serde_json::json!(1);
        assert!(matches!(ingest::publish(&t.db, &*clock, &other, Some("payout-51c3-paid")).await, Err(Error::Validation(_))));

        // After 24 hours the key is free again.
        clock.advance(Duration::from_secs(24 * 3600 + 1));
        let later = ingest::publish(&t.db, &*clock, &input, Some("payout-51c3-paid")).await.unwrap();
        assert!(!later.replayed);
        assert_ne!(later.event.id, id);
    }

    async fn concurrent_publishes_share_transactions_and_keep_their_rules(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "group@acme.example").await;
        let ep = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
            &input("https://hooks.example/in", &[EventType::PayoutUpdated]), EndpointRules::default()).await.unwrap().id;
        let publisher = Arc::new(ingest::Publisher::new(t.db.clone()));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..60 {
            let (publisher, clock, acme) = (publisher.clone(), clock.clone(), acme.clone());
            tasks.spawn(async move {
                // Every third event repeats one idempotency key.
                let key = (i % 3 == 0).then_some("payout-42");
                publisher.publish(&*clock, &event(&acme, Mode::Live, EventType::PayoutUpdated), key).await
            });
        }
        let mut ids = std::collections::HashSet::new();
        let mut replayed = 0;
        while let Some(done) = tasks.join_next().await {
            let p = done.unwrap().unwrap();
            replayed += usize::from(p.replayed);
            ids.insert(p.event.id.clone());
            assert_eq!(deliveries_of(&t.db, &p.event.id).await.unwrap(), vec![(ep.clone(), "pending".to_owned())]);
        }
        assert_eq!(ids.len(), 41, "40 without a key and one for the shared key");
        assert_eq!(replayed, 19);
        assert_eq!(hookline::store::events::count_for_merchant(&t.db, &acme).await.unwrap(), 41);
        // Checks still come first: a bad event is refused and nothing is stored.
        let mut bad = event(&acme, Mode::Live, EventType::PayoutUpdated);
        bad.data["amount"]["currency"] = "EURO".into();
        assert!(matches!(publisher.publish(&*clock, &bad, None).await, Err(Error::Validation(_))));
        let reused = publisher.publish(&*clock, &event(&acme, Mode::Live, EventType::RefundUpdated), Some("payout-42")).await;
        assert!(matches!(reused, Err(Error::Validation(_))), "a key reused for another event");
        assert_eq!(hookline::store::events::count_for_merchant(&t.db, &acme).await.unwrap(), 41);
    }

    async fn events_written_together_fall_back_to_one_by_one_when_one_fails(backend) {
        use hookline::store::events::{EventRow, Idempotency, Inserted, insert_many};
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "together@acme.example").await;
        for url in ["https://a.example/in", "https://b.example/in"] {
            endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
                &input(url, &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap();
        }
        let row = |t: EventType| EventRow {
            id: hookline::ids::event_id(),
            merchant_id: acme.clone(),
            mode: "live".into(),
            event_type: t.as_str().into(),
            resource_id: "txn_1".into(),
            data: "{}".into(),
            created_ms: 1_000,
        };
        let counts = |results: Vec<Result<Inserted, String>>| -> Vec<Option<u64>> {
            results.into_iter().map(|r| match r {
                Ok(Inserted::New(n)) => Some(n),
                _ => None,
            }).collect()
        };

        // Together: each event is answered with its own fan-out.
        let (a, b, c) = (row(EventType::PayinSucceeded), row(EventType::RefundUpdated), row(EventType::PayinSucceeded));
        let key = Idempotency { key: "k-1", request_hash: "h", expires_before: 0 };
        let results = insert_many(&t.db, &[(&a, None), (&b, None), (&c, Some(key))]).await.unwrap();
        assert_eq!(counts(results), vec![Some(2), Some(0), Some(2)]);

        // One event that cannot be stored (its id is taken) sends the others
        // one by one: they are stored, it alone is refused.
        let (d, e) = (row(EventType::PayinSucceeded), row(EventType::PayinSucceeded));
        let results = insert_many(&t.db, &[(&d, None), (&a, None), (&e, None)]).await.unwrap();
        assert_eq!(counts(results), vec![Some(2), None, Some(2)]);
        for id in [&a.id, &c.id, &d.id, &e.id] {
            assert_eq!(deliveries_of(&t.db, id).await.unwrap().len(), 2, "{id}");
        }
        assert_eq!(hookline::store::events::count_for_merchant(&t.db, &acme).await.unwrap(), 5);
    }

    async fn new_deliveries_are_leased_to_the_writer_up_to_its_free_slots(backend) {
        use hookline::store::deliveries::{Lease, claim_due};
        use hookline::store::events::{Handoff, Idempotency, insert_many_handing_off};
        use hookline::store::health::{self, DisabledReason};
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let acme = merchant(&t.db, &clock, "handoff@acme.example").await;
        let mut ids = Vec::new();
        for url in ["https://ok.example/in", "https://paused.example/in", "https://failing.example/in"] {
            ids.push(endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live,
                &input(url, &[EventType::PayinSucceeded]), EndpointRules::default()).await.unwrap().id);
        }
        let (ok, paused, failing) = (&ids[0], &ids[1], &ids[2]);
        // One endpoint's breaker is open, one was disabled for failing (its
        // events are held): neither may take a slot of the writer.
        assert!(health::claim_probe(&t.db, paused, "dl_none", 1_000, 60_000).await.unwrap());
        health::disable(&t.db, failing, DisabledReason::Failing, 1_000).await.unwrap();
        let row = || payin_row(&acme, 1_000);
        let lease = Lease { owner: "writer-node".into(), until_ms: 31_000 };
        let handoff = |limit| Some(Handoff { lease: &lease, now: 1_000, limit });

        // Room for three: both events' deliveries to the healthy endpoint are
        // leased; the paused endpoint's wait in the queue; the held are held.
        let (a, b) = (row(), row());
        let stored = insert_many_handing_off(&t.db, &[(&a, None), (&b, None)], handoff(3)).await.unwrap();
        let mut leased: Vec<(String, String)> =
            stored.leased.iter().map(|c| (c.event_id.clone(), c.endpoint_id.clone())).collect();
        leased.sort();
        let mut expected = vec![(a.id.clone(), ok.clone()), (b.id.clone(), ok.clone())];
        expected.sort();
        assert_eq!(leased, expected);
        assert!(stored.leased.iter().all(|c| c.attempts == 0 && c.id.ends_with(ok.as_str())));
        assert!(stored.queued, "the paused endpoint's deliveries wait for a claim");

        // Room for one, with a keyed event written on its own: one lease in all.
        let (c, d) = (row(), row());
        let key = Idempotency { key: "handoff-1", request_hash: "h", expires_before: 0 };
        let stored = insert_many_handing_off(&t.db, &[(&c, Some(key)), (&d, None)], handoff(1)).await.unwrap();
        assert_eq!(stored.leased.len(), 1);
        assert_eq!(stored.leased[0].endpoint_id, *ok);
        assert!(stored.results.iter().all(|r| r.is_ok()));
        let stored_cd_leased = stored.leased[0].event_id.clone();
        let left_queued = if stored_cd_leased == c.id { d.id.clone() } else { c.id.clone() };

        // Without a handoff nothing is leased, as before.
        let e = row();
        let stored = insert_many_handing_off(&t.db, &[(&e, None)], None).await.unwrap();
        assert!(stored.leased.is_empty());
        assert!(stored.queued);

        // The leased deliveries are the writer's until the lease runs out;
        // then any node claims them (a writer that died loses nothing).
        let other = Lease { owner: "other-node".into(), until_ms: 99_000 };
        let mut now_due: Vec<String> = claim_due(&t.db, 1_000, &other, 100).await.unwrap()
            .into_iter().map(|c| c.event_id).collect();
        now_due.sort();
        let mut unleased = vec![left_queued, e.id.clone()];
        unleased.sort();
        assert_eq!(now_due, unleased, "only the unleased deliveries to the healthy endpoint");
        let mut after_lease: Vec<String> = claim_due(&t.db, 31_000, &other, 100).await.unwrap()
            .into_iter().map(|c| c.event_id).collect();
        after_lease.sort();
        let mut leased_before = vec![a.id.clone(), b.id.clone(), stored_cd_leased];
        leased_before.sort();
        assert_eq!(after_lease, leased_before);
    }
}

/// Events written in one statement wake listening nodes at the commit when
/// some delivery waits in the queue, and not when the writer leased them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_at_once_notify_other_nodes_only_of_queued_work() {
    use hookline::store::deliveries::Lease;
    use hookline::store::events::{Handoff, insert_many_handing_off};
    let t = TestDatabase::postgres().await;
    let clock = ManualClock::starting_now();
    let acme = merchant(&t.db, &clock, "notify@acme.example").await;
    endpoints::create(
        &t.db,
        &sbox(),
        &*clock,
        &acme,
        Mode::Live,
        &input("https://a.example/in", &[EventType::PayinSucceeded]),
        EndpointRules::default(),
    )
    .await
    .unwrap();
    let mut listener = sqlx::postgres::PgListener::connect(&t.url).await.unwrap();
    listener
        .listen(hookline::dispatch::wake::CHANNEL)
        .await
        .unwrap();
    let row = || payin_row(&acme, 1_000);
    let lease = Lease {
        owner: "writer-node".into(),
        until_ms: 31_000,
    };
    let handoff = |limit| {
        Some(Handoff {
            lease: &lease,
            now: 1_000,
            limit,
        })
    };
    // Notifications are sent at the commit, before the write returns.
    async fn notified(listener: &mut sqlx::postgres::PgListener) -> bool {
        matches!(
            tokio::time::timeout(Duration::from_millis(200), listener.try_recv()).await,
            Ok(Ok(Some(_)))
        )
    }

    // Both deliveries leased to the writer: nothing for other nodes.
    let (a, b) = (row(), row());
    let stored = insert_many_handing_off(&t.db, &[(&a, None), (&b, None)], handoff(2))
        .await
        .unwrap();
    assert_eq!(stored.leased.len(), 2);
    assert!(
        !notified(&mut listener).await,
        "no notification when nothing is queued"
    );

    // Room for one of two: the other waits, and listeners hear of it once.
    let (c, d) = (row(), row());
    let stored = insert_many_handing_off(&t.db, &[(&c, None), (&d, None)], handoff(1))
        .await
        .unwrap();
    assert_eq!(stored.leased.len(), 1);
    assert!(stored.queued);
    assert!(
        notified(&mut listener).await,
        "queued work wakes the other nodes"
    );
    assert!(!notified(&mut listener).await, "one notification per write");
    assert_eq!(
        hookline::store::events::count_for_merchant(&t.db, &acme)
            .await
            .unwrap(),
        4
    );
}

/// Events written in one statement bring back the endpoints of the
/// deliveries leased to the writer, with their secrets, exactly as the
/// dispatcher would read them: once each, whatever their deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_at_once_bring_back_the_leased_endpoints_as_the_dispatcher_reads_them() {
    use hookline::endpoint::GracePeriod;
    use hookline::store::deliveries::Lease;
    use hookline::store::endpoints::get_live_many_with_secrets;
    use hookline::store::events::{Handoff, Idempotency, insert_many_handing_off};
    use hookline::store::health;
    let t = TestDatabase::postgres().await;
    let clock = ManualClock::starting_now();
    let acme = merchant(&t.db, &clock, "leased@acme.example").await;
    let mut ids = Vec::new();
    for url in [
        "https://a.example/in",
        "https://b.example/in",
        "https://paused.example/in",
    ] {
        let input = input(url, &[EventType::PayinSucceeded]);
        let rules = EndpointRules::default();
        let created = endpoints::create(&t.db, &sbox(), &*clock, &acme, Mode::Live, &input, rules)
            .await
            .unwrap();
        ids.push(created.id);
    }
    let (a, b, paused) = (&ids[0], &ids[1], &ids[2]);
    let now = hookline::clock::Clock::now_ms(&*clock);
    // Three secrets on `a`: the current one, one in its grace hour, and one
    // that stopped signing at once.
    for grace in [GracePeriod::OneHour, GracePeriod::None] {
        endpoints::rotate_secret(&t.db, &sbox(), &*clock, &acme, a, grace)
            .await
            .unwrap();
    }
    assert!(
        health::claim_probe(&t.db, paused, "dl_none", now, now + 60_000)
            .await
            .unwrap()
    );
    let row = || payin_row(&acme, now);
    let lease = Lease {
        owner: "writer-node".into(),
        until_ms: now + 30_000,
    };
    let handoff = Some(Handoff {
        lease: &lease,
        now,
        limit: 100,
    });
    let shown = |endpoints: &[hookline::store::endpoints::WithSecrets]| {
        let mut shown: Vec<String> = endpoints
            .iter()
            .map(|(endpoint, secrets)| format!("{endpoint:?} {secrets:?}"))
            .collect();
        shown.sort();
        shown
    };

    let events = [row(), row(), row()];
    let items: Vec<_> = events.iter().map(|e| (e, None)).collect();
    let stored = insert_many_handing_off(&t.db, &items, handoff)
        .await
        .unwrap();
    assert_eq!(stored.leased.len(), 6, "three events to `a` and to `b`");
    let brought = stored.endpoints.expect("read with the write");
    let dispatcher_view = get_live_many_with_secrets(&t.db, &[a.as_str(), b.as_str()], now)
        .await
        .unwrap();
    assert_eq!(shown(&brought), shown(&dispatcher_view));
    let secrets_of_a: Vec<usize> = brought
        .iter()
        .filter(|(e, _)| e.row.id == *a)
        .map(|(_, s)| s.len())
        .collect();
    assert_eq!(
        secrets_of_a,
        [2],
        "`a` once, with the two secrets still signing"
    );

    // Nothing leased, nothing brought back.
    let lone = row();
    let stored = insert_many_handing_off(&t.db, &[(&lone, None)], None)
        .await
        .unwrap();
    assert!(stored.endpoints.expect("written at once").is_empty());

    // A keyed event is written in a transaction of its own; the dispatcher
    // reads its endpoints.
    let keyed = row();
    let key = Idempotency {
        key: "leased-1",
        request_hash: "h",
        expires_before: 0,
    };
    let stored = insert_many_handing_off(&t.db, &[(&keyed, Some(key))], handoff)
        .await
        .unwrap();
    assert_eq!(stored.leased.len(), 2);
    assert!(stored.endpoints.is_none());
}
