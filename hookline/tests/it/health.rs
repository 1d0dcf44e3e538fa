//! Unhealthy endpoints: the circuit breaker, automatic disabling, 410 Gone,
//! held deliveries and re-enabling; retention; and the run loop keeping
//! healthy endpoints fast while one never answers.

use crate::dispatch::{Receiver, dispatcher};
use crate::endpoints::{merchant, sbox};
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock, SharedClock, SystemClock};
use hookline::dispatch::{BreakerPolicy, ClientCache, DeliveryPolicy, Dispatcher};
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::endpoints::{self, HeldDeliveries};
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::ingest::{self, PublishInput};
use hookline::metrics::Metrics;
use hookline::mode::Mode;
use hookline::retention;
use hookline::retry::RetrySchedule;
use hookline::store::deliveries;
use hookline::store::health;
use hookline::store::{Db, events as event_store};
use hookline::testing::TestDatabase;
use hookline::testing::receiver::{Behaviour, TlsReceiver};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn with_breaker(d: Arc<Dispatcher>, breaker: BreakerPolicy) -> Arc<Dispatcher> {
    let d = Arc::into_inner(d).expect("only owner");
    Arc::new(Dispatcher {
        breaker,
        max_per_endpoint: 1,
        ..d
    })
}

async fn endpoint(db: &Db, clock: &dyn Clock, merchant: &str, url: &str) -> String {
    let input = EndpointInput {
        url: url.into(),
        event_types: vec!["payin.succeeded".into()],
        ..EndpointInput::default()
    };
    let rules = EndpointRules {
        allow_http: true,
        opt_in_approved: false,
    };
    endpoints::create(db, &sbox(), clock, merchant, Mode::Live, &input, rules)
        .await
        .unwrap()
        .id
}

