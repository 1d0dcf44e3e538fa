//! `make bench`: how fast Hookline delivers, measured end to end.
//!
//! Starts HTTPS receivers on loopback, then for SQLite with one node and
//! PostgreSQL with one and three nodes runs real `server` processes, warms
//! them up, publishes through the ingest API and times each event from
//! publish to arrival. It
//! also measures the ceiling (a bare loop that signs and POSTs to the same
//! receivers over reused connections, storing nothing) and the portal's
//! delivery-log calls with a million attempts in the database. Figures are
//! printed, not asserted. `HOOKLINE_BENCH_QUICK=1` runs a shorter version;
//! `HOOKLINE_BENCH_ONLY=sqlite-1-fanout,postgres-3` only the runs named
//! (`log` for the delivery-log figures);
//! `HOOKLINE_BENCH_ROUNDS=3` everything three times, then the medians.

use base64::Engine;
use hookline::SignupInput;
use hookline::clock::{Clock, SystemClock};
use hookline::crypto::SecretBox;
use hookline::endpoint::{EndpointInput, EndpointRules};
use hookline::events::EventType;
use hookline::events::samples::sample_data;
use hookline::logs::LogQuery;
use hookline::mode::Mode;
use hookline::signing::SigningSecret;
use hookline::store::{Backend, Db};
use hookline::testing::receiver::{Behaviour, Captured, TlsReceiver};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RECEIVERS: usize = 10;
/// Events published to each node before each measured run and left out of
/// its figures.
const WARM_UP_EVENTS: usize = 640;
/// The steady scenario's offered load, events per second.
const STEADY_RATE: u64 = 500;

/// Each delivery's first arrival, by receiver and webhook-id.
#[derive(Default)]
struct Arrivals {
    state: Mutex<ArrivalState>,
}

#[derive(Default)]
struct ArrivalState {
    /// Per receiver: webhook-id → first arrival, and how many times it came.
    seen: Vec<HashMap<String, (Instant, u32)>>,
    /// The webhook-ids being waited for: only what this run published, so
    /// a late repeat of an earlier run's delivery cannot stand in for one.
    wanted: HashSet<String>,
    /// Deliveries of `wanted` ids that have arrived (first arrivals only).
    arrived: u64,
}

impl Arrivals {
    fn lock(&self) -> std::sync::MutexGuard<'_, ArrivalState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, receiver: usize, request: &Captured) {
        let now = Instant::now();
        let Some(id) = request.header("webhook-id") else {
            return;
        };
        let mut state = self.lock();
        let state = &mut *state;
        match state.seen[receiver].entry(id.to_owned()) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().1 += 1,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((now, 1));
                if state.wanted.contains(id) {
                    state.arrived += 1;
                }
            }
        }
    }

    /// Waits until `expected` deliveries of the events `ids` have arrived
    /// (counting those already in); on timeout, answers how many had.
    async fn wait_for(
        &self,
        ids: HashSet<String>,
        expected: u64,
        timeout: Duration,
    ) -> Result<(), u64> {
        {
            let mut state = self.lock();
            state.arrived = state
                .seen
                .iter()
                .map(|r| r.keys().filter(|id| ids.contains(*id)).count() as u64)
                .sum();
            state.wanted = ids;
        }
        let deadline = Instant::now() + timeout;
        loop {
            let arrived = self.lock().arrived;
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
        *self.lock() = ArrivalState {
            seen: vec![HashMap::new(); RECEIVERS],
            ..ArrivalState::default()
        };
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// Each event fans out to 10 endpoints; batch publishes, as fast as possible.
    FanOut10,
    /// One endpoint, one event per publish, as fast as possible.
    Single,
    /// One endpoint, [`STEADY_RATE`] single publishes a second.
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
    /// For a steady run, no capacity: it delivers what it is offered.
    per_sec: f64,
    p50: Duration,
    p95: Duration,
    p99: Duration,
    nodes: usize,
    /// The largest of the nodes' peak resident memory (VmHWM).
    largest_rss_mb: f64,
    /// The nodes' peaks added up (each node's own peak, not one moment's).
    rss_sum_mb: f64,
    /// Server CPU time (all nodes, warm-up left out) per delivery: steadier
    /// than the rates on a machine that is also running the receivers.
    cpu_ms_per_delivery: f64,
    /// PostgreSQL's CPU time in the same window per delivery; `None` on
    /// SQLite, whose work is inside the server and counted above.
    db_cpu_ms_per_delivery: Option<f64>,
    /// Share of the whole machine's CPU time that was busy during the run
    /// (server, database, receivers and publishers together): near 100 %,
    /// more processes cannot deliver more.
    machine_busy: f64,
    /// Deliveries of this run's events that arrived more than once.
    duplicates: u64,
    /// Connections (each a TLS handshake) the receivers accepted during the
    /// measured run, after the warm-up: the nodes' pools were not yet as
    /// large as the run needed.
    new_connections: u64,
    /// Steady runs: the publish rate achieved against the schedule.
    published_per_sec: Option<f64>,
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
        "machine: {} cores; receivers: {RECEIVERS} HTTPS servers on loopback; payloads about 1 KiB",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    print_legend();
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
                        // A steady run's rate is its offered load, not a
                        // capacity: a ratio to the ceiling would mean nothing.
                        let ceiling_pct = (row.published_per_sec.is_none())
                            .then(|| 100.0 * row.per_sec / ceiling);
                        let run = Measured { row, ceiling_pct };
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
    // The delivery-log figures are the run named `log`.
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if only.as_ref().is_some_and(|o| !o.iter().any(|f| f == "log")) {
            break;
        }
        match log_query(backend, if quick { 100_000 } else { 1_000_000 }).await {
            Ok(lines) => println!("{lines}"),
            Err(e) => println!("delivery log on {}: failed: {e}", backend.as_str()),
        }
    }
}

