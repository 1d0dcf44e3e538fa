//! `make bench`: how fast Hookline delivers, measured end to end.
//!
//! Starts HTTPS receivers on loopback, then for SQLite with one node and
//! PostgreSQL with one and three nodes runs real `server` processes, warms
//! them up, publishes through the ingest API and times each event from
//! publish to arrival. It
//! also measures the ceiling (a bare loop that signs and POSTs to the same
//! receivers over reused connections, storing nothing) and a delivery-log
//! query with a million attempts in the database. Figures are printed, not
//! asserted. `HOOKLINE_BENCH_QUICK=1` runs a shorter version;
//! `HOOKLINE_BENCH_ONLY=sqlite-1-fanout,postgres-3` only the runs named;
//! `HOOKLINE_BENCH_ROUNDS=3` everything three times, then the medians.

use base64::Engine;
use hookline::SignupInput;
use hookline::clock::{Clock, SystemClock};
use hookline::crypto::SecretBox;
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::mode::Mode;
use hookline::signing::SigningSecret;
use hookline::store::{Backend, Db};
use hookline::testing::receiver::{Behaviour, Captured, TlsReceiver};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RECEIVERS: usize = 10;
/// Events published before each measured run and left out of its figures.
const WARM_UP_EVENTS: usize = 640;

/// Arrival times by webhook-id, per receiver.
#[derive(Default)]
struct Arrivals {
    seen: Mutex<Vec<HashMap<String, Instant>>>,
    total: AtomicU64,
    duplicates: AtomicU64,
}