async fn publish(db: &Db, clock: &dyn Clock, merchant: &str) -> String {
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

async fn attempts_total(db: &Db, ids: &[String]) -> i64 {
    let mut n = 0;
    for id in ids {
        n += deliveries::state(db, id).await.unwrap().unwrap().1;
    }
    n
}

async fn held(db: &Db, id: &str) -> bool {
    hookline::on_db!(db, |pool| sqlx::query_scalar::<_, bool>(
        "SELECT held FROM deliveries WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap())
}

async fn disabled_reason(db: &Db, endpoint: &str) -> Option<String> {
    hookline::store::endpoints::get_live(db, endpoint)
        .await
        .unwrap()
        .unwrap()
        .health
        .disabled_reason
}

/// Six deliveries waiting for an endpoint whose server answers 500
/// `failures` times (then 200), and a dispatcher whose breaker opens after
/// three failures in a row, for 30 s.
struct FailingEndpoint {
    receiver: Receiver,
    endpoint: String,
    deliveries: Vec<String>,
    dispatcher: Arc<Dispatcher>,
}

async fn failing_endpoint(
    db: &Db,
    clock: &Arc<ManualClock>,
    email: &str,
    failures: usize,
) -> FailingEndpoint {
    let m = merchant(db, clock, email).await;
    let (receiver, url) = Receiver::start(&vec![(500, None); failures]).await;
    let ep = endpoint(db, &**clock, &m, &url).await;
    let mut deliveries = Vec::new();
    for _ in 0..6 {
        deliveries.push(delivery(&publish(db, &**clock, &m).await, &ep));
    }
    let breaker = BreakerPolicy {
        threshold: 3,
        base_pause: Duration::from_secs(30),
        ..BreakerPolicy::default()
    };
    FailingEndpoint {
        receiver,
        endpoint: ep,
        deliveries,
        dispatcher: with_breaker(dispatcher(db, clock, true), breaker),
    }
}

/// `n` events to one endpoint whose breaker opens after three failures (for
/// ten minutes), after one dispatcher step.
struct Tripped {
    d: Arc<Dispatcher>,
    events: Vec<String>,
    /// Events whose delivery was tried and refused.
    failed: Vec<String>,
    /// Events whose delivery met the open breaker and was not tried.
    waiting: Vec<String>,
}

async fn tripped_after_three(
    db: &Db,
    clock: &Arc<ManualClock>,
    m: &str,
    ep: &str,
    n: usize,
) -> Tripped {
    let mut events = Vec::new();
    for _ in 0..n {
        events.push(publish(db, &**clock, m).await);
    }
    let breaker = BreakerPolicy {
        threshold: 3,
        base_pause: Duration::from_secs(600),
        ..BreakerPolicy::default()
    };
    let d = with_breaker(dispatcher(db, clock, true), breaker);
    d.step().await.unwrap();
    let (mut failed, mut waiting) = (Vec::new(), Vec::new());
    for e in &events {
        let attempts = deliveries::state(db, &delivery(e, ep))
            .await
            .unwrap()
            .unwrap()
            .1;
        if attempts == 1 {
            &mut failed
        } else {
            &mut waiting
        }
        .push(e.clone());
    }
    Tripped {
        d,
        events,
        failed,
        waiting,
    }
}

backend_tests! {
    async fn the_breaker_pauses_a_failing_endpoint_and_one_probe_reopens_it(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let FailingEndpoint { receiver, endpoint: ep, deliveries: ids, dispatcher: d } =
            failing_endpoint(&t.db, &clock, "breaker@acme.example", 4).await;

        // Three failures open the breaker; the other three wait without an attempt.
        assert_eq!(d.step().await.unwrap(), 6);
        assert_eq!(receiver.received().len(), 3);
        assert_eq!(attempts_total(&t.db, &ids).await, 3);
        assert_eq!(d.step().await.unwrap(), 0, "paused endpoints are not claimed");

        // After the pause one probe goes; it fails and the pause doubles.
        clock.advance(Duration::from_secs(31));
        assert_eq!(d.step().await.unwrap(), 6);
        assert_eq!(receiver.received().len(), 4, "one probe only");
        clock.advance(Duration::from_secs(31));
        assert_eq!(d.step().await.unwrap(), 0, "paused for 60 s now");

        // The next probe succeeds: the breaker closes and everything flows
        // (the failed probe's own retry comes 5 minutes later).
        clock.advance(Duration::from_secs(30));
        assert!(d.step().await.unwrap() >= 5);
        clock.advance(Duration::from_secs(600));
        d.step().await.unwrap();
        for id in &ids {
            assert_eq!(deliveries::state(&t.db, id).await.unwrap().unwrap().0, "succeeded", "{id}");
        }
        assert_eq!(receiver.received().len(), 10, "4 failures, then each delivery once");
        let h = hookline::store::endpoints::get_live(&t.db, &ep).await.unwrap().unwrap().health;
        assert_eq!((h.consecutive_failures, h.breaker_until_ms, h.failing_since_ms), (0, None, None));
    }

    async fn deliveries_that_wait_for_a_probe_go_as_soon_as_it_succeeds(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let FailingEndpoint { receiver, deliveries: ids, dispatcher: d, .. } =
            failing_endpoint(&t.db, &clock, "probe@acme.example", 3).await;
        d.step().await.unwrap();
        assert_eq!(receiver.received().len(), 3, "the breaker opened after three failures");

        // After the pause, two attempts start together (a failing endpoint
        // gets a quarter of its 8 slots): one is the probe (its server is
        // slow to answer), the other and the rest meet the probe and step
        // aside without an attempt.
        let d = Arc::new(Dispatcher {
            max_per_endpoint: 8,
            gates: Default::default(),
            ..Arc::into_inner(d).expect("only owner")
        });
        clock.advance(Duration::from_secs(31));
        receiver.delay_next(Duration::from_millis(1500));
        assert_eq!(d.step().await.unwrap(), 6);
        assert_eq!(receiver.received().len(), 4, "one probe only");
        assert_eq!(attempts_total(&t.db, &ids).await, 4);

        // The probe succeeded, so the ones that waited for it go now, without
        // the clock moving on.
        assert_eq!(d.step().await.unwrap(), 5);
        assert_eq!(receiver.received().len(), 9);
        for id in &ids {
            assert_eq!(deliveries::state(&t.db, id).await.unwrap().unwrap().0, "succeeded", "{id}");
        }
    }

    async fn a_merchant_resending_an_event_ends_the_breaker_pause_with_a_probe(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "resend@acme.example").await;
        let (receiver, url) = Receiver::start(&[(500, None); 3]).await;
        let ep = endpoint(&t.db, &*clock, &m, &url).await;
        let Tripped { d, failed, waiting, .. } = tripped_after_three(&t.db, &clock, &m, &ep, 4).await;
        assert_eq!(receiver.received().len(), 3, "the breaker opened after three failures");

        // Which three went first is up to the scheduler: the fourth met the
        // open breaker and waits for it, without an attempt.
        assert_eq!((failed.len(), waiting.len()), (3, 1));

        // The merchant fixed their server and resends a failed event: it goes
        // at once as the probe, and its success closes the breaker.
        assert_eq!(hookline::logs::ops::resend(&t.db, &*clock, &m, Mode::Live, &failed[0]).await.unwrap(), 1);
        d.step().await.unwrap();
        assert_eq!(receiver.received().len(), 4, "one probe, no ten-minute wait");
        // Its success lets the event that waited for the breaker go too, at once.
        d.step().await.unwrap();
        assert_eq!(receiver.received().len(), 5);
        for e in [&failed[0], &waiting[0]] {
            assert_eq!(deliveries::state(&t.db, &delivery(e, &ep)).await.unwrap().unwrap().0, "succeeded");
        }
        let h = hookline::store::endpoints::get_live(&t.db, &ep).await.unwrap().unwrap().health;
        assert_eq!((h.consecutive_failures, h.breaker_until_ms), (0, None), "the breaker is closed");
    }

    async fn the_resent_event_is_the_probe_while_older_retries_wait(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "resent-probe@acme.example").await;
        // The server refuses everything until the last phase below.
        let (receiver, url) = Receiver::start(&[(500, None); 5]).await;
        let ep = endpoint(&t.db, &*clock, &m, &url).await;
        let Tripped { d, events, failed, waiting } = tripped_after_three(&t.db, &clock, &m, &ep, 8).await;
        assert_eq!((failed.len(), waiting.len()), (3, 5), "the breaker opened after three failures");
        let waiting_ids: Vec<String> = waiting.iter().map(|e| delivery(e, &ep)).collect();
        let last_sent = || receiver.received().last().unwrap().headers["webhook-id"].to_str().unwrap().to_owned();

        // While the breaker is open, five deliveries are due and older than
        // the resend: the resent event still goes first, alone, as the probe.
        // The server refuses it, so the breaker pauses the endpoint again.
        assert_eq!(hookline::logs::ops::resend(&t.db, &*clock, &m, Mode::Live, &failed[0]).await.unwrap(), 1);
        d.step().await.unwrap();
        assert_eq!(receiver.received().len(), 4, "one probe");
        assert_eq!(last_sent(), failed[0]);
        assert_eq!(attempts_total(&t.db, &waiting_ids).await, 0, "the older deliveries waited");
        let h = hookline::store::endpoints::get_live(&t.db, &ep).await.unwrap().unwrap().health;
        assert!(h.breaker_until_ms.unwrap() > clock.now_ms() + 60_000, "paused again after the refused probe");
        assert_eq!(h.probe_delivery_id, None, "the choice is used up");

        // Once that pause has run out, nobody has probed yet and every
        // delivery is due: a resend now still makes its event the probe.
        clock.advance(Duration::from_secs(3600));
        assert_eq!(hookline::logs::ops::resend(&t.db, &*clock, &m, Mode::Live, &failed[1]).await.unwrap(), 1);
        d.step().await.unwrap();
        assert_eq!(receiver.received().len(), 5, "one probe");
        assert_eq!(last_sent(), failed[1]);
        assert_eq!(attempts_total(&t.db, &waiting_ids).await, 0, "the older deliveries waited");

        // The server is fixed: the resent event goes first, succeeds, and
        // closes the breaker, and everything that waited follows.
        assert_eq!(hookline::logs::ops::resend(&t.db, &*clock, &m, Mode::Live, &failed[2]).await.unwrap(), 1);
        d.step().await.unwrap();
        assert_eq!(receiver.received().len(), 6);
        assert_eq!(last_sent(), failed[2]);
        d.step().await.unwrap();
        for id in &waiting_ids {
            assert_eq!(deliveries::state(&t.db, id).await.unwrap().unwrap().0, "succeeded", "{id}");
        }
        // The refused probe before waits for its retry, as scheduled.
        clock.advance(Duration::from_secs(3600));
        d.step().await.unwrap();
        for e in &events {
            assert_eq!(deliveries::state(&t.db, &delivery(e, &ep)).await.unwrap().unwrap().0, "succeeded", "{e}");
        }
        let h = hookline::store::endpoints::get_live(&t.db, &ep).await.unwrap().unwrap().health;
        assert_eq!((h.consecutive_failures, h.breaker_until_ms, h.probe_delivery_id), (0, None, None));
    }

    async fn an_endpoint_failing_for_the_whole_period_is_disabled_and_its_events_held(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "autodisable@acme.example").await;
        let (receiver, url) = Receiver::start(&[(500, None); 2]).await;
        let ep = endpoint(&t.db, &*clock, &m, &url).await;
        let breaker = BreakerPolicy { threshold: 1000, disable_after: Duration::from_secs(3600), ..BreakerPolicy::default() };
        let d = with_breaker(dispatcher(&t.db, &clock, true), breaker);

        let first = delivery(&publish(&t.db, &*clock, &m).await, &ep);
        d.step().await.unwrap();
        assert_eq!(disabled_reason(&t.db, &ep).await, None, "one failure is not enough");
        clock.advance(Duration::from_secs(3600));
        d.step().await.unwrap();
        assert_eq!(disabled_reason(&t.db, &ep).await.as_deref(), Some("failing"));
        assert!(held(&t.db, &first).await);
        assert_eq!(deliveries::state(&t.db, &first).await.unwrap().unwrap(), ("pending".into(), 2));

        // New events are held too, not dropped, and nothing is sent.
        let second = delivery(&publish(&t.db, &*clock, &m).await, &ep);
        assert!(held(&t.db, &second).await);
        clock.advance(Duration::from_secs(24 * 3600));
        assert_eq!(d.step().await.unwrap(), 0);
        assert_eq!(health::held_count(&t.db, &ep).await.unwrap(), 2);

        // Another merchant cannot re-enable it; its owner can, and the held events go out.
        let other = merchant(&t.db, &clock, "other@acme.example").await;
        assert!(endpoints::enable(&t.db, &*clock, &other, &ep, HeldDeliveries::Deliver).await.is_err());
        assert_eq!(endpoints::enable(&t.db, &*clock, &m, &ep, HeldDeliveries::Deliver).await.unwrap(), 2);
        assert_eq!(d.step().await.unwrap(), 2);
        for id in [&first, &second] {
            assert_eq!(deliveries::state(&t.db, id).await.unwrap().unwrap().0, "succeeded");
        }
        assert_eq!(receiver.received().len(), 4);
        assert_eq!(disabled_reason(&t.db, &ep).await, None);
    }

    async fn a_410_disables_at_once_and_held_events_can_be_discarded(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "gone@acme.example").await;
        let (receiver, url) = Receiver::start(&[(410, None)]).await;
        let ep = endpoint(&t.db, &*clock, &m, &url).await;
        let d = with_breaker(dispatcher(&t.db, &clock, true), BreakerPolicy::default());
        let a = delivery(&publish(&t.db, &*clock, &m).await, &ep);
        let b = delivery(&publish(&t.db, &*clock, &m).await, &ep);
        assert_eq!(d.step().await.unwrap(), 2);
        assert_eq!(receiver.received().len(), 1, "nothing more after the 410");
        assert_eq!(disabled_reason(&t.db, &ep).await.as_deref(), Some("gone"));
        assert!(held(&t.db, &a).await && held(&t.db, &b).await);
        assert_eq!(endpoints::enable(&t.db, &*clock, &m, &ep, HeldDeliveries::Discard).await.unwrap(), 2);
        assert_eq!(d.step().await.unwrap(), 0);
        for id in [&a, &b] {
            assert_eq!(deliveries::state(&t.db, id).await.unwrap().unwrap().0, "failed");
        }
        assert_eq!(receiver.received().len(), 1);

        // Turned off by the merchant: new events are not kept for it.
        endpoints::disable(&t.db, &*clock, &m, &ep).await.unwrap();
        let event = publish(&t.db, &*clock, &m).await;
        assert!(event_store::deliveries_of(&t.db, &event).await.unwrap().is_empty());
    }

    async fn a_hold_recorded_after_the_endpoint_was_enabled_again_is_released(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "race@acme.example").await;
        let (receiver, url) = Receiver::start(&[]).await;
        let ep = endpoint(&t.db, &*clock, &m, &url).await;
        let d = dispatcher(&t.db, &clock, true);
        let id = delivery(&publish(&t.db, &*clock, &m).await, &ep);
        // Another node found the endpoint disabled; the merchant enabled it
        // (releasing what was held) before that node recorded the hold.
        let lease = deliveries::Lease { owner: "node-b".into(), until_ms: clock.now_ms() + 60_000 };
        assert_eq!(deliveries::claim_due(&t.db, clock.now_ms(), &lease, 10).await.unwrap().len(), 1);
        assert!(deliveries::finish(&t.db, &id, &lease, deliveries::Outcome::Hold).await.unwrap());
        assert!(held(&t.db, &id).await);
        assert_eq!(d.step().await.unwrap(), 0, "a held delivery is never due");
        assert_eq!(health::release_stray_held(&t.db, clock.now_ms()).await.unwrap(), 1);
        assert!(!held(&t.db, &id).await);
        assert_eq!(d.step().await.unwrap(), 1);
        assert_eq!(receiver.received().len(), 1);

        // What a disabled endpoint holds stays held.
        health::disable(&t.db, &ep, health::DisabledReason::Failing, clock.now_ms()).await.unwrap();
        let waiting = delivery(&publish(&t.db, &*clock, &m).await, &ep);
        assert!(held(&t.db, &waiting).await);
        assert_eq!(health::release_stray_held(&t.db, clock.now_ms()).await.unwrap(), 0);
        assert!(held(&t.db, &waiting).await);
    }

    async fn retention_purges_exactly_what_is_past_the_period_in_batches(backend) {
        let t = TestDatabase::new(backend).await;
        let day = Duration::from_secs(24 * 3600);
        let now = ManualClock::starting_now().now_ms();
        let clock = ManualClock::new(now - 40 * day.as_millis() as i64);
        let m = merchant(&t.db, &clock, "retention@acme.example").await;
        let (_receiver, url) = Receiver::start(&[]).await;
        let ep = endpoint(&t.db, &*clock, &m, &url).await;
        let d = dispatcher(&t.db, &clock, true);
        let mut old = Vec::new();
        for _ in 0..5 {
            old.push(publish(&t.db, &*clock, &m).await); // 40 days ago
        }
        d.step().await.unwrap();
        // One more old event, its delivery claimed by a node that is still
        // attempting it when the purge runs.
        let busy = publish(&t.db, &*clock, &m).await;
        let lease = deliveries::Lease { owner: "node-b".into(), until_ms: now + 60_000 };
        let claimed = deliveries::claim_due(&t.db, clock.now_ms(), &lease, 10).await.unwrap();
        assert_eq!(claimed.iter().map(|c| &c.event_id).collect::<Vec<_>>(), vec![&busy]);
        clock.set(now - 29 * day.as_millis() as i64);
        let mut recent = Vec::new();
        for _ in 0..3 {
            recent.push(publish(&t.db, &*clock, &m).await); // 29 days ago
        }
        d.step().await.unwrap();
        // API rate windows go after an hour; API idempotency answers after a day.
        for at in [now - 2 * 3_600_000, now - 3_600_000 - 1, now - 60_000] {
            hookline::api_keys::rate_limited(&t.db, "key_r", at, 1000, 100).await.unwrap();
        }
        let api_clock = ManualClock::new(now - 25 * 3_600_000);
        hookline::api_keys::begin_idempotent(&t.db, &*api_clock, "key_r", "old", "h").await.unwrap();
        api_clock.set(now - 23 * 3_600_000);
        hookline::api_keys::begin_idempotent(&t.db, &*api_clock, "key_r", "new", "h").await.unwrap();

        // Sign-in counters go a day after their window opened.
        hookline::store::throttle::count_attempt(&t.db, "email:old@x.example", now - 2 * 86_400_000, 900_000).await.unwrap();
        hookline::store::throttle::count_attempt(&t.db, "email:new@x.example", now - 3_600_000, 900_000).await.unwrap();

        let purged = retention::purge(&t.db, now, 30 * day, 2).await.unwrap();
        assert_eq!((purged.events, purged.deliveries, purged.attempts), (5, 5, 5));
        assert_eq!(purged.sign_in_counters, 1, "{purged:?}");
        assert_eq!(purged.api_rows, 3, "two rate windows and one idempotency answer: {purged:?}");
        assert!(purged.batches >= 9, "2 rows at a time: {purged:?}");
        for id in &old {
            assert!(event_store::get(&t.db, id).await.unwrap().is_none());
            assert!(deliveries::attempts_of(&t.db, &delivery(id, &ep)).await.unwrap().is_empty());
        }
        for id in &recent {
            assert!(event_store::get(&t.db, id).await.unwrap().is_some());
            assert_eq!(deliveries::attempts_of(&t.db, &delivery(id, &ep)).await.unwrap().len(), 1);
        }
        // The leased delivery and its event wait until the attempt is recorded.
        assert!(event_store::get(&t.db, &busy).await.unwrap().is_some());
        let again = retention::purge(&t.db, now, 30 * day, 2).await.unwrap();
        assert_eq!((again.events, again.deliveries, again.attempts), (0, 0, 0));
        assert!(deliveries::finish(&t.db, &claimed[0].id, &lease, deliveries::Outcome::Succeeded).await.unwrap());
        let last = retention::purge(&t.db, now, 30 * day, 2).await.unwrap();
        assert_eq!((last.events, last.deliveries, last.attempts), (1, 1, 0));
        assert!(event_store::get(&t.db, &busy).await.unwrap().is_none());
    }

    async fn a_dead_endpoint_does_not_slow_the_healthy_ones(backend) {
        // Real time here: the run loop, real timeouts, TLS receivers.
        let base = healthy_p99(backend, false).await;
        let with_dead = healthy_p99(backend, true).await;
        eprintln!("healthy p99: {base:?} alone, {with_dead:?} beside a dead endpoint");
        // Without isolation each healthy delivery would queue behind 1 s
        // timeouts; the margin absorbs a busy machine (tests run in parallel).
        assert!(
            with_dead <= (base * 3).max(base + Duration::from_secs(1)),
            "p99 {with_dead:?} with a dead endpoint vs {base:?} without"
        );
    }
}