/// What the less obvious columns mean, once before the tables.
fn print_legend() {
    println!(
        "largest RSS: the largest node's peak resident memory (VmHWM); RSS sum: the nodes' peaks added up (3-node rows)\n\
         CPU/deliv.: the server processes' CPU time per delivery; db CPU/deliv.: PostgreSQL's processes' \
         (\"-\" on SQLite, whose work is inside the server)\n\
         * steady rows are offered {STEADY_RATE} events/s and deliver that, so their delivered/s is the offered rate \
         and has no ceiling ratio; their latency counts from each publish's scheduled time\n"
    );
}

/// The column names of a table of runs.
fn print_header() {
    println!(
        "{:<10} {:>5}  {:<38} {:>10} {:>12} {:>8} {:>8} {:>8} {:>11} {:>9} {:>9} {:>11} {:>13} {:>8}",
        "backend",
        "nodes",
        "scenario",
        "deliveries",
        "delivered/s",
        "p50",
        "p95",
        "p99",
        "largest RSS",
        "RSS sum",
        "ceiling",
        "CPU/deliv.",
        "db CPU/deliv.",
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
/// the same round (none for a steady run).
struct Measured {
    row: Row,
    ceiling_pct: Option<f64>,
}

impl Measured {
    /// Every column after the label.
    fn columns(&self) -> String {
        let row = &self.row;
        let delivered = match row.published_per_sec {
            Some(_) => format!("{:.0}*", row.per_sec),
            None => format!("{:.0}", row.per_sec),
        };
        let rss_sum = if row.nodes > 1 {
            format!("{:.1} MB", row.rss_sum_mb)
        } else {
            "-".to_owned()
        };
        let ceiling = self
            .ceiling_pct
            .map_or_else(|| "-".to_owned(), |p| format!("{p:.1}%"));
        let db_cpu = row
            .db_cpu_ms_per_delivery
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.3} ms"));
        let mut notes = String::new();
        if row.duplicates > 0 {
            notes.push_str(&format!("  ({} repeated)", row.duplicates));
        }
        if row.new_connections > 0 {
            notes.push_str(&format!("  ({} new connections)", row.new_connections));
        }
        if let Some(rate) = row.published_per_sec {
            // Half a percent short is the timer's granularity; more is a
            // publisher that could not keep up.
            if rate < STEADY_RATE as f64 * 0.995 {
                notes.push_str(&format!(
                    "  (published {rate:.0}/s: short of {STEADY_RATE}/s)"
                ));
            } else {
                notes.push_str(&format!("  (published {rate:.0}/s)"));
            }
        }
        format!(
            "{:>10} {:>12} {:>8} {:>8} {:>8} {:>8.1} MB {:>9} {:>9} {:>8.3} ms {:>13} {:>6.0} %{notes}",
            row.deliveries,
            delivered,
            ms(row.p50, 1),
            ms(row.p95, 1),
            ms(row.p99, 1),
            row.largest_rss_mb,
            rss_sum,
            ceiling,
            row.cpu_ms_per_delivery,
            db_cpu,
            row.machine_busy,
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
        // Over the runs that have the figure; none if none has it.
        fn mid_of(v: Vec<Option<f64>>) -> Option<f64> {
            let v: Vec<f64> = v.into_iter().flatten().collect();
            (!v.is_empty()).then(|| mid(v))
        }
        let col = |f: &dyn Fn(&Measured) -> f64| mid(runs.iter().map(f).collect());
        let opt = |f: &dyn Fn(&Measured) -> Option<f64>| mid_of(runs.iter().map(f).collect());
        let dur =
            |f: fn(&Row) -> Duration| Duration::from_secs_f64(col(&|m| f(&m.row).as_secs_f64()));
        Measured {
            row: Row {
                deliveries: col(&|m| m.row.deliveries as f64).round() as u64,
                per_sec: col(&|m| m.row.per_sec),
                p50: dur(|r| r.p50),
                p95: dur(|r| r.p95),
                p99: dur(|r| r.p99),
                nodes: runs[0].row.nodes,
                largest_rss_mb: col(&|m| m.row.largest_rss_mb),
                rss_sum_mb: col(&|m| m.row.rss_sum_mb),
                cpu_ms_per_delivery: col(&|m| m.row.cpu_ms_per_delivery),
                db_cpu_ms_per_delivery: opt(&|m| m.row.db_cpu_ms_per_delivery),
                machine_busy: col(&|m| m.row.machine_busy),
                // The worst round's, not a median: any repeat, or any round
                // whose publishers fell behind, is worth seeing.
                duplicates: runs.iter().map(|m| m.row.duplicates).max().unwrap_or(0),
                new_connections: runs
                    .iter()
                    .map(|m| m.row.new_connections)
                    .max()
                    .unwrap_or(0),
                published_per_sec: runs
                    .iter()
                    .filter_map(|m| m.row.published_per_sec)
                    .reduce(f64::min),
            },
            ceiling_pct: opt(&|m| m.ceiling_pct),
        }
    }
}

/// `d` in milliseconds with `places` decimals.
fn ms(d: Duration, places: usize) -> String {
    format!("{:.places$} ms", d.as_secs_f64() * 1000.0)
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
            let admin = hookline::testing::postgres_admin_url();
            let name = format!("hookline_bench_{}", uuid::Uuid::new_v4().simple());
            on_admin(&format!("CREATE DATABASE {name}"))
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

/// Writes PostgreSQL's dirty pages out before a measured run, so every row
/// starts alike. With default settings the next checkpoint comes after about
/// 500 MB of WAL and a fan-out row writes about 200 MB, so no row pays for
/// one left due by the row before it (after a checkpoint each page's first
/// change is logged whole). A role that may not run it gets a warning, and
/// the row runs anyway.
async fn checkpoint() {
    if let Err(e) = on_admin("CHECKPOINT").await {
        eprintln!("warning: no CHECKPOINT before this row, so it may include one: {e}");
    }
}

async fn drop_db(db: RunDb) {
    if let Some(name) = db.pg_name {
        let _ = on_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    }
}

/// Runs one statement on PostgreSQL's admin database, over a connection of its own.
async fn on_admin(sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&hookline::testing::postgres_admin_url()).await?;
    sqlx::query(sql).execute(&mut conn).await?;
    Ok(())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// CPU seconds (user and system) a process has used so far, from /proc.
fn cpu_secs(pid: u32) -> f64 {
    stat_ticks(format!("/proc/{pid}/stat"), 11..13).unwrap_or(0.0) / 100.0
}

/// The clock ticks in `fields` of a process's /proc stat file added up,
/// counting fields after the command name (which is in parentheses):
/// 11..13 are its own user and system time, 13..15 its reaped children's.
fn stat_ticks(path: impl AsRef<std::path::Path>, fields: std::ops::Range<usize>) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let all: Vec<&str> = rest.split_whitespace().collect();
    all.get(fields)?.iter().map(|f| f.parse::<f64>().ok()).sum()
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

/// CPU seconds all PostgreSQL processes on this machine have used so far,
/// or `None` when there are none (a server elsewhere). A process's reaped
/// children count too, so backends and autovacuum workers that exit
/// during a run are not lost from the difference.
fn postgres_cpu() -> Option<f64> {
    let mut found = false;
    let mut ticks = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let path = entry.path();
        if std::fs::read_to_string(path.join("comm")).is_ok_and(|c| c.trim_end() == "postgres") {
            found = true;
            ticks += stat_ticks(path.join("stat"), 11..15).unwrap_or(0.0);
        }
    }
    found.then_some(ticks / 100.0)
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

/// About 1 KiB of event data.
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
        // On SQLite the database's work is inside the server, counted there.
        let db_cpu = || match backend {
            Backend::Postgres => postgres_cpu(),
            Backend::Sqlite => None,
        };
        let mut cpu_before = 0.0;
        let mut db_cpu_before = None;
        let result = async {
            self.ready(&children).await?;
            self.warm_up(&children, &token, &merchant, endpoints)
                .await?;
            if backend == Backend::Postgres {
                checkpoint().await;
            }
            cpu_before = server_cpu();
            db_cpu_before = db_cpu();
            let connections_before = self.connections();
            let mut row = self.drive(&children, &token, &merchant, scenario).await?;
            row.new_connections = (self.connections() - connections_before) as u64;
            Ok(row)
        }
        .await;
        let cpu = server_cpu() - cpu_before;
        let db_cpu_used = db_cpu_before.zip(db_cpu()).map(|(b, a)| a - b);
        let rss: Vec<f64> = children.iter().map(|(c, _)| peak_rss_mb(c.id())).collect();
        for (mut child, _) in children {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop_db(run_db).await;
        self.arrivals.reset();
        result.map(|mut row| {
            let per = |secs: f64| secs * 1000.0 / row.deliveries.max(1) as f64;
            row.nodes = nodes;
            row.largest_rss_mb = rss.iter().copied().fold(0.0, f64::max);
            row.rss_sum_mb = rss.iter().sum();
            row.cpu_ms_per_delivery = per(cpu);
            row.db_cpu_ms_per_delivery = db_cpu_used.map(per);
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

    /// Publishes [`WARM_UP_EVENTS`] single events to each node, 32 at a time
    /// on each, and waits for their deliveries, so the measured run
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
        let ids: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        // As many publishers on each node as one node alone gets, so each
        // node's connection pools grow to what a run at full rate uses
        // (with 32 in all, three nodes opened over a thousand connections,
        // each a TLS handshake, during the measured fan-out run).
        for worker in 0..32 * nodes.len() {
            let (http, body, token, ids) = (
                self.http.clone(),
                body.clone(),
                token.to_owned(),
                ids.clone(),
            );
            let url = format!("{}/internal/v1/events", nodes[worker % nodes.len()].1);
            tasks.spawn(async move {
                for _ in 0..WARM_UP_EVENTS / 32 {
                    let v = publish(&http, &url, &token, &body, "warm-up publish").await?;
                    let id = published_id(&v)?;
                    ids.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
                }
                Ok::<(), String>(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| e.to_string())??;
        }
        let ids = std::mem::take(&mut *ids.lock().unwrap_or_else(|p| p.into_inner()));
        let expected = (ids.len() * fan_out) as u64;
        self.arrivals
            .wait_for(ids, expected, Duration::from_secs(60))
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
        // Event id → when its clock started: the request's start, or for a
        // steady run the time the schedule set, so a late publish counts
        // its lateness.
        let published: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let single = single_event(merchant);
        let (events, fan_out) = match scenario {
            Scenario::FanOut10 => (if self.quick { 500 } else { 6_000 }, RECEIVERS),
            Scenario::Single => (if self.quick { 1_000 } else { 20_000 }, 1),
            Scenario::Steady500 => (if self.quick { 2_000 } else { 10_000 }, 1),
        };
        let cpu_at_start = machine_cpu();
        let start = Instant::now();
        // Nanoseconds from `start` to the last publish sent, for the rate
        // the steady publishers achieved.
        let last_sent = Arc::new(AtomicU64::new(0));
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
                            let ids = v["events"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(published_id)
                                .collect::<Result<Vec<_>, _>>()?;
                            let mut p = published.lock().unwrap_or_else(|p| p.into_inner());
                            for id in ids {
                                p.insert(id, sent);
                            }
                        }
                        Ok(())
                    });
                }
            }
            Scenario::Single | Scenario::Steady500 => {
                let workers = 32;
                let gap = (scenario == Scenario::Steady500)
                    .then(|| Duration::from_micros(1_000_000 / STEADY_RATE * workers as u64));
                for worker in 0..workers {
                    let (http, body, published, last_sent) = (
                        self.http.clone(),
                        single.clone(),
                        published.clone(),
                        last_sent.clone(),
                    );
                    let url = format!("{}/internal/v1/events", nodes[worker % nodes.len()].1);
                    let token = token.to_owned();
                    tasks.spawn(async move {
                        // Steady: each worker publishes on its own schedule, staggered.
                        let offset = gap
                            .map(|g| g * worker as u32 / workers as u32)
                            .unwrap_or_default();
                        for i in 0..(events / workers) {
                            let due = gap.map(|g| start + offset + g * i as u32);
                            if let Some(due) = due {
                                tokio::time::sleep_until(due.into()).await;
                            }
                            let sent = Instant::now();
                            last_sent.fetch_max(
                                sent.duration_since(start).as_nanos() as u64,
                                Ordering::Relaxed,
                            );
                            let v = publish(&http, &url, &token, &body, "publish").await?;
                            let id = published_id(&v)?;
                            published
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .insert(id, due.unwrap_or(sent));
                        }
                        Ok(())
                    });
                }
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.map_err(|e| e.to_string())??;
        }
        let published = std::mem::take(&mut *published.lock().unwrap_or_else(|p| p.into_inner()));
        let expected = (published.len() * fan_out) as u64;
        let published_per_sec = (scenario == Scenario::Steady500).then(|| {
            // On schedule, the last publish goes one gap before the end of
            // the `events / rate` seconds the schedule spans.
            let span = Duration::from_nanos(last_sent.load(Ordering::Relaxed))
                + Duration::from_micros(1_000_000 / STEADY_RATE);
            published.len() as f64 / span.as_secs_f64()
        });
        self.arrivals
            .wait_for(
                published.keys().cloned().collect(),
                expected,
                Duration::from_secs(180),
            )
            .await
            .map_err(|arrived| {
                format!("only {arrived} of {expected} deliveries arrived in time")
            })?;
        let cpu_at_end = machine_cpu();
        let machine_busy = 100.0 * cpu_at_end.0.saturating_sub(cpu_at_start.0) as f64
            / cpu_at_end.1.saturating_sub(cpu_at_start.1).max(1) as f64;
        let mut latencies = Vec::with_capacity(expected as usize);
        let mut last = start;
        let mut duplicates = 0;
        for per_receiver in &self.arrivals.lock().seen {
            for (id, (at, times)) in per_receiver {
                // Anything else is a late repeat of a warm-up delivery.
                if let Some(sent) = published.get(id) {
                    latencies.push(at.saturating_duration_since(*sent));
                    last = last.max(*at);
                    duplicates += u64::from(times - 1);
                }
            }
        }
        if latencies.len() as u64 != expected {
            return Err(format!(
                "{} deliveries of this run's events arrived, {expected} expected",
                latencies.len()
            ));
        }
        latencies.sort();
        let elapsed = last.duration_since(start).as_secs_f64().max(1e-6);
        Ok(Row {
            deliveries: expected,
            per_sec: expected as f64 / elapsed,
            p50: percentile(&latencies, 0.50),
            p95: percentile(&latencies, 0.95),
            p99: percentile(&latencies, 0.99),
            nodes: 0,
            largest_rss_mb: 0.0,
            rss_sum_mb: 0.0,
            cpu_ms_per_delivery: 0.0,
            db_cpu_ms_per_delivery: None,
            machine_busy,
            duplicates,
            new_connections: 0,
            published_per_sec,
        })
    }

    /// Connections all receivers have accepted so far.
    fn connections(&self) -> usize {
        self.receivers.iter().map(|r| r.connections()).sum()
    }
}

/// The id in one event of the ingest API's answer.
fn published_id(v: &Value) -> Result<String, String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the ingest API answered without an event id: {v}"))
}

/// The delivery-log data set: this many merchants, each with this many
/// endpoints in each mode, all of much the same size.
const LOG_MERCHANTS: u64 = 20;
const LOG_ENDPOINTS_PER_MODE: u64 = 5;
/// The merchant whose log is read (in live mode), and which of its live
/// endpoints the endpoint filter picks: typical ones, not the only ones.
const LOG_MERCHANT: u64 = 7;
const LOG_ENDPOINT: u64 = 2;
/// Event types by share of events, in percent.
const LOG_TYPES: [(EventType, u64); 6] = [
    (EventType::PayinSucceeded, 45),
    (EventType::PayinFailed, 15),
    (EventType::RefundUpdated, 13),
    (EventType::PayoutUpdated, 13),
    (EventType::ApiError, 10),
    (EventType::BalanceThresholdWarning, 4),
];
/// Endpoints an event goes to, by share of events in percent (2.25 on average).
const LOG_FAN_OUT: [(u64, u64); 5] = [(1, 40), (2, 25), (3, 15), (4, 10), (5, 10)];
/// Attempts per event: fan-out times attempts per delivery (1.106 on
/// average, from the outcomes in [`outcome_sql`]).
const LOG_ATTEMPTS_PER_EVENT: f64 = 2.25 * 1.106;
/// Timed calls of each kind (after one untimed), of which the median is printed.
const LOG_RUNS: usize = 21;

/// `expr` as a repeatable pseudo-random number in `0..1000003`; each
/// `multiplier` gives an unrelated one. The square keeps consecutive
/// values apart: a product alone moves by the same step each time, so
/// neighbouring events would never share a merchant.
fn hash(expr: &str, multiplier: u64) -> String {
    let h = format!("((CAST(({expr}) AS BIGINT) * {multiplier}) % 1000003)");
    format!("(({h} * {h} + {h}) % 1000003)")
}

/// `expr` (a non-negative integer) as `width` digits, zero-padded, in the
/// SQL both backends share.
fn pad(expr: &str, width: usize) -> String {
    let zeros = "0".repeat(width);
    format!("substr('{zeros}' || CAST(({expr}) AS TEXT), length(CAST(({expr}) AS TEXT)) + 1)")
}

/// A Hookline id: the prefix, then 32 characters that sort by `ms` first,
/// like a UUIDv7's.
fn id_sql(prefix: &str, ms: &str, number: &str) -> String {
    format!("'{prefix}_' || {} || {}", pad(ms, 13), pad(number, 19))
}

/// A text literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `CASE WHEN {value} < {first bound} THEN {first} …`: `value` (in
/// `0..100`) mapped through cumulative percentages.
fn by_share<T: std::fmt::Display>(value: &str, shares: &[(T, u64)]) -> String {
    let mut sql = String::from("(CASE");
    let mut bound = 0;
    for (then, share) in &shares[..shares.len() - 1] {
        bound += share;
        sql.push_str(&format!(" WHEN {value} < {bound} THEN {then}"));
    }
    sql.push_str(&format!(" ELSE {} END)", shares[shares.len() - 1].0));
    sql
}

/// How much of the data set a row source spans.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Span {
    /// `x` in `0..count`.
    Rows,
    /// Every delivery: `x` (the event), `k` (which of its deliveries).
    Deliveries,
    /// Every attempt: `x`, `k` and `n` (the attempt's number).
    Attempts,
}

