//! Real `server` processes: three nodes on one PostgreSQL database deliver
//! every event, also when one of them is killed with SIGKILL mid-run; a
//! single SQLite node killed and restarted delivers every event too.

use hookline::SignupInput;
use hookline::clock::{Clock, SystemClock};
use hookline::crypto::SecretBox;
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::mode::Mode;
use hookline::store::{Backend, Db};
use hookline::testing::TestDatabase;
use hookline::testing::receiver::{Behaviour, TlsReceiver};
use serde_json::json;
use server::config::{generate_secret_key, generate_token};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the receivers saw: arrivals per (path, webhook-id).
type Seen = Arc<Mutex<HashMap<(String, String), u32>>>;

struct Cluster {
    db_url: String,
    key: String,
    token: String,
    roots: tempfile::NamedTempFile,
    seen: Seen,
    receivers: Vec<TlsReceiver>,
    http: reqwest::Client,
}

struct Node {
    child: Child,
    base: String,
}

impl Cluster {
    async fn new(database: &TestDatabase) -> Cluster {
        let seen: Seen = Arc::default();
        let mut receivers = Vec::new();
        for _ in 0..5 {
            let s = seen.clone();
            receivers.push(
                TlsReceiver::start_observed(
                    Behaviour::status(200),
                    Arc::new(move |r| {
                        let id = r.header("webhook-id").unwrap_or_default().to_owned();
                        *s.lock().unwrap().entry((r.path.clone(), id)).or_default() += 1;
                    }),
                )
                .await,
            );
        }
        let roots = tempfile::NamedTempFile::new().unwrap();
        let pem: String = receivers.iter().map(|r| r.cert_pem.clone()).collect();
        std::fs::write(roots.path(), pem).unwrap();
        Cluster {
            db_url: database.url.clone(),
            key: generate_secret_key(),
            token: generate_token(40),
            roots,
            seen,
            receivers,
            http: reqwest::Client::new(),
        }
    }

    /// `merchants` merchants, each with one live endpoint (10 per receiver,
    /// told apart by path). Answers the merchant ids.
    async fn merchants(&self, db: &Db, merchants: usize) -> Vec<String> {
        use base64::Engine;
        let key: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(&self.key)
            .unwrap()
            .try_into()
            .unwrap();
        let sbox = SecretBox::new(&key);
        let clock = SystemClock;
        let mut ids = Vec::new();
        for i in 0..merchants {
            let m = hookline::accounts::sign_up(
                db,
                &clock,
                &SignupInput {
                    business_name: format!("Shop {i}"),
                    email: format!("shop{i}@cluster.example"),
                    password: crate::harness::PASSWORD.into(),
                },
            )
            .await
            .unwrap()
            .merchant_id
            .unwrap();
            let url = format!("{}/{i}", self.receivers[i % self.receivers.len()].url);
            let input = EndpointInput {
                url,
                event_types: vec!["payin.succeeded".into()],
                ..EndpointInput::default()
            };
            let rules = EndpointRules {
                allow_http: false,
                opt_in_approved: false,
            };
            hookline::endpoints::create(db, &sbox, &clock, &m, Mode::Live, &input, rules)
                .await
                .unwrap();
            ids.push(m);
        }
        ids
    }