/// Runs the dispatcher loop against 20 healthy receivers (and one that never
/// answers, when asked) and answers the healthy deliveries' p99 latency.
async fn healthy_p99(backend: hookline::store::Backend, dead: bool) -> Duration {
    let t = TestDatabase::new(backend).await;
    let clock: SharedClock = Arc::new(SystemClock);
    let m = merchant(&t.db, &ManualClock::starting_now(), "p99@acme.example").await;
    let arrivals: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let mut receivers = Vec::new();
    for _ in 0..20 {
        let a = arrivals.clone();
        receivers.push(
            TlsReceiver::start_observed(
                Behaviour::status(200),
                Arc::new(move |r| {
                    a.lock().unwrap().push((
                        r.header("webhook-id").unwrap_or_default().to_owned(),
                        Instant::now(),
                    ));
                }),
            )
            .await,
        );
    }
    if dead {
        receivers.push(TlsReceiver::start(Behaviour::Silent).await);
    }
    for r in &receivers {
        endpoint(&t.db, &*clock, &m, &r.url).await;
    }
    let d = Arc::new(Dispatcher {
        db: t.db.clone(),
        sbox: sbox(),
        clock: clock.clone(),
        schedule: RetrySchedule::default(),
        clients: ClientCache::new(DeliveryPolicy {
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            allow_private: true,
            extra_roots_pem: receivers
                .iter()
                .map(|r| r.cert_pem.clone().into_bytes())
                .collect(),
            ..DeliveryPolicy::default()
        }),
        node_id: "p99-node".into(),
        lease: Duration::from_secs(30),
        batch_size: 100,
        max_in_flight: 64,
        max_per_endpoint: 8,
        metrics: Arc::new(Metrics::new()),
        breaker: BreakerPolicy::default(),
        wakeup: Default::default(),
        gates: Default::default(),
    });
    let runner = tokio::spawn(d.clone().run(Duration::from_millis(20)));
    let mut published: HashMap<String, Instant> = HashMap::new();
    for _ in 0..40 {
        let at = Instant::now();
        published.insert(publish(&t.db, &*clock, &m).await, at);
        d.wakeup.wake();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals.lock().unwrap().len() < 40 * 20 {
        assert!(
            Instant::now() < deadline,
            "only {} of 800 arrived",
            arrivals.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.abort();
    let mut latencies: Vec<Duration> = arrivals
        .lock()
        .unwrap()
        .iter()
        .map(|(id, at)| at.duration_since(published[id]))
        .collect();
    latencies.sort();
    latencies[(latencies.len() * 99) / 100 - 1]
}