/// The `WITH` clause (SQLite) and the `FROM … WHERE …` that generate the
/// rows of `span` for `count` events or rows, in each backend's way.
fn rows_sql(backend: Backend, count: u64, span: Span) -> (String, String) {
    let fan_out = by_share(&format!("{} % 100", hash("x", 668_265_263)), &LOG_FAN_OUT);
    let tries = tries_sql(&outcome_sql());
    let last = count - 1;
    match backend {
        Backend::Postgres => {
            let mut from = format!("FROM generate_series(0, {last}) AS s(x)");
            if span != Span::Rows {
                from.push_str(&format!(
                    " CROSS JOIN LATERAL generate_series(0, {fan_out} - 1) AS f(k)"
                ));
            }
            if span == Span::Attempts {
                from.push_str(&format!(
                    " CROSS JOIN LATERAL generate_series(1, {tries}) AS a(n)"
                ));
            }
            (String::new(), from)
        }
        Backend::Sqlite => {
            let numbers = |r: std::ops::RangeInclusive<usize>| {
                r.map(|i| format!("({i})")).collect::<Vec<_>>().join(", ")
            };
            let with = format!(
                "WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < {last}), \
                 f(k) AS (VALUES {}), a(n) AS (VALUES {}) ",
                numbers(0..=LOG_FAN_OUT[LOG_FAN_OUT.len() - 1].0 as usize - 1),
                numbers(1..=max_attempts()),
            );
            // CROSS JOIN keeps this order: one pass over the events, each
            // joined to its few deliveries and attempts.
            let from = match span {
                Span::Rows => "FROM s".to_owned(),
                Span::Deliveries => format!("FROM s CROSS JOIN f WHERE k < {fan_out}"),
                Span::Attempts => {
                    format!("FROM s CROSS JOIN f CROSS JOIN a WHERE k < {fan_out} AND n <= {tries}")
                }
            };
            (with, from)
        }
    }
}