    /// A `server serve` process; a killed node's work waits `lease_secs`.
    fn start_node(&self, lease_secs: u64) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("serve")
            .env("HOOKLINE_DATABASE_URL", &self.db_url)
            .env("HOOKLINE_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOOKLINE_SECRET_KEY", &self.key)
            .env("HOOKLINE_INGEST_TOKEN", &self.token)
            .env("HOOKLINE_DEV_ALLOW_PRIVATE", "true")
            .env("HOOKLINE_EXTRA_ROOTS", self.roots.path())
            .env("HOOKLINE_CONNECT_TIMEOUT_SECS", "2")
            .env("HOOKLINE_DELIVERY_TIMEOUT_SECS", "2")
            .env("HOOKLINE_LEASE_SECS", lease_secs.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server binary");
        Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(&self, node: &Node) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .http
            .get(format!("{}/readyz", node.base))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                Instant::now() < deadline,
                "{} did not become ready",
                node.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Publishes `per_merchant` events for each merchant through the batch
    /// API, spread over the nodes.
    async fn publish(&self, nodes: &[&Node], merchants: &[String], per_merchant: usize) {
        let events: Vec<_> = merchants
            .iter()
            .flat_map(|m| std::iter::repeat_n(m, per_merchant))
            .map(|m| {
                json!({ "merchant_id": m, "mode": "live", "type": "payin.succeeded",
                        "data": sample_data(EventType::PayinSucceeded, SystemClock.now_ms()) })
            })
            .collect();
        for (i, chunk) in events.chunks(250).enumerate() {
            let node = nodes[i % nodes.len()];
            let res = self
                .http
                .post(format!("{}/internal/v1/events/batch", node.base))
                .bearer_auth(&self.token)
                .json(&json!({ "events": chunk }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        }
    }

    fn delivered(&self) -> (usize, u32) {
        let seen = self.seen.lock().unwrap();
        let repeats = seen.values().map(|n| n - 1).sum();
        (seen.len(), repeats)
    }

    async fn wait_for(&self, expected: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.delivered().0 < expected {
            assert!(
                Instant::now() < deadline,
                "only {} of {expected} deliveries arrived",
                self.delivered().0
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn statuses(db: &Db) -> Vec<(String, i64)> {
    hookline::on_db!(db, |pool| sqlx::query_as::<_, (String, i64)>(
        "SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status"
    )
    .fetch_all(pool)
    .await
    .unwrap())
}

/// Outcomes are recorded just after the answer arrives: wait for them.
async fn all_succeeded(db: &Db, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while statuses(db).await != vec![("succeeded".to_owned(), n)] {
        assert!(Instant::now() < deadline, "{:?}", statuses(db).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn stop(mut nodes: Vec<Node>) {
    for n in &mut nodes {
        let _ = n.child.kill();
        let _ = n.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_postgres_nodes_deliver_every_event_once() {
    let database = TestDatabase::new(Backend::Postgres).await;
    let cluster = Cluster::new(&database).await;
    let merchants = cluster.merchants(&database.db, 50).await;
    // A lease far longer than any attempt: nothing may be delivered twice.
    let nodes: Vec<Node> = (0..3).map(|_| cluster.start_node(60)).collect();
    for n in &nodes {
        cluster.ready(n).await;
    }
    cluster
        .publish(&nodes.iter().collect::<Vec<_>>(), &merchants, 40)
        .await;
    cluster.wait_for(2_000, Duration::from_secs(120)).await;
    // No node died and no lease ran out: no repeats.
    assert_eq!(cluster.delivered(), (2_000, 0));
    all_succeeded(&database.db, 2_000).await;
    stop(nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_node_killed_mid_run_loses_nothing() {
    let database = TestDatabase::new(Backend::Postgres).await;
    let cluster = Cluster::new(&database).await;
    let merchants = cluster.merchants(&database.db, 50).await;
    let mut nodes: Vec<Node> = (0..3).map(|_| cluster.start_node(5)).collect();
    for n in &nodes {
        cluster.ready(n).await;
    }
    let publishing = nodes.iter().collect::<Vec<_>>();
    cluster.publish(&publishing, &merchants, 40).await;
    cluster.wait_for(300, Duration::from_secs(60)).await;
    // SIGKILL: no shutdown, its leases are simply abandoned.
    let mut victim = nodes.remove(1);
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();
    cluster.wait_for(2_000, Duration::from_secs(120)).await;
    assert_eq!(cluster.delivered().0, 2_000);
    let deadline = Instant::now() + Duration::from_secs(30);
    while statuses(&database.db).await != vec![("succeeded".to_owned(), 2_000)] {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            statuses(&database.db).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_node_killed_and_restarted_loses_nothing() {
    let database = TestDatabase::new(Backend::Sqlite).await;
    let cluster = Cluster::new(&database).await;
    let merchants = cluster.merchants(&database.db, 10).await;
    let node = cluster.start_node(60);
    cluster.ready(&node).await;
    cluster.publish(&[&node], &merchants, 60).await;
    cluster.wait_for(100, Duration::from_secs(60)).await;
    let mut node = node;
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    let restarted = cluster.start_node(60);
    cluster.ready(&restarted).await;
    cluster.wait_for(600, Duration::from_secs(120)).await;
    assert_eq!(cluster.delivered().0, 600);
    let deadline = Instant::now() + Duration::from_secs(30);
    while statuses(&database.db).await != vec![("succeeded".to_owned(), 600)] {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            statuses(&database.db).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(vec![restarted]);
}
