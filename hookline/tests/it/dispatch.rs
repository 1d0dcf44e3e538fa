//! The dispatcher against real HTTP receivers on loopback.

use crate::endpoints::{merchant, sbox};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hookline::backend_tests;
use hookline::clock::{Clock, ManualClock};
use hookline::dispatch::{ClientCache, DeliveryPolicy, Dispatcher};
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::endpoints;
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::ingest::{self, PublishInput};
use hookline::metrics::Metrics;
use hookline::mode::Mode;
use hookline::retry::RetrySchedule;
use hookline::signing::verify;
use hookline::store::Db;
use hookline::store::deliveries;
use hookline::testing::TestDatabase;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

/// A status to answer with, and an optional `Retry-After` value.
pub(crate) type Answer = (u16, Option<&'static str>);

/// A merchant's server: records what arrives, answers with the queued
/// statuses (then 200).
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<Answer>>>,
    /// How long the next request waits before its answer.
    delay_next: Arc<Mutex<Option<Duration>>>,
}

impl Receiver {
    pub(crate) async fn start(answers: &[Answer]) -> (Receiver, String) {
        let r = Receiver::default();
        r.answers.lock().unwrap().extend(answers.iter().copied());
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Makes the next request wait `delay` for its answer (a slow server).
    pub(crate) fn delay_next(&self, delay: Duration) {
        *self.delay_next.lock().unwrap() = Some(delay);
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, HeaderMap, &'static str) {
    r.received.lock().unwrap().push(Received { headers, body });
    let (status, retry_after) = r.answers.lock().unwrap().pop_front().unwrap_or((200, None));
    let delay = r.delay_next.lock().unwrap().take();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut out = HeaderMap::new();
    if let Some(v) = retry_after {
        out.insert("retry-after", v.parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), out, "thanks")
}

pub(crate) fn dispatcher(
    db: &Db,
    clock: &Arc<ManualClock>,
    allow_private: bool,
) -> Arc<Dispatcher> {
    Arc::new(Dispatcher {
        db: db.clone(),
        sbox: sbox(),
        clock: clock.clone(),
        schedule: RetrySchedule::default(),
        clients: ClientCache::new(DeliveryPolicy {
            allow_http: true,
            allow_private,
            timeout: Duration::from_secs(5),
            ..DeliveryPolicy::default()
        }),
        node_id: "test-node".into(),
        lease: Duration::from_secs(60),
        batch_size: 50,
        max_in_flight: 16,
        max_per_endpoint: 3,
        metrics: Arc::new(Metrics::new()),
        breaker: Default::default(),
        wakeup: Default::default(),
        gates: Default::default(),
    })
}

struct Setup {
    merchant: String,
    endpoint: String,
    event: String,
}

async fn setup(
    db: &Db,
    clock: &ManualClock,
    url: &str,
    version: &str,
    allowlist: Vec<String>,
) -> Setup {
    let merchant = merchant(db, clock, "a@acme.example").await;
    let input = EndpointInput {
        url: url.into(),
        event_types: vec!["payin.succeeded".into()],
        payload_version: version.into(),
        allowlist,
        ..EndpointInput::default()
    };
    let rules = EndpointRules {
        allow_http: true,
        opt_in_approved: false,
    };
    let endpoint = endpoints::create(db, &sbox(), clock, &merchant, Mode::Live, &input, rules)
        .await
        .unwrap()
        .id;
    let event = publish_payin(db, clock, &merchant).await;
    Setup {
        merchant,
        endpoint,
        event,
    }
}

/// Publishes one `payin.succeeded` event for `merchant`; answers its id.
async fn publish_payin(db: &Db, clock: &ManualClock, merchant: &str) -> String {
    let input = PublishInput {
        merchant_id: merchant.to_owned(),
        mode: "live".into(),
        event_type: "payin.succeeded".into(),
        data: sample_data(EventType::PayinSucceeded, clock.now_ms()),
    };
    ingest::publish(db, clock, &input, None)
        .await
        .unwrap()
        .event
        .id
}

/// Two deliveries to a new endpoint, which gets one attempt at a time, the
/// first held at the merchant's server for a second: a step runs in the
/// background, and this answers once the first attempt has arrived.
struct QueuedBehindOne {
    t: TestDatabase,
    clock: Arc<ManualClock>,
    receiver: Receiver,
    setup: Setup,
    second: String,
    step: tokio::task::JoinHandle<usize>,
}

async fn queued_behind_one(backend: hookline::store::Backend) -> QueuedBehindOne {
    let t = TestDatabase::new(backend).await;
    let clock = ManualClock::starting_now();
    let (receiver, url) = Receiver::start(&[]).await;
    let setup = setup(&t.db, &clock, &url, "", vec![]).await;
    let second = publish_payin(&t.db, &clock, &setup.merchant).await;
    let d = dispatcher(&t.db, &clock, true);
    receiver.delay_next(Duration::from_secs(1));
    let step = tokio::spawn(async move { d.step().await.unwrap() });
    eventually(|| receiver.received().len() == 1).await;
    QueuedBehindOne {
        t,
        clock,
        receiver,
        setup,
        second,
        step,
    }
}

/// Waits (up to ten seconds) for something the dispatcher does in the background.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not done within ten seconds");
}

fn delivery_id(s: &Setup) -> String {
    format!("dlv_{}_{}", s.event.trim_start_matches("evt_"), s.endpoint)
}

/// A receiver that takes a while to answer and remembers the most requests it
/// had in hand at once.
async fn slow_receiver() -> (Arc<AtomicUsize>, String) {
    let current = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (c, p) = (current.clone(), peak.clone());
    let app = axum::Router::new().route(
        "/hook",
        post(move || {
            let (c, p) = (c.clone(), p.clone());
            async move {
                let now = c.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(40)).await;
                c.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (peak, url)
}

backend_tests! {
    async fn a_delivery_whose_lease_ran_low_in_its_queue_renews_it_before_it_is_sent(backend) {
        // 56 of the lease's 60 s pass while the first attempt is held: the
        // other has less left than an attempt may take (5 s to connect, 5 s
        // to answer), so it renews its lease before it goes.
        let q = queued_behind_one(backend).await;
        q.clock.advance(Duration::from_secs(56));
        assert_eq!(q.step.await.unwrap(), 2);
        assert_eq!(q.receiver.received().len(), 2, "both sent, each once");
        for event in [&q.setup.event, &q.second] {
            let states = hookline::store::events::deliveries_of(&q.t.db, event).await.unwrap();
            assert_eq!(states[0].1, "succeeded", "its outcome was kept under the renewed lease");
        }
    }

    async fn a_delivery_another_node_took_over_while_it_queued_is_not_sent_again(backend) {
        let q = queued_behind_one(backend).await;
        // The lease runs out while the first attempt is held, and another
        // node claims both deliveries: the one in flight here, and the one
        // still queued here.
        q.clock.advance(Duration::from_secs(61));
        let other = deliveries::Lease { owner: "node-b".into(), until_ms: q.clock.now_ms() + 60_000 };
        let taken = deliveries::claim_due(&q.t.db, q.clock.now_ms(), &other, 10).await.unwrap();
        let mut events: Vec<&str> = taken.iter().map(|c| c.event_id.as_str()).collect();
        events.sort_unstable();
        let mut both = vec![q.setup.event.as_str(), q.second.as_str()];
        both.sort_unstable();
        assert_eq!(events, both);
        assert_eq!(q.step.await.unwrap(), 2);
        assert_eq!(q.receiver.received().len(), 1, "the queued one was left to node-b, not sent here too");
        for c in &taken {
            assert!(deliveries::finish(&q.t.db, &c.id, &other, deliveries::Outcome::Succeeded).await.unwrap(), "node-b's lease is intact");
        }
    }

    async fn an_endpoint_with_an_unreadable_secret_does_not_hold_up_its_batch(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (good, good_url) = Receiver::start(&[]).await;
        let (broken, broken_url) = Receiver::start(&[]).await;
        let s = setup(&t.db, &clock, &good_url, "", vec![]).await;
        let input = EndpointInput {
            url: broken_url,
            event_types: vec!["payin.succeeded".into()],
            ..EndpointInput::default()
        };
        let rules = EndpointRules { allow_http: true, opt_in_approved: false };
        let unreadable = endpoints::create(&t.db, &sbox(), &*clock, &s.merchant, Mode::Live, &input, rules)
            .await.unwrap().id;
        // Sealed under another key, say: it cannot be opened.
        hookline::on_db!(&t.db, |pool| sqlx::query("UPDATE endpoint_secrets SET sealed = $1 WHERE endpoint_id = $2")
            .bind(vec![0u8; 60]).bind(&unreadable).execute(pool).await.map(|_| ()).unwrap());
        publish_payin(&t.db, &clock, &s.merchant).await;

        let d = dispatcher(&t.db, &clock, true);
        assert_eq!(d.step().await.unwrap(), 3);
        assert_eq!(good.received().len(), 2, "the readable endpoint got both events");
        assert!(broken.received().is_empty(), "nothing is sent unsigned");
        assert_eq!(deliveries::state(&t.db, &delivery_id(&s)).await.unwrap().unwrap().0, "succeeded");
    }

    async fn concurrency_per_endpoint_is_bounded(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (peak, url) = slow_receiver().await;
        let s = setup(&t.db, &clock, &url, "", vec![]).await;
        let publish = |n: usize| {
            let (db, clock, merchant) = (t.db.clone(), clock.clone(), s.merchant.clone());
            async move {
                for _ in 0..n {
                    publish_payin(&db, &clock, &merchant).await;
                }
            }
        };
        let d = dispatcher(&t.db, &clock, true);
        // An endpoint that has not answered yet gets a quarter of the limit (here one at a time)...
        publish(3).await;
        assert_eq!(d.step().await.unwrap(), 4);
        assert_eq!(peak.swap(0, Ordering::SeqCst), 1, "a new endpoint is sent one request at a time");
        // ...and once it answers well, the whole limit.
        publish(11).await;
        assert_eq!(d.step().await.unwrap(), 11);
        let peak = peak.load(Ordering::SeqCst);
        assert!((2..=3).contains(&peak), "at most 3 at once to one endpoint, and more than one: {peak}");
    }

    async fn a_running_dispatcher_is_handed_new_events_without_a_claim(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (receiver, url) = Receiver::start(&[]).await;
        // Published without the dispatcher: it waits in the queue.
        let s = setup(&t.db, &clock, &url, "", vec![]).await;
        let d = dispatcher(&t.db, &clock, true);
        assert!(d.reserve(1).is_none(), "nothing is handed over before the run loop goes");
        // The loop claims what is queued, finds nothing more and then sleeps
        // for an hour unless woken: whatever arrives after that came by handoff.
        tokio::spawn(d.clone().run(Duration::from_secs(3600)));
        eventually(|| receiver.received().len() == 1).await;
        eventually(|| d.reserve(1).is_some()).await;

        let publisher = ingest::Publisher::with_dispatcher(t.db.clone(), d.clone());
        let input = PublishInput {
            merchant_id: s.merchant.clone(),
            mode: "live".into(),
            event_type: "payin.succeeded".into(),
            data: sample_data(EventType::PayinSucceeded, clock.now_ms()),
        };
        let event = publisher.publish(&*clock, &input, None).await.unwrap().event.id;
        eventually(|| receiver.received().len() == 2).await;
        assert_eq!(receiver.received()[1].headers["webhook-id"], event.as_str());
        let id = format!("dlv_{}_{}", event.trim_start_matches("evt_"), s.endpoint);
        let mut recorded = None;
        for _ in 0..500 {
            recorded = deliveries::state(&t.db, &id).await.unwrap();
            if recorded.as_ref().is_some_and(|(status, _)| status == "succeeded") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(recorded, Some(("succeeded".into(), 1)), "recorded under the lease it was stored with");

        // More at once than the node has slots (16): the rest wait in the
        // queue, the loop is woken and claims them; each arrives once.
        let publisher = Arc::new(publisher);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let (publisher, clock, input) = (publisher.clone(), clock.clone(), input.clone());
            tasks.spawn(async move { publisher.publish(&*clock, &input, None).await.unwrap() });
        }
        while tasks.join_next().await.is_some() {}
        // Beyond its per-endpoint queue (12 here) a node puts handed-off
        // deliveries back, due at once; the queue wakes the loop as it
        // drains, so they go without the clock moving or a poll.
        eventually(|| receiver.received().len() >= 42).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let ids: std::collections::HashSet<String> = receiver.received().iter()
            .map(|r| r.headers["webhook-id"].to_str().unwrap().to_owned()).collect();
        assert_eq!((receiver.received().len(), ids.len()), (42, 42));
    }

    async fn a_backlog_for_one_endpoint_is_claimed_as_its_queue_drains(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (peak, url) = slow_receiver().await;
        let s = setup(&t.db, &clock, &url, "", vec![]).await;
        let (other, other_url) = Receiver::start(&[]).await;
        // 60 deliveries wait for one endpoint: far more than its queue on the
        // node (4 × 3 in flight = 12) or the node's slots (16).
        for _ in 0..59 {
            publish_payin(&t.db, &clock, &s.merchant).await;
        }
        let other_merchant = merchant(&t.db, &clock, "b@other.example").await;
        let input = EndpointInput {
            url: other_url,
            event_types: vec!["payin.succeeded".into()],
            ..EndpointInput::default()
        };
        let rules = EndpointRules { allow_http: true, opt_in_approved: false };
        endpoints::create(&t.db, &sbox(), &*clock, &other_merchant, Mode::Live, &input, rules).await.unwrap();
        let d = dispatcher(&t.db, &clock, true);
        // The loop sleeps for an hour unless woken, and the clock stands still.
        tokio::spawn(d.clone().run(Duration::from_secs(3600)));
        eventually(|| peak.load(Ordering::SeqCst) > 0).await;
        // Another merchant's event, published behind the backlog, is not
        // held up by it: it arrives while the backlog drains.
        publish_payin(&t.db, &clock, &other_merchant).await;
        d.wakeup.wake();
        eventually(|| other.received().len() == 1).await;
        let backlog_done = || async {
            let depth = deliveries::queue_depth(&t.db, clock.now_ms()).await.unwrap();
            depth.iter().find(|(state, _)| state == "succeeded").map_or(0, |(_, n)| *n)
        };
        assert!(backlog_done().await < 60, "the other endpoint went before the backlog was through");
        for _ in 0..1000 {
            if backlog_done().await == 61 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(backlog_done().await, 61, "every delivery went, without a poll or the clock moving");
        assert!(peak.load(Ordering::SeqCst) <= 3, "at most 3 at once to one endpoint");
        // The node took each time only what fitted its queue: nothing was
        // claimed and put back.
        let metrics = d.metrics.render(&[]);
        assert!(metrics.contains("hookline_deliveries_put_back_total 0"), "{metrics}");
    }

    async fn delivers_a_signed_event_that_verifies(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (receiver, url) = Receiver::start(&[]).await;
        let s = setup(&t.db, &clock, &url, "", vec![]).await;
        let d = dispatcher(&t.db, &clock, true);
        assert_eq!(d.step().await.unwrap(), 1);
        let got = receiver.received();
        assert_eq!(got.len(), 1);
        let h = &got[0].headers;
        assert_eq!(h["webhook-id"], s.event.as_str());
        assert_eq!(h["content-type"], "application/json");
        assert!(h["user-agent"].to_str().unwrap().starts_with("Hookline/"));
        let secret = endpoints::current_secret(&t.db, &sbox(), &*clock, &s.merchant, &s.endpoint).await.unwrap();
        let now = clock.now_ms() / 1000;
        let check = |secret: &hookline::signing::SigningSecret| verify(
            secret, h["webhook-id"].to_str().unwrap(), h["webhook-timestamp"].to_str().unwrap(),
            h["webhook-signature"].to_str().unwrap(), got[0].body.as_bytes(), now, 300);
        check(&secret).unwrap();
        assert!(check(&hookline::signing::SigningSecret::generate()).is_err(), "a wrong secret fails");
        let body: serde_json::Value = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!(body["type"], "payin.succeeded");
        assert_eq!(body["mode"], "live");
        assert_eq!(body["data"]["amount"]["currency"], "EUR");

        let id = delivery_id(&s);
        assert_eq!(deliveries::state(&t.db, &id).await.unwrap(), Some(("succeeded".into(), 1)));
        let attempts = deliveries::attempts_of(&t.db, &id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].response_status, Some(200));
        assert_eq!(attempts[0].response_body.as_deref(), Some("thanks"));
        assert_eq!(attempts[0].error_class, None);
        assert!(attempts[0].request_headers.contains("webhook-signature"));
        assert_eq!(d.step().await.unwrap(), 0, "nothing left to do");
    }

    async fn failures_retry_on_schedule_with_the_same_webhook_id(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (receiver, url) = Receiver::start(&[(500, None), (429, Some("120"))]).await;
        let s = setup(&t.db, &clock, &url, "", vec![]).await;
        let id = delivery_id(&s);
        let d = dispatcher(&t.db, &clock, true);

        let t0 = clock.now_ms();
        assert_eq!(d.step().await.unwrap(), 1);
        let next = deliveries::next_attempt_ms(&t.db, &id).await.unwrap().unwrap();
        assert!((t0 + 4_000..=t0 + 6_000).contains(&next), "5 s ± 20 %: {}", next - t0);
        assert_eq!(d.step().await.unwrap(), 0, "not due yet");

        clock.set(next);
        assert_eq!(d.step().await.unwrap(), 1);
        let after_429 = deliveries::next_attempt_ms(&t.db, &id).await.unwrap().unwrap();
        assert!(after_429 - next >= 240_000, "the 5 min step is longer than Retry-After: 120");

        clock.set(after_429);
        assert_eq!(d.step().await.unwrap(), 1);
        assert_eq!(deliveries::state(&t.db, &id).await.unwrap(), Some(("succeeded".into(), 3)));
        let got = receiver.received();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|r| r.headers["webhook-id"] == s.event.as_str()));
        let attempts = deliveries::attempts_of(&t.db, &id).await.unwrap();
        let classes: Vec<Option<String>> = attempts.iter().map(|a| a.error_class.clone()).collect();
        assert_eq!(classes, vec![Some("http_status".into()), Some("http_status".into()), None]);
        assert_eq!(attempts[1].response_status, Some(429));
    }

    async fn retry_after_longer_than_the_schedule_is_honoured(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (_receiver, url) = Receiver::start(&[(503, Some("90"))]).await;
        let s = setup(&t.db, &clock, &url, "", vec![]).await;
        let t0 = clock.now_ms();
        dispatcher(&t.db, &clock, true).step().await.unwrap();
        let next = deliveries::next_attempt_ms(&t.db, &delivery_id(&s)).await.unwrap().unwrap();
        assert_eq!(next - t0, 90_000);
    }

    async fn gives_up_after_the_last_attempt(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (receiver, url) = Receiver::start(&[(500, None); 8]).await;
        let s = setup(&t.db, &clock, &url, "", vec![]).await;
        let id = delivery_id(&s);
        let d = dispatcher(&t.db, &clock, true);
        let start = clock.now_ms();
        for _ in 0..8 {
            if let Some(next) = deliveries::next_attempt_ms(&t.db, &id).await.unwrap() {
                clock.set(next.max(clock.now_ms()));
            }
            assert_eq!(d.step().await.unwrap(), 1);
        }
        assert_eq!(deliveries::state(&t.db, &id).await.unwrap(), Some(("failed".into(), 8)));
        assert_eq!(receiver.received().len(), 8);
        // 5 s + 5 min + 30 min + 2 h + 5 h + 10 h + 10 h, each ± 20 %.
        let span = (clock.now_ms() - start) as f64 / 1000.0;
        let planned = 5.0 + 300.0 + 1800.0 + 7200.0 + 18000.0 + 36000.0 + 36000.0;
        assert!(span >= planned * 0.8 && span <= planned * 1.2, "{span} s");
    }

    async fn pinned_versions_get_their_format(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (receiver, url) = Receiver::start(&[]).await;
        let s = setup(&t.db, &clock, &url, "2025-06-01", vec![]).await;
        dispatcher(&t.db, &clock, true).step().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&receiver.received()[0].body).unwrap();
        assert_eq!(body["api_version"], "2025-06-01");
        let attempts = deliveries::attempts_of(&t.db, &delivery_id(&s)).await.unwrap();
        assert_eq!(attempts[0].payload_version, "2025-06-01", "the attempt names the version it sent");
        assert_eq!(body["data"]["amount"], 4250);
        assert_eq!(body["data"]["currency"], "EUR");
        assert_eq!(body["data"]["response_code"], "00");
    }

    async fn a_fan_out_sends_each_endpoint_its_version_signed_with_its_secret(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let merchant = merchant(&t.db, &clock, "a@acme.example").await;
        // Two endpoints on the current version and one pinned to the old one:
        // the batch renders the event once per version and signs it per endpoint.
        let mut endpoints_and_receivers = Vec::new();
        for version in ["", "", "2025-06-01"] {
            let (receiver, url) = Receiver::start(&[]).await;
            let input = EndpointInput {
                url,
                event_types: vec!["payin.succeeded".into()],
                payload_version: version.into(),
                ..EndpointInput::default()
            };
            let rules = EndpointRules { allow_http: true, opt_in_approved: false };
            let id = endpoints::create(&t.db, &sbox(), &*clock, &merchant, Mode::Live, &input, rules)
                .await.unwrap().id;
            endpoints_and_receivers.push((id, receiver));
        }
        let event = publish_payin(&t.db, &clock, &merchant).await;
        assert_eq!(dispatcher(&t.db, &clock, true).step().await.unwrap(), 3);

        let now = clock.now_ms() / 1000;
        let mut bodies = Vec::new();
        for (endpoint, receiver) in &endpoints_and_receivers {
            let got = receiver.received();
            assert_eq!(got.len(), 1, "each endpoint gets the event once");
            let h = &got[0].headers;
            assert_eq!(h["webhook-id"], event.as_str());
            let secret = endpoints::current_secret(&t.db, &sbox(), &*clock, &merchant, endpoint).await.unwrap();
            verify(&secret, h["webhook-id"].to_str().unwrap(), h["webhook-timestamp"].to_str().unwrap(),
                h["webhook-signature"].to_str().unwrap(), got[0].body.as_bytes(), now, 300)
                .expect("signed with this endpoint's own secret");
            bodies.push(got[0].body.clone());
        }
        assert_eq!(bodies[0], bodies[1], "endpoints on one version get the same bytes");
        let current: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
        let pinned: serde_json::Value = serde_json::from_str(&bodies[2]).unwrap();
        assert_eq!(current["data"]["amount"]["currency"], "EUR");
        assert_eq!(pinned["api_version"], "2025-06-01");
        assert_eq!(pinned["data"]["amount"], 4250);
        assert_eq!(pinned["id"], current["id"]);
    }

    async fn internal_destinations_are_refused_and_recorded(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (receiver, url) = Receiver::start(&[]).await;
        let s = setup(&t.db, &clock, &url, "", vec![]).await;
        // The operator has not allowed private destinations: 127.0.0.1 is refused.
        dispatcher(&t.db, &clock, false).step().await.unwrap();
        assert!(receiver.received().is_empty(), "nothing reached the receiver");
        let attempts = deliveries::attempts_of(&t.db, &delivery_id(&s)).await.unwrap();
        assert_eq!(attempts[0].error_class.as_deref(), Some("blocked_destination"));
        assert!(attempts[0].error_message.as_deref().unwrap().contains("loopback"));
    }

    async fn every_internal_address_class_is_refused(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let m = merchant(&t.db, &clock, "ssrf@acme.example").await;
        let rules = EndpointRules { allow_http: false, opt_in_approved: false };
        let hosts = [
            ("127.0.0.1", "loopback"),
            ("[::1]", "loopback"),
            ("10.0.0.1", "private"),
            ("169.254.169.254", "link-local"),
            ("[::ffff:127.0.0.1]", "loopback"),
            ("[fd00::1]", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
        ];
        let mut ids = Vec::new();
        for (host, _) in hosts {
            let input = EndpointInput {
                url: format!("https://{host}/hook"),
                event_types: vec!["payin.succeeded".into()],
                ..EndpointInput::default()
            };
            ids.push(endpoints::create(&t.db, &sbox(), &*clock, &m, Mode::Live, &input, rules).await.unwrap().id);
        }
        let event = publish_payin(&t.db, &clock, &m).await;
        assert_eq!(dispatcher(&t.db, &clock, false).step().await.unwrap(), hosts.len());
        for ((host, kind), id) in hosts.iter().zip(&ids) {
            let delivery = format!("dlv_{}_{id}", event.trim_start_matches("evt_"));
            let attempts = deliveries::attempts_of(&t.db, &delivery).await.unwrap();
            assert_eq!(attempts.len(), 1, "{host}");
            assert_eq!(attempts[0].error_class.as_deref(), Some("blocked_destination"), "{host}");
            let message = attempts[0].error_message.clone().unwrap();
            assert!(message.contains(kind), "{host}: {message}");
        }
    }

    async fn names_resolving_to_internal_addresses_are_refused(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (receiver, url) = Receiver::start(&[]).await;
        let by_name = url.replace("127.0.0.1", "localhost");
        let s = setup(&t.db, &clock, &by_name, "", vec![]).await;
        dispatcher(&t.db, &clock, false).step().await.unwrap();
        assert!(receiver.received().is_empty());
        let attempts = deliveries::attempts_of(&t.db, &delivery_id(&s)).await.unwrap();
        assert_eq!(attempts[0].error_class.as_deref(), Some("blocked_destination"), "{:?}", attempts[0].error_message);
    }

    async fn the_allowlist_is_enforced(backend) {
        let t = TestDatabase::new(backend).await;
        let clock = ManualClock::starting_now();
        let (receiver, url) = Receiver::start(&[]).await;
        let s = setup(&t.db, &clock, &url, "", vec!["203.0.113.0/24".into()]).await;
        dispatcher(&t.db, &clock, true).step().await.unwrap();
        assert!(receiver.received().is_empty());
        let attempts = deliveries::attempts_of(&t.db, &delivery_id(&s)).await.unwrap();
        assert_eq!(attempts[0].error_class.as_deref(), Some("not_in_allowlist"));
    }
}