fn max_attempts() -> usize {
    hookline::retry::RetrySchedule::default().max_attempts()
}

/// A delivery's outcome, `0..1000`, from its event `x` and number `k`:
/// below 950 delivered at the first attempt, below 980 at the second,
/// below 990 at the third to fifth; below 994 still retrying after one to
/// three; the rest failed after every attempt.
fn outcome_sql() -> String {
    format!("({} % 1000)", hash("x * 8 + k", 374_761_393))
}

/// How many attempts a delivery with outcome `o` has had.
fn tries_sql(o: &str) -> String {
    format!(
        "(CASE WHEN {o} < 950 THEN 1 WHEN {o} < 980 THEN 2 WHEN {o} < 990 THEN 3 + {o} % 3 \
         WHEN {o} < 994 THEN 1 + {o} % 3 ELSE {} END)",
        max_attempts()
    )
}

/// Milliseconds from a delivery's creation to its attempt `n` (from 1), on
/// the default retry schedule.
fn retry_offset_sql(n: &str) -> String {
    let mut sql = format!("(CASE {n} WHEN 1 THEN 0");
    let mut at = 0;
    for (i, delay) in hookline::retry::DEFAULT_DELAYS.iter().enumerate() {
        at += delay.as_millis();
        sql.push_str(&format!(" WHEN {} THEN {at}", i + 2));
    }
    sql.push_str(" END)");
    sql
}

