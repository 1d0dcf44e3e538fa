use crate::endpoints::{input, merchant, sbox};
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::endpoint::EndpointRules;
use hookline::endpoints;
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::ingest::{self, PublishInput};
use hookline::mode::Mode;
use hookline::store::Db;
use hookline::store::deliveries::{self, Lease, Outcome};
use hookline::testing::TestDatabase;
use std::collections::BTreeSet;
use std::time::Duration;

/// A merchant with one endpoint and `n` published events, hence `n` due
/// deliveries; answers the merchant's id.
async fn with_deliveries(db: &Db, clock: &ManualClock, n: usize) -> String {
    let m = merchant(db, clock, "a@acme.example").await;
    endpoints::create(
        db,
        &sbox(),
        clock,
        &m,
        Mode::Live,
        &input("https://hooks.example/in", &[EventType::PayinSucceeded]),
        EndpointRules::default(),
    )
    .await
    .unwrap();
    for _ in 0..n {
        let e = PublishInput {
            merchant_id: m.clone(),
            mode: "live".into(),
            event_type: "payin.succeeded".into(),
            data: sample_data(EventType::PayinSucceeded, clock.now_ms()),
        };
        ingest::publish(db, clock, &e, None).await.unwrap();
    }
    m
}

/// Publishes one sample event of `event_type` for the merchant; answers its id.
pub async fn publish_sample(
    db: &Db,
    clock: &ManualClock,
    merchant_id: &str,
    mode: Mode,
    event_type: EventType,
) -> String {
    let e = PublishInput {
        merchant_id: merchant_id.into(),
        mode: mode.as_str().into(),
        event_type: event_type.as_str().into(),
        data: sample_data(event_type, clock.now_ms()),
    };
    ingest::publish(db, clock, &e, None).await.unwrap().event.id
}

/// Stores an attempt made at `started_ms` to the endpoint, for a fresh event
/// that went only to it, as if the dispatcher had made it.
pub async fn insert_attempt(
    db: &Db,
    merchant_id: &str,
    endpoint_id: &str,
    started_ms: i64,
    ok: bool,
    n: usize,
) {
    let (event, delivery, attempt) = (
        format!("evt_t{n}"),
        format!("dlv_t{n}"),
        format!("att_t{n}"),
    );
    hookline::on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO events (id, merchant_id, mode, event_type, resource_id, data, created_ms) \
             SELECT $1, $2, mode, 'payin.succeeded', 'txn_t', '{}', $3 FROM endpoints WHERE id = $4",
        )
        .bind(&event)
        .bind(merchant_id)
        .bind(started_ms)
        .bind(endpoint_id)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO deliveries (id, event_id, endpoint_id, merchant_id, status, attempts, next_attempt_ms, created_ms) \
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(&delivery)
        .bind(&event)
        .bind(endpoint_id)
        .bind(merchant_id)
        .bind(if ok { "succeeded" } else { "failed" })
        .bind(started_ms)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO attempts (id, delivery_id, event_id, endpoint_id, attempt_no, started_ms, latency_ms, url, \
               request_headers, payload_version, response_status, error_class) \
             VALUES ($1, $2, $3, $4, 1, $5, 12, 'https://hooks.example/', '{}', '2026-09-01', $6, $7)",
        )
        .bind(&attempt)
        .bind(&delivery)
        .bind(&event)
        .bind(endpoint_id)
        .bind(started_ms)
        .bind(if ok { 200 } else { 500 })
        .bind(if ok { None } else { Some("http_status") })
        .execute(pool)
        .await
        .unwrap();
    });
}

fn lease(owner: &str, clock: &ManualClock) -> Lease {
    Lease {
        owner: owner.into(),
        until_ms: clock.now_ms() + 30_000,
    }
}