impl Arrivals {
    fn record(&self, receiver: usize, request: &Captured) {
        let Some(id) = request.header("webhook-id") else {
            return;
        };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen[receiver]
            .insert(id.to_owned(), Instant::now())
            .is_some()
        {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        } else {
            self.total.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until `expected` deliveries have arrived; on timeout, answers
    /// how many had.
    async fn wait_for(&self, expected: u64, timeout: Duration) -> Result<(), u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let arrived = self.total.load(Ordering::SeqCst);
            if arrived >= expected {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(arrived);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn reset(&self) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        *seen = vec![HashMap::new(); RECEIVERS];
        self.total.store(0, Ordering::SeqCst);
        self.duplicates.store(0, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// Each event fans out to 10 endpoints; batch publishes, as fast as possible.
    FanOut10,
    /// One endpoint, one event per publish, as fast as possible.
    Single,
    /// One endpoint, 500 single publishes a second.
    Steady500,
}

impl Scenario {
    /// The name `HOOKLINE_BENCH_ONLY` matches.
    fn key(self) -> &'static str {
        match self {
            Scenario::FanOut10 => "fanout",
            Scenario::Single => "single",
            Scenario::Steady500 => "steady",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Scenario::FanOut10 => "fan-out 10, batch publish, max rate",
            Scenario::Single => "1 endpoint, single publish, max rate",
            Scenario::Steady500 => "1 endpoint, steady 500 events/s",
        }
    }
}

struct Row {
    deliveries: u64,
    per_sec: f64,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    peak_rss_mb: f64,
    /// Server CPU time (all nodes, warm-up left out) per delivery: steadier
    /// than the rates on a machine that is also running the receivers.
    cpu_ms_per_delivery: f64,
    /// Share of the whole machine's CPU time that was busy during the run
    /// (server, database, receivers and publishers together): near 100 %,
    /// more processes cannot deliver more.
    machine_busy: f64,
    duplicates: u64,
}

struct Bench {
    quick: bool,
    server_bin: PathBuf,
    receivers: Vec<TlsReceiver>,
    roots_file: PathBuf,
    arrivals: Arc<Arrivals>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

#[tokio::main]
async fn main() {
    let quick = std::env::var("HOOKLINE_BENCH_QUICK").is_ok_and(|v| v == "1");
    // Runs whose name (`sqlite-1-fanout`, `postgres-3-steady`, …) contains
    // one of these comma-separated parts; every run when unset.
    let only: Option<Vec<String>> = std::env::var("HOOKLINE_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(|p| p.trim().to_owned()).collect());
    // `HOOKLINE_BENCH_ROUNDS=3` runs everything three times and ends with
    // the median of each figure: one run on a busy machine can be off by a
    // quarter either way.
    let rounds: usize = std::env::var("HOOKLINE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let server_bin = PathBuf::from(
        std::env::var("HOOKLINE_BENCH_SERVER").unwrap_or_else(|_| "target/release/server".into()),
    );
    if !server_bin.exists() {
        eprintln!(
            "{} not found: build it with `cargo build --release -p server` (make bench does)",
            server_bin.display()
        );
        std::process::exit(2);
    }
    let arrivals = Arc::new(Arrivals::default());
    arrivals.reset();
    let mut receivers = Vec::new();
    for i in 0..RECEIVERS {
        let a = arrivals.clone();
        receivers.push(
            TlsReceiver::start_observed(Behaviour::status(200), Arc::new(move |r| a.record(i, r)))
                .await,
        );
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let roots_file = dir.path().join("receivers.pem");
    let pem: String = receivers.iter().map(|r| r.cert_pem.clone()).collect();
    std::fs::write(&roots_file, pem).expect("write receiver certificates");
    let bench = Bench {
        quick,
        server_bin,
        receivers,
        roots_file,
        arrivals,
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client"),
        _dir: dir,
    };

    println!(
        "Hookline benchmark ({} run)",
        if quick { "quick" } else { "full" }
    );
    println!(
        "machine: {} cores; receivers: {RECEIVERS} HTTPS servers on loopback; payloads about 1 KiB\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Each round measures the ceiling again just before its runs, so a
    // run's ratio compares it with the machine as it was at that moment.
    let runs: &[(Backend, usize)] = &[
        (Backend::Sqlite, 1),
        (Backend::Postgres, 1),
        (Backend::Postgres, 3),
    ];
    let mut measured: Vec<(String, Vec<Measured>)> = Vec::new();
    for round in 1..=rounds {
        if rounds > 1 {
            println!("round {round} of {rounds}");
        }
        let ceiling = bench.ceiling().await;
        println!(
            "ceiling: bare loop signing and POSTing over reused connections: {ceiling:.0} requests/s\n"
        );
        print_header();
        for &(backend, nodes) in runs {
            for scenario in [Scenario::FanOut10, Scenario::Single, Scenario::Steady500] {
                let key = format!("{}-{nodes}-{}", backend.as_str(), scenario.key());
                if only
                    .as_ref()
                    .is_some_and(|o| !o.iter().any(|f| key.contains(f.as_str())))
                {
                    continue;
                }
                let label = row_label(backend, nodes, scenario);
                // Listed in the first round even if it fails, so the summary
                // keeps every row, in order.
                let at = match measured.iter().position(|(l, _)| *l == label) {
                    Some(at) => at,
                    None => {
                        measured.push((label.clone(), Vec::new()));
                        measured.len() - 1
                    }
                };
                match bench.run(backend, nodes, scenario).await {
                    Ok(row) => {
                        let run = Measured {
                            ceiling_pct: 100.0 * row.per_sec / ceiling,
                            row,
                        };
                        println!("{label}{}", run.columns());
                        measured[at].1.push(run);
                    }
                    Err(e) => println!("{label}failed: {e}"),
                }
            }
        }
        println!();
    }
    if rounds > 1 {
        println!(
            "median of {rounds} rounds (each column on its own), then the range of delivered/s"
        );
        print_header();
        for (label, all) in &measured {
            if all.is_empty() {
                println!("{label}failed in every round");
                continue;
            }
            let (low, high) = all
                .iter()
                .map(|m| m.row.per_sec)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
            println!(
                "{label}{}  ({low:.0}–{high:.0}, {} of {rounds} ran)",
                Measured::median(all).columns(),
                all.len()
            );
        }
        println!();
    }
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if only.is_some() {
            break;
        }
        match log_query(backend, if quick { 100_000 } else { 1_000_000 }).await {
            Ok((n, list, detail)) => println!(
                "delivery-log query on {} with {n} attempts: latest 50 deliveries of an endpoint {}, one event's attempts {}",
                backend.as_str(),
                ms(list),
                ms(detail)
            ),
            Err(e) => println!("delivery-log query on {}: failed: {e}", backend.as_str()),
        }
    }
}

/// The column names of a table of runs.
fn print_header() {
    println!(
        "{:<10} {:>5}  {:<38} {:>10} {:>12} {:>8} {:>8} {:>8} {:>10} {:>9} {:>11} {:>8}",
        "backend",
        "nodes",
        "scenario",
        "deliveries",
        "delivered/s",
        "p50",
        "p95",
        "p99",
        "peak RSS",
        "ceiling",
        "CPU/deliv.",
        "machine"
    );
}

/// The first three columns of a run's line: backend, nodes, scenario.
fn row_label(backend: Backend, nodes: usize, scenario: Scenario) -> String {
    format!(
        "{:<10} {:>5}  {:<38} ",
        backend.as_str(),
        nodes,
        scenario.label()
    )
}

/// One run's figures, with its rate as a share of the ceiling measured in
/// the same round.
struct Measured {
    row: Row,
    ceiling_pct: f64,
}

impl Measured {
    /// Every column after the label.
    fn columns(&self) -> String {
        let row = &self.row;
        format!(
            "{:>10} {:>12.0} {:>8} {:>8} {:>8} {:>7.1} MB {:>8.1}% {:>8.3} ms {:>6.0} %{}",
            row.deliveries,
            row.per_sec,
            ms(row.p50),
            ms(row.p95),
            ms(row.p99),
            row.peak_rss_mb,
            self.ceiling_pct,
            row.cpu_ms_per_delivery,
            row.machine_busy,
            if row.duplicates > 0 {
                format!("  ({} repeated)", row.duplicates)
            } else {
                String::new()
            },
        )
    }

    /// The median of each column over `runs` (at least one), taken column by
    /// column: with an odd number of runs, one slow run on a busy machine
    /// moves none of them.
    fn median(runs: &[Measured]) -> Measured {
        // With an even count, halfway between the two middle runs.
        fn mid(mut v: Vec<f64>) -> f64 {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            (v[(n - 1) / 2] + v[n / 2]) / 2.0
        }
        let col = |f: &dyn Fn(&Measured) -> f64| mid(runs.iter().map(f).collect());
        let dur =
            |f: fn(&Row) -> Duration| Duration::from_secs_f64(col(&|m| f(&m.row).as_secs_f64()));
        Measured {
            row: Row {
                deliveries: col(&|m| m.row.deliveries as f64).round() as u64,
                per_sec: col(&|m| m.row.per_sec),
                p50: dur(|r| r.p50),
                p95: dur(|r| r.p95),
                p99: dur(|r| r.p99),
                peak_rss_mb: col(&|m| m.row.peak_rss_mb),
                cpu_ms_per_delivery: col(&|m| m.row.cpu_ms_per_delivery),
                machine_busy: col(&|m| m.row.machine_busy),
                // The worst round's, not a median: any repeat is worth seeing.
                duplicates: runs.iter().map(|m| m.row.duplicates).max().unwrap_or(0),
            },
            ceiling_pct: col(&|m| m.ceiling_pct),
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A fresh database for one run, and how to drop it afterwards.
struct RunDb {
    url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

async fn fresh_db(backend: Backend) -> Result<RunDb, String> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            Ok(RunDb {
                url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                pg_name: None,
                _dir: Some(dir),
            })
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = hookline::testing::postgres_admin_url();
            let name = format!("hookline_bench_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            Ok(RunDb {
                url: format!("{base}/{name}"),
                pg_name: Some(name),
                _dir: None,
            })
        }
    }
}

async fn drop_db(db: RunDb) {
    if let Some(name) = db.pg_name {
        use sqlx::Connection;
        if let Ok(mut conn) =
            sqlx::PgConnection::connect(&hookline::testing::postgres_admin_url()).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// CPU seconds (user and system) a process has used so far, from /proc.
fn cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// The machine's busy and total CPU time so far (all cores, in clock
/// ticks), from the first line of /proc/stat; idle and I/O wait count as not busy.
fn machine_cpu() -> (u64, u64) {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().next()?.strip_prefix("cpu ")?;
            let ticks: Vec<u64> = line
                .split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal (guest time is inside user)
            let total: u64 = ticks.iter().take(8).sum();
            let idle = ticks.get(3)? + ticks.get(4)?;
            Some((total - idle, total))
        })
        .unwrap_or((0, 0))
}

/// Peak resident memory of a process, from /proc.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// About 1 KiB of event data.
/// One `payin.succeeded` event for `merchant`, as the ingest API takes it.
fn single_event(merchant: &str) -> Value {
    json!({ "merchant_id": merchant, "mode": "live", "type": "payin.succeeded",
            "data": payload(EventType::PayinSucceeded) })
}

/// POSTs `body` to the ingest API and answers its JSON reply; `what` names
/// the request in the error when the answer is not a success.
async fn publish(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
    what: &str,
) -> Result<Value, String> {
    let res = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("{what} answered {}", res.status()));
    }
    res.json().await.map_err(|e| e.to_string())
}

fn payload(t: EventType) -> Value {
    let mut data = sample_data(t, SystemClock.now_ms());
    data["merchant_reference"] = json!(format!("bench-{}", "x".repeat(560)));
    data
}

impl Bench {
    /// Requests per second a bare loop gets from the receivers.
    async fn ceiling(&self) -> f64 {
        let mut builder = reqwest::Client::builder().pool_max_idle_per_host(64);
        for r in &self.receivers {
            builder = builder.add_root_certificate(
                reqwest::Certificate::from_pem(r.cert_pem.as_bytes())
                    .expect("receiver certificate"),
            );
        }
        let client = builder.build().expect("client");
        let secret = SigningSecret::generate();
        let body = serde_json::to_vec(
            &json!({ "type": "payin.succeeded", "data": payload(EventType::PayinSucceeded) }),
        )
        .expect("body");
        let duration = Duration::from_secs(if self.quick { 2 } else { 5 });
        let count = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..64 {
            let (client, secret, body, count) =
                (client.clone(), secret.clone(), body.clone(), count.clone());
            let urls: Vec<String> = self.receivers.iter().map(|r| r.url.clone()).collect();
            tasks.push(tokio::spawn(async move {
                let mut n = worker;
                while start.elapsed() < duration {
                    let id = format!("evt_ceiling_{worker}_{n}");
                    let ts = SystemClock.now_ms() / 1000;
                    let res = client
                        .post(&urls[n % urls.len()])
                        .header("webhook-id", &id)
                        .header("webhook-timestamp", ts.to_string())
                        .header("webhook-signature", secret.sign(&id, ts, &body))
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    if res.is_ok_and(|r| r.status().is_success()) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 64;
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let rate = count.load(Ordering::SeqCst) as f64 / start.elapsed().as_secs_f64();
        self.arrivals.reset();
        rate
    }

    async fn run(&self, backend: Backend, nodes: usize, scenario: Scenario) -> Result<Row, String> {
        let run_db = fresh_db(backend).await?;
        let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        let token = format!("bench-token-{}", uuid::Uuid::new_v4().simple());
        let endpoints = if scenario == Scenario::FanOut10 {
            RECEIVERS
        } else {
            1
        };
        let merchant = self.prepare(&run_db.url, &key, endpoints).await?;

        let mut children: Vec<(Child, String)> = Vec::new();
        for _ in 0..nodes {
            let port = free_port();
            let child = Command::new(&self.server_bin)
                .arg("serve")
                .env("HOOKLINE_DATABASE_URL", &run_db.url)
                .env("HOOKLINE_LISTEN", format!("127.0.0.1:{port}"))
                .env("HOOKLINE_SECRET_KEY", &key)
                .env("HOOKLINE_INGEST_TOKEN", &token)
                .env("HOOKLINE_DEV_ALLOW_PRIVATE", "true")
                .env("HOOKLINE_EXTRA_ROOTS", &self.roots_file)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("starting {}: {e}", self.server_bin.display()))?;
            children.push((child, format!("http://127.0.0.1:{port}")));
        }
        let server_cpu = || -> f64 { children.iter().map(|(c, _)| cpu_secs(c.id())).sum() };
        let mut cpu_before = 0.0;
        let result = async {
            self.ready(&children).await?;
            self.warm_up(&children, &token, &merchant, endpoints)
                .await?;
            cpu_before = server_cpu();
            self.drive(&children, &token, &merchant, scenario).await
        }
        .await;
        let peak = children
            .iter()
            .map(|(c, _)| peak_rss_mb(c.id()))
            .fold(0.0, f64::max);
        let cpu = server_cpu() - cpu_before;
        for (mut child, _) in children {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop_db(run_db).await;
        self.arrivals.reset();
        result.map(|mut row| {
            row.peak_rss_mb = peak;
            row.cpu_ms_per_delivery = cpu * 1000.0 / row.deliveries.max(1) as f64;
            row
        })
    }

    /// A merchant with `endpoints` live endpoints, one per receiver.
    async fn prepare(&self, url: &str, key: &str, endpoints: usize) -> Result<String, String> {
        let db = Db::connect(url).await.map_err(|e| e.to_string())?;
        let clock = SystemClock;
        let key_bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or("key")?;
        let sbox = SecretBox::new(&key_bytes);
        let merchant = hookline::accounts::sign_up(
            &db,
            &clock,
            &SignupInput {
                business_name: "Bench Shop".into(),
                email: "bench@hookline.test".into(),
                password: "bench password 123".into(),
            },
        )
        .await
        .map_err(|e| e.to_string())?
        .merchant_id
        .ok_or("no merchant")?;
        for r in self.receivers.iter().take(endpoints) {
            let input = EndpointInput {
                url: r.url.clone(),
                event_types: vec!["payin.succeeded".into()],
                ..EndpointInput::default()
            };
            let rules = EndpointRules {
                allow_http: false,
                opt_in_approved: false,
            };
            hookline::endpoints::create(&db, &sbox, &clock, &merchant, Mode::Live, &input, rules)
                .await
                .map_err(|e| e.to_string())?;
        }
        db.close().await;
        Ok(merchant)
    }

    /// Waits until every node answers its readiness check.
    async fn ready(&self, nodes: &[(Child, String)]) -> Result<(), String> {
        for (_, base) in nodes {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if self
                    .http
                    .get(format!("{base}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("{base} did not become ready"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Publishes [`WARM_UP_EVENTS`] single events, 32 at a time round-robin
    /// across the nodes, and waits for their deliveries, so the measured run
    /// starts on warm database pools, statement caches and receiver
    /// connections, as a node that has been up a while would. Without it the
    /// first few hundred milliseconds of a fresh process set the p99 of the
    /// steady run.
    async fn warm_up(
        &self,
        nodes: &[(Child, String)],
        token: &str,
        merchant: &str,
        fan_out: usize,
    ) -> Result<(), String> {
        let body = single_event(merchant);
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..32 {
            let (http, body, token) = (self.http.clone(), body.clone(), token.to_owned());
            let url = format!("{}/internal/v1/events", nodes[worker % nodes.len()].1);
            tasks.spawn(async move {
                for _ in 0..WARM_UP_EVENTS / 32 {
                    publish(&http, &url, &token, &body, "warm-up publish").await?;
                }
                Ok::<(), String>(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| e.to_string())??;
        }
        self.arrivals
            .wait_for((WARM_UP_EVENTS * fan_out) as u64, Duration::from_secs(60))
            .await
            .map_err(|_| "the warm-up deliveries did not arrive in time".to_owned())?;
        self.arrivals.reset();
        Ok(())
    }

    async fn drive(
        &self,
        nodes: &[(Child, String)],
        token: &str,
        merchant: &str,
        scenario: Scenario,
    ) -> Result<Row, String> {
        let published: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let single = single_event(merchant);
        let (events, fan_out) = match scenario {
            Scenario::FanOut10 => (if self.quick { 500 } else { 6_000 }, RECEIVERS),
            Scenario::Single => (if self.quick { 1_000 } else { 20_000 }, 1),
            Scenario::Steady500 => (if self.quick { 2_000 } else { 10_000 }, 1),
        };
        let expected = (events * fan_out) as u64;
        let cpu_at_start = machine_cpu();
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::<Result<(), String>>::new();
        match scenario {
            Scenario::FanOut10 => {
                let batch: Vec<Value> = (0..100).map(|_| single.clone()).collect();
                let body = json!({ "events": batch });
                for worker in 0..4 {
                    let (http, body, published) =
                        (self.http.clone(), body.clone(), published.clone());
                    let url = format!("{}/internal/v1/events/batch", nodes[worker % nodes.len()].1);
                    let token = token.to_owned();
                    tasks.spawn(async move {
                        for _ in 0..(events / 100 / 4) {
                            let sent = Instant::now();
                            let v = publish(&http, &url, &token, &body, "batch publish").await?;
                            let mut p = published.lock().unwrap_or_else(|p| p.into_inner());
                            for e in v["events"].as_array().into_iter().flatten() {
                                p.insert(e["id"].as_str().unwrap_or_default().to_owned(), sent);
                            }
                        }
                        Ok(())
                    });
                }
            }
            Scenario::Single | Scenario::Steady500 => {
                let workers = 32;
                let gap = (scenario == Scenario::Steady500)
                    .then(|| Duration::from_micros(1_000_000 / 500 * workers as u64));
                for worker in 0..workers {
                    let (http, body, published) =
                        (self.http.clone(), single.clone(), published.clone());
                    let url = format!("{}/internal/v1/events", nodes[worker % nodes.len()].1);
                    let token = token.to_owned();
                    tasks.spawn(async move {
                        // Steady: each worker publishes on its own schedule, staggered.
                        let offset = gap
                            .map(|g| g * worker as u32 / workers as u32)
                            .unwrap_or_default();
                        for i in 0..(events / workers) {
                            if let Some(g) = gap {
                                let due = start + offset + g * i as u32;
                                tokio::time::sleep_until(due.into()).await;
                            }
                            let sent = Instant::now();
                            let v = publish(&http, &url, &token, &body, "publish").await?;
                            published
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(v["id"].as_str().unwrap_or_default().to_owned(), sent);
                        }
                        Ok(())
                    });
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| e.to_string())??;
        }
        let sent_events = published.lock().unwrap_or_else(|p| p.into_inner()).len();
        let expected = expected.min((sent_events * fan_out) as u64);
        self.arrivals
            .wait_for(expected, Duration::from_secs(180))
            .await
            .map_err(|arrived| {
                format!("only {arrived} of {expected} deliveries arrived in time")
            })?;
        let cpu_at_end = machine_cpu();
        let machine_busy = 100.0 * cpu_at_end.0.saturating_sub(cpu_at_start.0) as f64
            / cpu_at_end.1.saturating_sub(cpu_at_start.1).max(1) as f64;
        let published = published.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let seen = self
            .arrivals
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut latencies = Vec::with_capacity(expected as usize);
        let mut last = start;
        for per_receiver in &seen {
            for (id, at) in per_receiver {
                if let Some(sent) = published.get(id) {
                    latencies.push(at.saturating_duration_since(*sent));
                }
                last = last.max(*at);
            }
        }
        latencies.sort();
        let elapsed = last.duration_since(start).as_secs_f64().max(1e-6);
        Ok(Row {
            deliveries: expected,
            per_sec: expected as f64 / elapsed,
            p50: percentile(&latencies, 0.50),
            p95: percentile(&latencies, 0.95),
            p99: percentile(&latencies, 0.99),
            peak_rss_mb: 0.0,
            cpu_ms_per_delivery: 0.0,
            machine_busy,
            duplicates: self.arrivals.duplicates.load(Ordering::SeqCst),
        })
    }
}

/// Fills a database with `attempts` attempts (10 per delivery, one event per
/// delivery, spread over 20 endpoints) and times the two queries behind the
/// portal's delivery log: the latest page of one endpoint's deliveries, and
/// one event's attempts. Medians of 20 runs.
async fn log_query(backend: Backend, attempts: u64) -> Result<(u64, Duration, Duration), String> {
    let run_db = fresh_db(backend).await?;
    let db = Db::connect(&run_db.url).await.map_err(|e| e.to_string())?;
    let deliveries = attempts / 10;
    let series = |n: u64| match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < {}) ",
            n - 1
        ),
        Backend::Postgres => format!("WITH s(x) AS (SELECT generate_series(0, {})) ", n - 1),
    };
    let statements = [
        "INSERT INTO merchants (id, business_name, created_ms) VALUES ('mer_bench', 'Bench', 0)"
            .to_owned(),
        format!(
            "{}INSERT INTO endpoints (id, merchant_id, mode, url, description, payload_version, allowlist, enabled, created_ms, updated_ms) \
                 SELECT 'ep_' || x, 'mer_bench', 'live', 'https://example.com/' || x, '', '2026-09-01', '', TRUE, 0, 0 FROM s",
            series(20)
        ),
        format!(
            "{}INSERT INTO events (id, merchant_id, mode, event_type, resource_id, data, created_ms) \
                 SELECT 'evt_' || x, 'mer_bench', 'live', 'payin.succeeded', 'txn_' || x, '{{}}', x * 10 FROM s",
            series(deliveries)
        ),
        format!(
            "{}INSERT INTO deliveries (id, event_id, endpoint_id, merchant_id, status, attempts, next_attempt_ms, created_ms) \
                 SELECT 'dlv_' || x, 'evt_' || x, 'ep_' || (x % 20), 'mer_bench', 'failed', 10, 0, x * 10 FROM s",
            series(deliveries)
        ),
        format!(
            "{}INSERT INTO attempts (id, delivery_id, event_id, endpoint_id, attempt_no, started_ms, latency_ms, url, \
                   request_headers, payload_version, response_status, error_class) \
                 SELECT 'att_' || x, 'dlv_' || (x / 10), 'evt_' || (x / 10), 'ep_' || ((x / 10) % 20), x % 10 + 1, x, 25, \
                   'https://example.com/', '{{}}', '2026-09-01', 500, 'http_status' FROM s",
            series(attempts)
        ),
        "ANALYZE".to_owned(),
    ];
    for sql in &statements {
        hookline::on_db!(&db, |pool| {
            sqlx::query(sql)
                .execute(pool)
                .await
                .map_err(|e| format!("{e}: {sql}"))?;
        });
    }
    let time = |sql: &'static str, arg: &'static str| {
        let db = db.clone();
        async move {
            let mut runs = Vec::new();
            for _ in 0..20 {
                let t = Instant::now();
                let rows = hookline::on_db!(&db, |pool| {
                    sqlx::query(sql)
                        .bind(arg)
                        .fetch_all(pool)
                        .await
                        .map_err(|e| e.to_string())?
                        .len()
                });
                std::hint::black_box(rows);
                runs.push(t.elapsed());
            }
            runs.sort();
            Ok::<Duration, String>(runs[10])
        }
    };
    let list = time(
        "SELECT d.id, d.status, d.attempts, e.event_type, e.created_ms FROM deliveries d \
         JOIN events e ON e.id = d.event_id WHERE d.endpoint_id = $1 ORDER BY d.created_ms DESC LIMIT 50",
        "ep_7",
    )
    .await?;
    let detail = time(
        "SELECT id, attempt_no, started_ms, latency_ms, response_status, error_class, request_headers, response_body \
         FROM attempts WHERE delivery_id = $1 ORDER BY attempt_no",
        "dlv_4242",
    )
    .await?;
    db.close().await;
    drop_db(run_db).await;
    Ok((attempts, list, detail))
}