/// What the data set holds, and what the timed calls look at.
struct LogData {
    events: u64,
    deliveries: u64,
    attempts: u64,
    merchant: String,
    endpoint: String,
    /// The middle of the data set's time span.
    middle_ms: i64,
}

/// Fills a fresh database with about `attempts` attempts shaped like a
/// live Hookline's: events of every type over two days, several in the
/// same millisecond, from [`LOG_MERCHANTS`] merchants in both modes, each
/// sent to one to five endpoints; most deliveries succeed at the first
/// attempt, some after retries on the default schedule, a few are still
/// retrying or failed after every attempt. Attempts carry the headers the
/// dispatcher logs and a response where there was one. The indexes are the
/// migrations'; statements generate the rows inside the database, which is
/// much faster than sending them.
async fn log_data(db: &Db, backend: Backend, attempts: u64) -> Result<LogData, String> {
    let events = ((attempts as f64 / LOG_ATTEMPTS_PER_EVENT).round() as u64).max(1);
    let now = SystemClock.now_ms();
    // Four events every two seconds; the newest more than a day old, so
    // even a failed delivery's last attempt is in the past.
    let span_ms = (events as i64 / 4) * 2000;
    let start = now - span_ms - 2 * 86_400_000;
    let created = start - 90 * 86_400_000;
    let merchant_of = |n: &str| format!("'mer_{created:013}' || {}", pad(n, 19));
    let endpoint_of = |n: &str| format!("'ep_{created:013}' || {}", pad(n, 19));
    let url = "'https://hooks.shop' || CAST(m AS TEXT) || '.example/' || \
               (CASE mi WHEN 0 THEN 'live' ELSE 'sandbox' END) || '/hookline-' || CAST(j AS TEXT)";
    let mode = "(CASE mi WHEN 0 THEN 'live' ELSE 'sandbox' END)";
    let per_merchant = 2 * LOG_ENDPOINTS_PER_MODE;
    let endpoint_no = format!("m * {per_merchant} + mi * {LOG_ENDPOINTS_PER_MODE} + j");
    // Columns every event's rows share: its time, merchant and mode (85 % live).
    let ms = format!("({start} + CAST(x AS BIGINT) / 4 * 2000)");
    let merchant = format!("({} % {LOG_MERCHANTS})", hash("x", 2_654_435_761));
    let mode_no = format!(
        "(CASE WHEN {} % 100 < 85 THEN 0 ELSE 1 END)",
        hash("x", 2_246_822_519)
    );
    let slot = format!("((x + k) % {LOG_ENDPOINTS_PER_MODE})");
    let version = lit(hookline::events::versions::latest());
    let event_id = id_sql("evt", "ms", "x");
    let delivery_id = id_sql("dlv", "ms", "x * 8 + k");

    let mut statements: Vec<(&str, String)> = Vec::new();
    let (with, from) = rows_sql(backend, LOG_MERCHANTS, Span::Rows);
    statements.push((
        "merchants",
        format!(
            "{with}INSERT INTO merchants (id, business_name, created_ms) \
             SELECT {}, 'Shop ' || CAST(x AS TEXT), {created} {from}",
            merchant_of("x")
        ),
    ));
    let (with, from) = rows_sql(backend, LOG_MERCHANTS * per_merchant, Span::Rows);
    statements.push((
        "endpoints",
        format!(
            "{with}INSERT INTO endpoints (id, merchant_id, mode, url, description, payload_version, \
               allowlist, enabled, created_ms, updated_ms) \
             SELECT {}, {}, {mode}, {url}, '', {version}, '', TRUE, {created}, {created} \
             FROM (SELECT x, x / {per_merchant} AS m, x % {per_merchant} / {LOG_ENDPOINTS_PER_MODE} AS mi, \
               x % {LOG_ENDPOINTS_PER_MODE} AS j {from}) AS q",
            endpoint_of("x"),
            merchant_of("m"),
        ),
    ));
    let type_no = by_share(
        &format!("{} % 100", hash("x", 3_266_489_917)),
        &LOG_TYPES
            .iter()
            .enumerate()
            .map(|(i, (_, share))| (i, *share))
            .collect::<Vec<_>>(),
    );
    let type_name = |i: usize| lit(LOG_TYPES[i].0.as_str());
    let type_data = |i: usize| lit(&sample_data(LOG_TYPES[i].0, start).to_string());
    let case_type = |f: &dyn Fn(usize) -> String| {
        let arms: String = (0..LOG_TYPES.len())
            .map(|i| format!(" WHEN {i} THEN {}", f(i)))
            .collect();
        format!("(CASE t{arms} END)")
    };
    let (with, from) = rows_sql(backend, events, Span::Rows);
    statements.push((
        "events",
        format!(
            "{with}INSERT INTO events (id, merchant_id, mode, event_type, resource_id, data, created_ms, feed_seq) \
             SELECT {event_id}, {}, {mode}, {}, {}, {}, ms, x + 1 \
             FROM (SELECT x, {ms} AS ms, {merchant} AS m, {mode_no} AS mi, {type_no} AS t, {} AS h {from}) AS q",
            merchant_of("m"),
            case_type(&type_name),
            // The transaction (or payout, refund) came a little before its event.
            id_sql("txn", "ms - h % 60000", "h"),
            case_type(&type_data),
            hash("x", 3_575_866_079),
        ),
    ));
    let tries = tries_sql("o");
    let (with, from) = rows_sql(backend, events, Span::Deliveries);
    statements.push((
        "deliveries",
        format!(
            "{with}INSERT INTO deliveries (id, event_id, endpoint_id, merchant_id, status, attempts, \
               next_attempt_ms, created_ms) \
             SELECT {delivery_id}, {event_id}, {}, {}, \
               (CASE WHEN o < 990 THEN 'succeeded' WHEN o < 994 THEN 'pending' ELSE 'failed' END), {tries}, \
               (CASE WHEN o >= 990 AND o < 994 THEN ms + {} ELSE ms END), ms \
             FROM (SELECT x, k, {ms} AS ms, {merchant} AS m, {mode_no} AS mi, {slot} AS j, \
               {} AS o {from}) AS q",
            endpoint_of(&endpoint_no),
            merchant_of("m"),
            retry_offset_sql(&format!("{tries} + 1")),
            outcome_sql(),
        ),
    ));
    // What the dispatcher logs: its request headers (about 230 bytes), and
    // the receiver's answer when there was one.
    let request_headers = format!(
        "'{{\"content-type\":\"application/json\",\"user-agent\":\"{}\",\"webhook-id\":\"' || {event_id} || \
         '\",\"webhook-signature\":\"v1,' || {} || 'A=\",\"webhook-timestamp\":\"' || \
         CAST(started / 1000 AS TEXT) || '\"}}'",
        hookline::dispatch::client::USER_AGENT.replace('\'', "''"),
        // 42 digits and `A=`: as long as a base64 HMAC-SHA256.
        [
            2_654_435_761u64,
            2_246_822_519,
            3_266_489_917,
            668_265_263,
            374_761_393,
            1_181_783_497,
        ]
        .iter()
        .map(|m| pad(&hash("an", *m), 7))
        .collect::<Vec<_>>()
        .join(" || "),
    );
    let date = "Thu, 01 Jan 2026 00:00:00 GMT";
    let json_headers = lit(&format!(
        "{{\"content-length\":\"17\",\"content-type\":\"application/json\",\"date\":\"{date}\",\"server\":\"nginx\"}}"
    ));
    let html_headers = lit(&format!(
        "{{\"content-length\":\"150\",\"content-type\":\"text/html\",\"date\":\"{date}\",\"server\":\"nginx\"}}"
    ));
    let (with, from) = rows_sql(backend, events, Span::Attempts);
    // Of the failed attempts, 55 % got an error status, 25 % timed out and
    // the rest could not connect.
    statements.push((
        "attempts",
        format!(
            "{with}INSERT INTO attempts (id, delivery_id, event_id, endpoint_id, attempt_no, started_ms, \
               latency_ms, url, request_headers, payload_version, response_status, response_headers, \
               response_body, error_class, error_message) \
             SELECT {}, {delivery_id}, {event_id}, {}, n, started, \
               (CASE WHEN ok THEN 40 + hj % 300 WHEN fk < 55 THEN 15 + hj % 200 WHEN fk < 80 THEN 15000 \
                 ELSE 1 + hj % 5 END), \
               {url}, {request_headers}, {version}, \
               (CASE WHEN ok THEN 200 WHEN fk < 55 THEN code END), \
               (CASE WHEN ok THEN {json_headers} WHEN fk < 55 THEN {html_headers} END), \
               (CASE WHEN ok THEN (CASE hj % 3 WHEN 0 THEN '{{\"received\":true}}' WHEN 1 THEN 'OK' ELSE '' END) \
                 WHEN fk < 55 THEN '<html><head><title>' || CAST(code AS TEXT) || \
                   ' Error</title></head><body><center><h1>' || CAST(code AS TEXT) || \
                   ' Error</h1></center><hr><center>nginx</center></body></html>' END), \
               (CASE WHEN ok THEN NULL WHEN fk < 55 THEN 'http_status' WHEN fk < 80 THEN 'timeout' \
                 ELSE 'connect' END), \
               (CASE WHEN ok THEN NULL WHEN fk < 55 THEN 'answered HTTP ' || CAST(code AS TEXT) \
                 WHEN fk < 80 THEN 'no answer within 15 s' ELSE 'connection refused' END) \
             FROM (SELECT q1.*, ms + {} + (CASE WHEN n = 1 THEN 1 + hj % 40 ELSE hj % 1000 END) AS started \
               FROM (SELECT q0.*, {} % 100 AS fk, {} AS hj, (o < 990 AND n = {tries}) AS ok, \
                   (CASE {} % 5 WHEN 0 THEN 500 WHEN 1 THEN 502 WHEN 2 THEN 503 WHEN 3 THEN 504 \
                     ELSE 404 END) AS code \
                 FROM (SELECT x, k, n, (x * 8 + k) * 8 + n AS an, {ms} AS ms, {merchant} AS m, \
                     {mode_no} AS mi, {slot} AS j, {} AS o {from}) AS q0) AS q1) AS q2",
            id_sql("att", "started", "an"),
            endpoint_of(&endpoint_no),
            retry_offset_sql("n"),
            hash("an", 1_181_783_497),
            hash("an", 2_147_483_647),
            hash("an", 1_609_587_929),
            outcome_sql(),
        ),
    ));
    // Settings for the loading transactions only. PostgreSQL would spend
    // seconds compiling these long expressions (it expects a thousand rows
    // from each generated series); and as a restore does, a superuser skips
    // the per-row foreign-key checks, which the rows pass by construction
    // (SQLite, which checks them, fills from the same statements).
    let mut pg_settings = vec!["SET LOCAL jit = off"];
    if let Db::Postgres(pool) = db {
        let superuser: bool = sqlx::query_scalar("SELECT current_setting('is_superuser') = 'on'")
            .fetch_one(pool)
            .await
            .map_err(|e| e.to_string())?;
        if superuser {
            pg_settings.push("SET LOCAL session_replication_role = replica");
        }
    }
    let mut counts = HashMap::new();
    for (table, sql) in &statements {
        let fail = |e: sqlx::Error| format!("filling {table}: {e}");
        let rows = match db {
            Db::Sqlite(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map_err(fail)?
                .rows_affected(),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(fail)?;
                for setting in &pg_settings {
                    sqlx::query(setting).execute(&mut *tx).await.map_err(fail)?;
                }
                let rows = sqlx::query(sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?
                    .rows_affected();
                tx.commit().await.map_err(fail)?;
                rows
            }
        };
        counts.insert(*table, rows);
    }
    Ok(LogData {
        events: counts["events"],
        deliveries: counts["deliveries"],
        attempts: counts["attempts"],
        merchant: format!("mer_{created:013}{LOG_MERCHANT:019}"),
        endpoint: format!(
            "ep_{created:013}{:019}",
            LOG_MERCHANT * per_merchant + LOG_ENDPOINT
        ),
        middle_ms: start + span_ms / 2,
    })
}

/// One untimed call of `call`, then [`LOG_RUNS`] timed ones: their median
/// and the last one's answer.
async fn timed<T, F, Fut>(mut call: F) -> Result<(Duration, T), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = hookline::error::Result<T>>,
{
    let mut answer = call().await.map_err(|e| e.to_string())?;
    let mut runs = Vec::with_capacity(LOG_RUNS);
    for _ in 0..LOG_RUNS {
        let t = Instant::now();
        answer = call().await.map_err(|e| e.to_string())?;
        runs.push(t.elapsed());
    }
    runs.sort();
    Ok((runs[LOG_RUNS / 2], answer))
}

/// Fills a database with about `attempts` attempts (see [`log_data`]) and
/// times what the portal's delivery log calls for one merchant in live
/// mode: `logs::ops::page` for the first page, filtered by endpoint, by
/// event type, to failed deliveries, searched by event id, and the next
/// page from the first one's cursor; and `logs::ops::event` for one
/// event's deliveries and attempts. Answers the lines to print.
async fn log_query(backend: Backend, attempts: u64) -> Result<String, String> {
    let run_db = fresh_db(backend).await?;
    let result = async {
        let db = Db::connect(&run_db.url).await.map_err(|e| e.to_string())?;
        let result = log_figures(&db, backend, attempts).await;
        db.close().await;
        result
    }
    .await;
    drop_db(run_db).await;
    result
}

async fn log_figures(db: &Db, backend: Backend, attempts: u64) -> Result<String, String> {
    let filling = Instant::now();
    let data = log_data(db, backend, attempts).await?;
    // Statistics as production has them: PostgreSQL's from autovacuum,
    // which ANALYZE stands for; SQLite's none, as the server never asks
    // for them (statistics gathered while a table was small led its claims
    // to plans five times as costly once it had grown).
    if let Db::Postgres(pool) = db {
        sqlx::query("ANALYZE")
            .execute(pool)
            .await
            .map_err(|e| format!("ANALYZE: {e}"))?;
    }
    let filled = filling.elapsed();

    let merchant = data.merchant.as_str();
    let middle_ms = data.middle_ms;
    // An event from the middle of the merchant's history, with a failed
    // delivery if it has one: the kind one opens to see why.
    let pick = |failed: bool| {
        let sql = format!(
            "SELECT d.event_id FROM deliveries d JOIN events e ON e.id = d.event_id \
             WHERE d.merchant_id = $1 AND e.mode = 'live' AND d.created_ms <= $2{} \
             ORDER BY d.created_ms DESC LIMIT 1",
            if failed {
                " AND d.status = 'failed'"
            } else {
                ""
            }
        );
        async move {
            Ok::<_, String>(hookline::on_db!(db, |pool| {
                sqlx::query_scalar::<_, String>(&sql)
                    .bind(merchant)
                    .bind(middle_ms)
                    .fetch_optional(pool)
                    .await
                    .map_err(|e| e.to_string())?
            }))
        }
    };
    let event = match pick(true).await? {
        Some(id) => id,
        None => pick(false)
            .await?
            .ok_or("the merchant has no live events")?,
    };
    let merchant_live: i64 = hookline::on_db!(db, |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM deliveries d JOIN endpoints ep ON ep.id = d.endpoint_id \
             WHERE d.merchant_id = $1 AND ep.mode = 'live'",
        )
        .bind(merchant)
        .fetch_one(pool)
        .await
        .map_err(|e| e.to_string())?
    });

    let page = |query: LogQuery| async move {
        hookline::logs::ops::page(db, merchant, Mode::Live, &query).await
    };
    let mut figures = Vec::new();
    let (first, first_page) = timed(|| page(LogQuery::default())).await?;
    figures.push(format!("first page {}", ms(first, 2)));
    let cursor = first_page
        .next_cursor
        .clone()
        .ok_or("the first page has no next page")?;
    let filtered = [
        (
            "by endpoint",
            LogQuery {
                endpoint: data.endpoint.clone(),
                ..LogQuery::default()
            },
        ),
        (
            "by type",
            LogQuery {
                event_type: EventType::RefundUpdated.as_str().into(),
                ..LogQuery::default()
            },
        ),
        (
            "failed only",
            LogQuery {
                status: hookline::logs::DeliveryState::Failed.as_str().into(),
                ..LogQuery::default()
            },
        ),
        (
            "search by event id",
            LogQuery {
                search: event.clone(),
                ..LogQuery::default()
            },
        ),
        (
            "next page",
            LogQuery {
                cursor,
                ..LogQuery::default()
            },
        ),
    ];
    for (name, query) in filtered {
        let (took, answer) = timed(|| page(query.clone())).await?;
        // An empty page would time nothing worth knowing.
        if answer.rows.is_empty() {
            return Err(format!("the {name} page came back empty"));
        }
        figures.push(format!("{name} {}", ms(took, 2)));
    }
    let (one, detail) =
        timed(|| hookline::logs::ops::event(db, merchant, Mode::Live, &event)).await?;
    let shown: usize = detail.deliveries.iter().map(|d| d.attempts.len()).sum();
    let deliveries = match detail.deliveries.len() {
        1 => "1 delivery".to_owned(),
        n => format!("{n} deliveries"),
    };
    Ok(format!(
        "delivery log on {}: {} attempts of {} deliveries of {} events, {LOG_MERCHANTS} merchants \
         with {LOG_ENDPOINTS_PER_MODE} endpoints in each mode (filled in {:.0} s); \
         one merchant's live log ({merchant_live} deliveries), median of {LOG_RUNS} calls each:\n  \
         {}; one event ({deliveries}, {shown} attempts) {}",
        backend.as_str(),
        data.attempts,
        data.deliveries,
        data.events,
        filled.as_secs_f64(),
        figures.join(", "),
        ms(one, 2),
    ))
}