backend_tests! {
    async fn claims_due_work_once_until_the_lease_runs_out(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        with_deliveries(&t.db, &clock, 3).await;
        let a = lease("node-a", &clock);
        let first = deliveries::claim_due(&t.db, clock.now_ms(), &a, 10).await.unwrap();
        assert_eq!(first.len(), 3);
        assert!(first.iter().all(|d| d.attempts == 0));
        let b = lease("node-b", &clock);
        assert!(deliveries::claim_due(&t.db, clock.now_ms(), &b, 10).await.unwrap().is_empty(), "leased work is not claimed twice");

        // node-a stalls; after its lease, node-b takes over and node-a's late result is refused.
        clock.advance(Duration::from_secs(31));
        let b = lease("node-b", &clock);
        let taken = deliveries::claim_due(&t.db, clock.now_ms(), &b, 10).await.unwrap();
        assert_eq!(taken, first);
        assert!(!deliveries::finish(&t.db, &first[0].id, &a, Outcome::Succeeded).await.unwrap());
        assert!(deliveries::finish(&t.db, &first[0].id, &b, Outcome::Succeeded).await.unwrap());
        assert_eq!(deliveries::state(&t.db, &first[0].id).await.unwrap(), Some(("succeeded".into(), 1)));
    }

    async fn one_recording_of_many_outcomes_keeps_each_to_its_own_lease(backend) {
        use hookline::store::deliveries::Finished;
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        with_deliveries(&t.db, &clock, 5).await;
        let a = lease("node-a", &clock);
        let first = deliveries::claim_due(&t.db, clock.now_ms(), &a, 3).await.unwrap();
        let b = lease("node-b", &clock);
        let second = deliveries::claim_due(&t.db, clock.now_ms(), &b, 3).await.unwrap();
        assert_eq!((first.len(), second.len()), (3, 2));
        let finished = |id: &str, lease: &Lease, outcome| Finished {
            attempt: None,
            delivery_id: id.to_owned(),
            lease: lease.clone(),
            outcome,
        };
        let retry_at = clock.now_ms() + 5_000;
        let items = [
            finished(&first[0].id, &a, Outcome::Succeeded),
            finished(&second[0].id, &b, Outcome::Succeeded),
            finished(&first[1].id, &a, Outcome::RetryAt(retry_at)),
            finished(&first[2].id, &a, Outcome::Succeeded),
            // Recorded under a lease that is not the delivery's: refused.
            finished(&second[1].id, &a, Outcome::Succeeded),
        ];
        let kept = deliveries::record_many(&t.db, &items).await.unwrap();
        assert_eq!(kept, vec![true, true, true, true, false]);
        let state = |id: String| {
            let db = t.db.clone();
            async move { deliveries::state(&db, &id).await.unwrap().unwrap() }
        };
        assert_eq!(state(first[0].id.clone()).await, ("succeeded".into(), 1));
        assert_eq!(state(first[2].id.clone()).await, ("succeeded".into(), 1));
        assert_eq!(state(second[0].id.clone()).await, ("succeeded".into(), 1));
        assert_eq!(state(first[1].id.clone()).await, ("pending".into(), 1));
        assert_eq!(deliveries::next_attempt_ms(&t.db, &first[1].id).await.unwrap(), Some(retry_at));
        assert_eq!(state(second[1].id.clone()).await, ("pending".into(), 0), "still node-b's");
    }

    async fn an_attempt_whose_delivery_was_purged_is_dropped_and_the_rest_of_its_batch_kept(backend) {
        use hookline::store::deliveries::{AttemptRow, Finished};
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = with_deliveries(&t.db, &clock, 1).await;
        clock.advance(Duration::from_secs(60));
        let newer = publish_sample(&t.db, &clock, &m, Mode::Live, EventType::PayinSucceeded).await;
        let l = lease("node-a", &clock);
        let mut claimed = deliveries::claim_due(&t.db, clock.now_ms(), &l, 10).await.unwrap();
        claimed.sort_by_key(|d| d.event_id == newer);
        let [old, new] = <[_; 2]>::try_from(claimed).unwrap();
        // Both attempts outlive their lease, and meanwhile retention (60 s
        // here) purges the older event, whose delivery is no longer leased.
        clock.advance(Duration::from_secs(31));
        let purged = hookline::retention::purge(&t.db, clock.now_ms(), Duration::from_secs(60), 100)
            .await
            .unwrap();
        assert_eq!((purged.events, purged.deliveries, purged.attempts), (1, 1, 0));
        let finished = |d: &deliveries::Claimed| Finished {
            attempt: Some(AttemptRow {
                id: format!("att_{}", d.id),
                delivery_id: d.id.clone(),
                event_id: d.event_id.clone(),
                endpoint_id: d.endpoint_id.clone(),
                attempt_no: 1,
                started_ms: clock.now_ms() - 31_000,
                latency_ms: 31_000,
                url: "https://hooks.example/in".into(),
                request_headers: "{}".into(),
                payload_version: "2026-09-01".into(),
                response_status: Some(200),
                response_headers: Some("{}".into()),
                response_body: Some(String::new()),
                error_class: None,
                error_message: None,
            }),
            delivery_id: d.id.clone(),
            lease: l.clone(),
            outcome: Outcome::Succeeded,
        };
        let kept = deliveries::record_many(&t.db, &[finished(&old), finished(&new)]).await.unwrap();
        assert_eq!(kept, vec![false, true]);
        assert!(deliveries::attempts_of(&t.db, &old.id).await.unwrap().is_empty(), "no orphan attempt");
        let attempts = deliveries::attempts_of(&t.db, &new.id).await.unwrap();
        assert_eq!((attempts.len(), attempts[0].response_status), (1, Some(200)));
        assert_eq!(deliveries::state(&t.db, &new.id).await.unwrap(), Some(("succeeded".into(), 1)));
        assert_eq!(deliveries::state(&t.db, &old.id).await.unwrap(), None);
    }

    async fn retries_come_due_at_their_time(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        with_deliveries(&t.db, &clock, 1).await;
        let l = lease("node-a", &clock);
        let d = deliveries::claim_due(&t.db, clock.now_ms(), &l, 10).await.unwrap().remove(0);
        assert!(deliveries::finish(&t.db, &d.id, &l, Outcome::RetryAt(clock.now_ms() + 5_000)).await.unwrap());
        assert!(deliveries::claim_due(&t.db, clock.now_ms(), &lease("n", &clock), 10).await.unwrap().is_empty());
        clock.advance(Duration::from_secs(5));
        let l = lease("node-a", &clock);
        let again = deliveries::claim_due(&t.db, clock.now_ms(), &l, 10).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attempts, 1);
        assert!(deliveries::finish(&t.db, &d.id, &l, Outcome::Failed).await.unwrap());
        assert_eq!(deliveries::state(&t.db, &d.id).await.unwrap(), Some(("failed".into(), 2)));
        clock.advance(Duration::from_secs(3600));
        assert!(deliveries::claim_due(&t.db, clock.now_ms(), &lease("n", &clock), 10).await.unwrap().is_empty());
    }

    async fn concurrent_claimers_never_share_a_delivery(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        with_deliveries(&t.db, &clock, 60).await;
        let mut tasks = Vec::new();
        for node in 0..4 {
            let (db, clock) = (t.db.clone(), clock.clone());
            tasks.push(tokio::spawn(async move {
                let l = lease(&format!("node-{node}"), &clock);
                let mut mine = Vec::new();
                loop {
                    let batch = deliveries::claim_due(&db, clock.now_ms(), &l, 7).await.unwrap();
                    if batch.is_empty() {
                        break mine;
                    }
                    mine.extend(batch.into_iter().map(|d| d.id));
                }
            }));
        }
        let mut seen = BTreeSet::new();
        let mut total = 0;
        for task in tasks {
            for id in task.await.unwrap() {
                total += 1;
                seen.insert(id);
            }
        }
        assert_eq!((total, seen.len()), (60, 60), "every delivery claimed exactly once");
    }
}
