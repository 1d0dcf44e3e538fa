//! One delivery attempt from claim to record, and the batch step around it.

use super::client::{ClientCache, DestinationError, USER_AGENT, check_address};
use super::wake::Wakeup;
use crate::clock::SharedClock;
use crate::crypto::SecretBox;
use crate::endpoint::Cidr;
use crate::error::{Error, Result};
use crate::events::samples::sample_data;
use crate::events::{Envelope, EventData, EventType};
use crate::ids;
use crate::metrics::Metrics;
use crate::retry::RetrySchedule;
use crate::signing::SigningSecret;
use crate::signing::signature_header;
use crate::store::Db;
use crate::store::deliveries::{self, AttemptRow, Claim, Claimed, Finished, Lease, Outcome};
use crate::store::endpoints::{self as endpoint_store, EndpointRow, LiveEndpoint, WithSecrets};
use crate::store::events::{self as event_store, EventRow, Handoff};
use crate::store::health::{self as health_store, DisabledReason};
use crate::validation::storable_text;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// How long the recorder gathers finished deliveries before it writes them,
/// while it holds fewer than [`GATHERED_ENOUGH`]. An outcome is written
/// after its request was answered, so no merchant waits on it, and each
/// write is a commit that syncs the disk: outcomes arriving a few
/// milliseconds apart share one instead of taking one each.
const RECORD_GATHERING: Duration = Duration::from_millis(5);

/// Outcomes that share a commit well enough to be written at once. Under
/// full load the batches are larger than this anyway, and waiting would
/// only hold their deliveries' slots longer.
const GATHERED_ENOUGH: usize = 32;

/// Most outcomes written in one statement.
const MAX_RECORDED_TOGETHER: usize = 1024;

/// Response bodies are kept up to this size.
pub const MAX_RESPONSE_BODY: usize = 8 * 1024;

/// How an attempt failed, for the logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    Timeout,
    Connect,
    Tls,
    Dns,
    BlockedDestination,
    NotInAllowlist,
    HttpStatus,
    EndpointGone,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Timeout => "timeout",
            ErrorClass::Connect => "connect",
            ErrorClass::Tls => "tls",
            ErrorClass::Dns => "dns",
            ErrorClass::BlockedDestination => "blocked_destination",
            ErrorClass::NotInAllowlist => "not_in_allowlist",
            ErrorClass::HttpStatus => "http_status",
            ErrorClass::EndpointGone => "endpoint_gone",
        }
    }
}

pub struct Dispatcher {
    pub db: Db,
    pub sbox: SecretBox,
    pub clock: SharedClock,
    pub schedule: RetrySchedule,
    pub clients: ClientCache,
    pub node_id: String,
    pub lease: Duration,
    pub batch_size: i64,
    /// Attempts in flight at once on this node.
    pub max_in_flight: usize,
    /// Attempts in flight at once to one endpoint from this node, so one
    /// merchant's slow server cannot take every worker slot.
    pub max_per_endpoint: usize,
    pub metrics: Arc<Metrics>,
    pub breaker: BreakerPolicy,
    /// Wakes the run loop when this process commits new work.
    pub wakeup: Wakeup,
    /// The node's and each endpoint's in-flight limits, across batches.
    pub gates: Gates,
}

/// When an endpoint stops being tried for a while, and when it is disabled.
#[derive(Clone, Debug, PartialEq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker.
    pub threshold: i64,
    /// The first pause; each further failure doubles it, up to `max_pause`.
    pub base_pause: Duration,
    pub max_pause: Duration,
    /// Failing without a single success this long disables the endpoint.
    pub disable_after: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            base_pause: Duration::from_secs(30),
            max_pause: Duration::from_secs(10 * 60),
            disable_after: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

impl BreakerPolicy {
    /// How long the breaker stays open after `failures` consecutive failures.
    pub fn pause(&self, failures: i64) -> Duration {
        let doublings = (failures - self.threshold).clamp(0, 16) as u32;
        self.base_pause
            .saturating_mul(1 << doublings)
            .min(self.max_pause)
    }
}

/// In-flight limits: one semaphore for the node, one per endpoint.
#[derive(Default)]
pub struct Gates {
    node: std::sync::OnceLock<Arc<Semaphore>>,
    endpoints: std::sync::Mutex<HashMap<String, Arc<EndpointGate>>>,
    recorder: std::sync::OnceLock<mpsc::UnboundedSender<Recording>>,
    /// Set while the run loop finds nothing else due: new events' deliveries
    /// may then go straight to this node's free slots (see [`Dispatcher::reserve`]).
    handoff: std::sync::atomic::AtomicBool,
}

/// Free slots of this node set aside for new events' deliveries, and the
/// lease to store those deliveries under. Dropping it frees the slots.
pub struct Reservation {
    lease: Lease,
    now: i64,
    slots: Vec<OwnedSemaphorePermit>,
}

impl Reservation {
    /// What the ingest writer passes to the store.
    pub fn handoff(&self) -> Handoff<'_> {
        Handoff {
            lease: &self.lease,
            now: self.now,
            limit: self.slots.len(),
        }
    }
}

/// One endpoint's limits on this node: attempts in flight, and deliveries
/// waiting here for one of those slots (in flight ones included).
///
/// An endpoint starts cautious, and is cautious again after a failure: each
/// attempt then takes several permits, so it has a quarter of the limit in
/// flight. Only an endpoint that answers well gets the whole limit, so a
/// dead one cannot hold many node slots while its requests time out.
struct EndpointGate {
    running: Arc<Semaphore>,
    queue: Arc<Semaphore>,
    queue_size: usize,
    /// Set when a claim left this endpoint's due deliveries in the database
    /// because its queue was full; the run loop is woken once it has room.
    wanted: std::sync::atomic::AtomicBool,
    cautious: std::sync::atomic::AtomicBool,
    cautious_weight: u32,
    /// When this node last wrote the endpoint's last-success time, so the
    /// deliveries of one batch (which all read the same health) write it once.
    success_written_ms: std::sync::atomic::AtomicI64,
    /// Set when this node counts a failure, so the next success resets the
    /// count even if its batch read the endpoint before that failure: the
    /// breaker counts consecutive failures, not failures among successes.
    failure_counted: std::sync::atomic::AtomicBool,
}

impl EndpointGate {
    /// A place in this endpoint's queue on the node, if it has room.
    fn place(self: &Arc<Self>, wakeup: &Wakeup) -> Option<QueueSlot> {
        let permit = self.queue.clone().try_acquire_owned().ok()?;
        Some(QueueSlot {
            _permit: permit,
            gate: self.clone(),
            wakeup: wakeup.clone(),
        })
    }

    async fn slot(self: &Arc<Self>) -> Option<EndpointSlot> {
        let cautious = self.cautious.load(Ordering::Relaxed);
        let weight = if cautious { self.cautious_weight } else { 1 };
        let permit = self.running.clone().acquire_many_owned(weight).await.ok()?;
        // Another attempt may have failed (a 410, a tripped breaker) while
        // this one waited: it then reads the endpoint afresh too.
        let cautious = cautious || self.cautious.load(Ordering::Relaxed);
        Some(EndpointSlot {
            _permit: permit,
            gate: self.clone(),
            cautious,
        })
    }
}

/// A delivery's place in its endpoint's queue on this node. Given back when
/// the delivery is done; if a claim left the endpoint's work behind for lack
/// of room, the run loop is woken once the queue is half empty, so the next
/// claim takes a batch for it rather than one delivery per finished attempt.
struct QueueSlot {
    _permit: OwnedSemaphorePermit,
    gate: Arc<EndpointGate>,
    wakeup: Wakeup,
}

impl Drop for QueueSlot {
    fn drop(&mut self) {
        // This slot's permit is returned after this runs, hence the `+ 1`.
        let free = self.gate.queue.available_permits() + 1;
        if free * 2 >= self.gate.queue_size && self.gate.wanted.swap(false, Ordering::Relaxed) {
            self.wakeup.wake();
        }
    }
}

/// A request in flight to an endpoint. Say how it went with [`EndpointSlot::answered`].
struct EndpointSlot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    gate: Arc<EndpointGate>,
    /// Taken while the endpoint was new or failing: its state is read again
    /// just before the attempt rather than trusted from the claimed batch.
    cautious: bool,
}

impl EndpointSlot {
    fn answered(&self, well: bool) {
        self.gate
            .cautious
            .store(!well, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One finished delivery waiting for the recorder, and who to tell.
struct Recording {
    finished: Finished,
    done: oneshot::Sender<std::result::Result<bool, String>>,
}

impl Gates {
    fn node(&self, limit: usize) -> Arc<Semaphore> {
        self.node
            .get_or_init(|| Arc::new(Semaphore::new(limit.max(1))))
            .clone()
    }

    /// Endpoints whose queue on this node is full (marked, so that the run
    /// loop is woken when they have room again), and whether any endpoint,
    /// seen before or not (per-endpoint `limit`), has room for fewer than
    /// `claim` deliveries.
    fn short_of_room(&self, claim: usize, limit: usize) -> (Vec<String>, bool) {
        let map = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        let mut tight = limit.max(1) * 4 < claim;
        let full = map
            .iter()
            .filter(|(_, gate)| {
                let room = gate.queue.available_permits();
                tight |= room < claim;
                room == 0
            })
            .map(|(id, gate)| {
                gate.wanted.store(true, Ordering::Relaxed);
                id.clone()
            })
            .collect();
        (full, tight)
    }

    fn endpoint(&self, id: &str, limit: usize) -> Arc<EndpointGate> {
        let mut map = self.endpoints.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            // Forget idle endpoints so the map does not grow for ever.
            map.retain(|_, s| Arc::strong_count(s) > 1);
        }
        let limit = limit.max(1);
        let cautious_limit = (limit / 4).max(1);
        map.entry(id.to_owned())
            .or_insert_with(|| {
                Arc::new(EndpointGate {
                    running: Arc::new(Semaphore::new(limit)),
                    queue: Arc::new(Semaphore::new(limit * 4)),
                    queue_size: limit * 4,
                    wanted: std::sync::atomic::AtomicBool::new(false),
                    cautious: std::sync::atomic::AtomicBool::new(true),
                    cautious_weight: u32::try_from(limit / cautious_limit).unwrap_or(1),
                    success_written_ms: std::sync::atomic::AtomicI64::new(0),
                    failure_counted: std::sync::atomic::AtomicBool::new(false),
                })
            })
            .clone()
    }
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("node_id", &self.node_id)
            .field("batch_size", &self.batch_size)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_per_endpoint", &self.max_per_endpoint)
            .finish_non_exhaustive()
    }
}

/// One recorded attempt and what decides the delivery's next state.
struct Attempted {
    record: AttemptRow,
    request_headers: BTreeMap<String, String>,
    /// The body sent (the record keeps its payload version, not the bytes).
    request_body: Bytes,
    response_headers: BTreeMap<String, String>,
    retry_after: Option<Duration>,
    success: bool,
}

/// What the attempts of one claimed batch need from the database, read with
/// one query per table rather than three queries per delivery.
#[derive(Default)]
struct BatchData {
    events: HashMap<String, Arc<EventRow>>,
    endpoints: HashMap<String, Arc<LiveEndpoint>>,
    secrets: HashMap<String, Arc<Vec<SigningSecret>>>,
    bodies: Arc<Bodies>,
}

/// The request bodies of one batch, each rendered once per event and payload
/// version: a fan-out sends the same bytes to every endpoint on one version,
/// so its deliveries share them rather than each parse and render the event.
#[derive(Default)]
struct Bodies {
    /// By event id, then payload version (almost always one).
    rendered: std::sync::Mutex<HashMap<String, Vec<(String, BodyCell)>>>,
    /// The bodies are of test events, and say so.
    test: bool,
}

type RenderedBody = std::result::Result<Bytes, String>;
/// Filled by the first delivery that needs the body; the others wait for it.
type BodyCell = Arc<OnceLock<RenderedBody>>;

impl Bodies {
    /// `event` as sent to an endpoint on `version`, rendered by the first
    /// delivery that needs it.
    fn get(&self, event: &EventRow, version: &str) -> Result<Bytes> {
        let cell = {
            let mut rendered = self.rendered.lock().unwrap_or_else(|p| p.into_inner());
            let versions = match rendered.get_mut(event.id.as_str()) {
                Some(versions) => versions,
                None => rendered.entry(event.id.clone()).or_default(),
            };
            match versions.iter().find(|(v, _)| v == version) {
                Some((_, cell)) => cell.clone(),
                None => {
                    let cell = Arc::new(OnceLock::new());
                    versions.push((version.to_owned(), cell.clone()));
                    cell
                }
            }
        };
        cell.get_or_init(|| render_body(event, version, self.test))
            .clone()
            .map_err(Error::Internal)
    }
}

/// The signed bytes of `event` for an endpoint on payload `version`.
fn render_body(event: &EventRow, version: &str, test: bool) -> RenderedBody {
    let stored: serde_json::Value = serde_json::from_str(&event.data).map_err(|e| e.to_string())?;
    Envelope::render(
        event.id.clone(),
        event.event_type.parse()?,
        event.mode.parse()?,
        event.created_ms,
        &stored,
        version,
        test,
    )
    .map(Bytes::from)
}

impl BatchData {
    /// `known` are events the caller already holds (the ingest writer's own
    /// rows); only the others are read. So are the endpoints, unless the
    /// caller holds them too (`known_endpoints`, read at `now`).
    async fn load(
        db: &Db,
        sbox: &SecretBox,
        now: i64,
        claimed: &[Claimed],
        known: Vec<EventRow>,
        known_endpoints: Option<Vec<WithSecrets>>,
    ) -> Result<BatchData> {
        let distinct = |id: fn(&Claimed) -> &str| {
            let mut ids: Vec<&str> = claimed.iter().map(id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let event_ids = distinct(|c| &c.event_id);
        let endpoint_ids = distinct(|c| &c.endpoint_id);
        let mut data = BatchData::default();
        for event in known {
            data.events.insert(event.id.clone(), Arc::new(event));
        }
        let missing: Vec<&str> = event_ids
            .into_iter()
            .filter(|id| !data.events.contains_key(*id))
            .collect();
        let (events, endpoints) = match known_endpoints {
            Some(endpoints) => (event_store::get_many(db, &missing).await?, endpoints),
            // Two reads on two connections at once: each claim waits for
            // them before its deliveries start.
            None => tokio::try_join!(
                event_store::get_many(db, &missing),
                endpoint_store::get_live_many_with_secrets(db, &endpoint_ids, now),
            )?,
        };
        for event in events {
            data.events.insert(event.id.clone(), Arc::new(event));
        }
        for (endpoint, sealed) in endpoints {
            let id = endpoint.row.id.clone();
            // An endpoint whose secrets cannot be opened is left without
            // them: its deliveries read their secrets alone and fail alone,
            // and the rest of the batch goes on.
            if let Ok(secrets) = crate::endpoints::open_secrets(sbox, &sealed)
                && !secrets.is_empty()
            {
                data.secrets.insert(id.clone(), Arc::new(secrets));
            }
            data.endpoints.insert(id, Arc::new(endpoint));
        }
        Ok(data)
    }

    /// What one delivery of the batch needs.
    fn for_delivery(&self, delivery: &Claimed) -> Prepared {
        Prepared {
            event: self.events.get(&delivery.event_id).cloned(),
            endpoint: self.endpoints.get(&delivery.endpoint_id).cloned(),
            secrets: self.secrets.get(&delivery.endpoint_id).cloned(),
            bodies: self.bodies.clone(),
        }
    }
}

/// One claimed delivery's event, endpoint and secrets as read with its batch.
struct Prepared {
    event: Option<Arc<EventRow>>,
    endpoint: Option<Arc<LiveEndpoint>>,
    secrets: Option<Arc<Vec<SigningSecret>>>,
    bodies: Arc<Bodies>,
}

/// What "send test event" shows the merchant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct TestDelivery {
    pub event_id: String,
    pub delivery_id: String,
    pub success: bool,
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub request_headers: BTreeMap<String, String>,
    pub request_body: String,
    pub response_headers: BTreeMap<String, String>,
    /// Up to [`MAX_RESPONSE_BODY`] bytes.
    pub response_body: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

/// What a sent request came back with.
pub(super) struct Sent {
    pub(super) status: Option<u16>,
    pub(super) headers: Option<BTreeMap<String, String>>,
    pub(super) body: Option<String>,
    pub(super) retry_after: Option<Duration>,
    pub(super) error: Option<(ErrorClass, String)>,
}

impl Dispatcher {
    fn new_lease(&self) -> Lease {
        Lease {
            owner: self.node_id.clone(),
            until_ms: self.clock.now_ms() + self.lease.as_millis() as i64,
        }
    }

    /// Claims up to `limit` due deliveries and reads what their attempts need.
    async fn claim(
        &self,
        now: i64,
        lease: &Lease,
        limit: i64,
    ) -> Result<(Vec<Claimed>, BatchData)> {
        let claimed = deliveries::claim_due(&self.db, now, lease, limit).await?;
        let batch = BatchData::load(&self.db, &self.sbox, now, &claimed, Vec::new(), None).await?;
        Ok((claimed, batch))
    }

    /// Claims up to `limit` due deliveries that this node has room for:
    /// each claimed one comes with its place in its endpoint's queue, and
    /// the deliveries of endpoints without room stay in the database.
    async fn claim_with_room(
        &self,
        now: i64,
        lease: &Lease,
        limit: i64,
    ) -> Result<(Claim, BatchData, HashMap<String, QueueSlot>)> {
        let mut places = HashMap::new();
        let mut place = |c: &Claimed| {
            let gate = self.gates.endpoint(&c.endpoint_id, self.max_per_endpoint);
            match gate.place(&self.wakeup) {
                Some(slot) => {
                    places.insert(c.id.clone(), slot);
                    true
                }
                None => {
                    gate.wanted.store(true, Ordering::Relaxed);
                    false
                }
            }
        };
        let (full, tight) = self
            .gates
            .short_of_room(limit as usize, self.max_per_endpoint);
        let claim = if tight {
            deliveries::claim_due_with_room(&self.db, now, lease, limit, &full, place).await?
        } else {
            // Every endpoint has room for a whole claim: the plain claim (one
            // statement) does, and each delivery takes its place after.
            let claimed = deliveries::claim_due(&self.db, now, lease, limit).await?;
            claimed.iter().for_each(|c| {
                place(c);
            });
            Claim {
                claimed,
                refused: 0,
            }
        };
        let batch =
            BatchData::load(&self.db, &self.sbox, now, &claim.claimed, Vec::new(), None).await?;
        Ok((claim, batch, places))
    }

    /// Claims one batch of due deliveries, attempts each and waits for all of
    /// them; answers how many. Tests step the dispatcher with this.
    pub async fn step(self: &Arc<Self>) -> Result<usize> {
        let now = self.clock.now_ms();
        let lease = self.new_lease();
        let (claimed, batch) = self.claim(now, &lease, self.batch_size).await?;
        let n = claimed.len();
        let node = self.gates.node(self.max_in_flight);
        let mut tasks = tokio::task::JoinSet::new();
        for delivery in claimed {
            let prepared = batch.for_delivery(&delivery);
            let this = self.clone();
            let lease = lease.clone();
            let node = node.clone();
            let endpoint = self
                .gates
                .endpoint(&delivery.endpoint_id, self.max_per_endpoint);
            tasks.spawn(async move {
                // Endpoint first: waiting on a busy endpoint holds no node slot.
                let (Some(endpoint_slot), Ok(_node_slot)) =
                    (endpoint.slot().await, node.acquire_owned().await)
                else {
                    return;
                };
                this.attempt_logged(&delivery, &lease, endpoint_slot, prepared)
                    .await;
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(n)
    }

    /// Delivers until the process ends. Claims only as many deliveries as
    /// there are free slots, starts each as soon as it is claimed, and does
    /// not wait for slow ones before claiming more. Claims leave the work of
    /// an endpoint that already has its fill queued here in the database
    /// (for another node, or for this one once that queue drains) instead
    /// of holding slots other endpoints could use. Idle, it sleeps until
    /// woken by new work or for `poll`; while the database is away it backs off.
    pub async fn run(self: Arc<Self>, poll: Duration) {
        let node = self.gates.node(self.max_in_flight);
        let mut backoff = Duration::from_millis(500);
        // Free slots to wait for before the next claim: one while the queue
        // keeps draining, so new work starts at once; a quarter of the node's
        // while busy, so claims come in batches rather than one per finished
        // attempt.
        let full_claim = self.batch_size.max(1) as usize;
        let busy_claim = (self.max_in_flight / 4).clamp(1, full_claim);
        // The first claim after the loop rested takes no more than one
        // endpoint's queue here holds, so it can be the one-statement claim
        // (see `claim_with_room`); claims while work keeps coming take a
        // whole batch, so there are fewer of them.
        let first_claim = (self.max_per_endpoint.max(1) * 4).min(full_claim);
        let mut want = 1;
        loop {
            match node.clone().acquire_many_owned(want as u32).await {
                Ok(permit) => drop(permit),
                Err(_) => return,
            }
            let limit = if want == 1 { first_claim } else { full_claim };
            let free = node.available_permits().min(limit).max(1);
            let now = self.clock.now_ms();
            let lease = self.new_lease();
            let (claim, batch, mut places) = match self
                .claim_with_room(now, &lease, free as i64)
                .await
            {
                Ok(c) => {
                    backoff = Duration::from_millis(500);
                    c
                }
                Err(e) => {
                    // Anything claimed is leased; the lease runs out and it is claimed again.
                    tracing::warn!(error = %e, retry_in = ?backoff, "claiming deliveries failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            // Fewer than asked for: nothing else is due (or only work for
            // endpoints without room here, whose queues wake the loop when
            // they drain), so rest until new work wakes the loop (or the poll
            // interval passes) rather than spinning on claims of one
            // delivery each. Some left for want of room: claim again at
            // once, without those endpoints, so others' work is not held up.
            let drained = claim.claimed.len() < free && claim.refused == 0;
            want = if drained { 1 } else { busy_claim };
            self.gates.handoff.store(drained, Ordering::Relaxed);
            for delivery in claim.claimed {
                let prepared = batch.for_delivery(&delivery);
                let Ok(node_slot) = node.clone().acquire_owned().await else {
                    return;
                };
                let place = places.remove(&delivery.id);
                self.start(delivery, prepared, node_slot, lease.clone(), place);
            }
            if drained {
                self.wakeup.wait(poll).await;
            }
        }
    }

    /// Attempts one claimed delivery in a task of its own, holding one of
    /// the node's slots and, once it has one, a place in its endpoint's
    /// queue (claims take theirs as they claim; handed-off deliveries take
    /// theirs here).
    fn start(
        self: &Arc<Self>,
        delivery: Claimed,
        prepared: Prepared,
        node_slot: OwnedSemaphorePermit,
        lease: Lease,
        place: Option<QueueSlot>,
    ) {
        let endpoint = self
            .gates
            .endpoint(&delivery.endpoint_id, self.max_per_endpoint);
        let this = self.clone();
        tokio::spawn(async move {
            let _node_slot = node_slot;
            // A few deliveries may queue behind a busy endpoint; beyond
            // that (only handed-off ones: claims take no more than fits)
            // they go back to the database, due at once, rather than hold
            // node slots that other endpoints could use. Claims here skip
            // the endpoint until its queue drains, which wakes the loop.
            let Some(_place) = place.or_else(|| endpoint.place(&this.wakeup)) else {
                this.metrics.put_back();
                endpoint.wanted.store(true, Ordering::Relaxed);
                let release = Finished {
                    attempt: None,
                    delivery_id: delivery.id.clone(),
                    lease: lease.clone(),
                    outcome: Outcome::Release(this.clock.now_ms()),
                };
                if let Err(e) = this.record(release).await {
                    tracing::warn!(delivery_id = %delivery.id, error = %e, "could not requeue a delivery");
                }
                return;
            };
            if let Some(running) = endpoint.slot().await {
                this.attempt_logged(&delivery, &lease, running, prepared)
                    .await;
            }
        });
    }

    /// Sets aside up to `most` of this node's free slots for the deliveries
    /// of events about to be stored, with the lease they will be stored
    /// under. Only while the run loop is going and nothing else is due, so
    /// new events never overtake older due work; `None` otherwise.
    pub fn reserve(&self, most: usize) -> Option<Reservation> {
        if !self.gates.handoff.load(Ordering::Relaxed) {
            return None;
        }
        let node = self.gates.node(self.max_in_flight);
        let mut slots = Vec::new();
        while slots.len() < most {
            match node.clone().try_acquire_owned() {
                Ok(slot) => slots.push(slot),
                Err(_) => break,
            }
        }
        if slots.is_empty() {
            return None;
        }
        Some(Reservation {
            lease: self.new_lease(),
            now: self.clock.now_ms(),
            slots,
        })
    }

    /// Attempts the deliveries stored under `reservation`'s lease (no claim
    /// needed: the transaction that stored them leased them to this node).
    /// `events` are their events as the writer stored them, so they are not
    /// read back, nor are `endpoints` where the writer read them (with their
    /// secrets) under the reservation's time. Unused slots are freed. If
    /// what they need cannot be read, they wait for their lease to run out
    /// and are claimed like any other.
    pub fn deliver_reserved(
        self: &Arc<Self>,
        reservation: Reservation,
        leased: Vec<Claimed>,
        events: Vec<EventRow>,
        endpoints: Option<Vec<WithSecrets>>,
    ) {
        let Reservation {
            lease,
            now,
            mut slots,
        } = reservation;
        slots.truncate(leased.len());
        if leased.is_empty() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            match BatchData::load(&this.db, &this.sbox, now, &leased, events, endpoints).await {
                Ok(batch) => {
                    for (delivery, slot) in leased.into_iter().zip(slots) {
                        let prepared = batch.for_delivery(&delivery);
                        this.start(delivery, prepared, slot, lease.clone(), None);
                    }
                }
                Err(e) => tracing::warn!(
                    error = %e,
                    deliveries = leased.len(),
                    "reading new deliveries failed; they are claimed again when their lease runs out"
                ),
            }
        });
    }

    /// Records a finished delivery. Deliveries finishing together are written
    /// by one task in one transaction: under load many share a commit.
    async fn record(&self, finished: Finished) -> Result<bool> {
        let sender = self.gates.recorder.get_or_init(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<Recording>();
            let db = self.db.clone();
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut batch = vec![first];
                    let until = tokio::time::Instant::now() + RECORD_GATHERING;
                    while batch.len() < MAX_RECORDED_TOGETHER {
                        let more = if batch.len() < GATHERED_ENOUGH {
                            tokio::time::timeout_at(until, rx.recv())
                                .await
                                .ok()
                                .flatten()
                        } else {
                            rx.try_recv().ok()
                        };
                        match more {
                            Some(more) => batch.push(more),
                            None => break,
                        }
                    }
                    let (items, waiting): (Vec<Finished>, Vec<_>) =
                        batch.into_iter().map(|r| (r.finished, r.done)).unzip();
                    match deliveries::record_many(&db, &items).await {
                        Ok(kept) => {
                            for (done, k) in waiting.into_iter().zip(kept) {
                                let _ = done.send(Ok(k));
                            }
                        }
                        Err(e) => {
                            let message = e.to_string();
                            for done in waiting {
                                let _ = done.send(Err(message.clone()));
                            }
                        }
                    }
                }
            });
            tx
        });
        let (done, answer) = oneshot::channel();
        sender
            .send(Recording { finished, done })
            .map_err(|_| Error::Internal("the recorder has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the recorder has stopped".into()))?
            .map_err(|e| Error::Internal(format!("recording a delivery: {e}")))
    }

    async fn attempt_logged(
        &self,
        delivery: &Claimed,
        lease: &Lease,
        endpoint_slot: EndpointSlot,
        prepared: Prepared,
    ) {
        if let Err(e) = self.attempt(delivery, lease, endpoint_slot, prepared).await {
            // The lease runs out and the delivery is tried again: nothing is lost.
            tracing::warn!(delivery_id = %delivery.id, error = %e, "attempt could not be recorded");
        }
    }

    /// One attempt of a claimed delivery, then its next state: done, due
    /// again on the retry schedule, failed after the last attempt, or held
    /// because the endpoint is disabled. An endpoint whose breaker is open is
    /// not tried: its delivery waits for the breaker, without using an attempt.
    async fn attempt(
        &self,
        delivery: &Claimed,
        lease: &Lease,
        endpoint_slot: EndpointSlot,
        prepared: Prepared,
    ) -> Result<()> {
        // A delivery that waited in its endpoint's queue until its lease has
        // less left than the slowest attempt takes renews the lease first:
        // otherwise another node could take it over before the answer comes,
        // and send it too. If another node already has, it is not sent here.
        let policy = self.clients.policy();
        let slowest = (policy.connect_timeout + policy.timeout).as_millis() as i64;
        let now = self.clock.now_ms();
        let renewed;
        let lease = if lease.until_ms - now <= slowest {
            renewed = Lease {
                owner: lease.owner.clone(),
                until_ms: now + self.lease.as_millis() as i64,
            };
            if !deliveries::extend_lease(&self.db, &delivery.id, lease, renewed.until_ms).await? {
                self.metrics.put_back();
                return Ok(());
            }
            &renewed
        } else {
            lease
        };
        // An endpoint that answers well is taken as its batch read it; a new
        // or failing one is read again, so its breaker and the failure count
        // other attempts just wrote are current.
        let (endpoint, secrets) = match (prepared.endpoint, prepared.secrets) {
            (Some(endpoint), Some(secrets)) if !endpoint_slot.cautious => (Some(endpoint), secrets),
            _ => {
                let ids = [delivery.endpoint_id.as_str()];
                let found =
                    endpoint_store::get_live_many_with_secrets(&self.db, &ids, self.clock.now_ms())
                        .await?
                        .pop();
                let secrets = match &found {
                    Some((_, sealed)) => crate::endpoints::open_secrets(&self.sbox, sealed)?,
                    None => Vec::new(),
                };
                (
                    found.map(|(endpoint, _)| Arc::new(endpoint)),
                    Arc::new(secrets),
                )
            }
        };
        let Some(endpoint) = endpoint else {
            // A deleted endpoint's deliveries end here; its logs stay.
            deliveries::finish(&self.db, &delivery.id, lease, Outcome::Failed).await?;
            return Ok(());
        };
        if !endpoint.row.enabled {
            deliveries::finish(&self.db, &delivery.id, lease, Outcome::Hold).await?;
            return Ok(());
        }
        let now = self.clock.now_ms();
        let health = &endpoint.health;
        // Once the breaker has tripped, one attempt (on any node) probes the
        // endpoint after each pause, or at once for the delivery a resend
        // chose. A delivery that meets the pause or another node's probe is
        // due again at once: claims skip the endpoint's deliveries while its
        // breaker is open, so it goes as soon as the breaker closes, whether
        // the pause runs out or a probe succeeds.
        let tripped = health.consecutive_failures >= self.breaker.threshold;
        if tripped {
            let policy = self.clients.policy();
            let probe_until =
                now + (policy.connect_timeout + policy.timeout).as_millis() as i64 + 1_000;
            let chosen = health.probe_delivery_id.as_deref() == Some(delivery.id.as_str());
            let paused = health.breaker_until_ms.is_some_and(|u| u > now) && !chosen;
            if paused
                || !health_store::claim_probe(
                    &self.db,
                    &endpoint.row.id,
                    &delivery.id,
                    now,
                    probe_until,
                )
                .await?
            {
                deliveries::finish(&self.db, &delivery.id, lease, Outcome::Release(now)).await?;
                return Ok(());
            }
        }

        let event = match prepared.event {
            Some(event) => event,
            None => Arc::new(
                event_store::get(&self.db, &delivery.event_id)
                    .await?
                    .ok_or(Error::NotFound)?,
            ),
        };
        let done = self
            .attempt_once(delivery, &endpoint.row, &event, &secrets, &prepared.bodies)
            .await?;
        endpoint_slot.answered(done.success);
        let now = self.clock.now_ms();
        let mut outcome = if done.success {
            Outcome::Succeeded
        } else {
            let unit: f64 = rand::random();
            match self
                .schedule
                .next_delay(done.record.attempt_no as usize, unit, done.retry_after)
            {
                Some(delay) => Outcome::RetryAt(now + delay.as_millis() as i64),
                None => Outcome::Failed,
            }
        };
        // Health: successes only write when something changes (or once a
        // minute for the last-success time); failures always count.
        if done.success {
            let written = endpoint_slot
                .gate
                .success_written_ms
                .load(Ordering::Relaxed);
            let stale = health
                .last_success_ms
                .unwrap_or(0)
                .max(written)
                .abs_diff(now)
                > 60_000;
            let counted = endpoint_slot
                .gate
                .failure_counted
                .swap(false, Ordering::Relaxed);
            if health.consecutive_failures > 0
                || health.failing_since_ms.is_some()
                || stale
                || counted
            {
                endpoint_slot
                    .gate
                    .success_written_ms
                    .store(now, Ordering::Relaxed);
                health_store::record_success(&self.db, &endpoint.row.id, now).await?;
                if tripped {
                    // The breaker is closed: what waited for this probe is claimable now.
                    self.wakeup.wake();
                }
            }
        } else if done.record.response_status == Some(410) {
            // Standard Webhooks: 410 Gone means stop sending.
            health_store::disable(&self.db, &endpoint.row.id, DisabledReason::Gone, now).await?;
            outcome = Outcome::Held;
            tracing::warn!(endpoint_id = %endpoint.row.id, "endpoint answered 410 Gone: disabled, its deliveries held");
        } else {
            let failures = health.consecutive_failures + 1;
            let pause_until = now + self.breaker.pause(failures).as_millis() as i64;
            endpoint_slot
                .gate
                .failure_counted
                .store(true, Ordering::Relaxed);
            let (_, failing_since) = health_store::record_failure(
                &self.db,
                &endpoint.row.id,
                now,
                self.breaker.threshold,
                pause_until,
            )
            .await?;
            if now - failing_since >= self.breaker.disable_after.as_millis() as i64 {
                health_store::disable(&self.db, &endpoint.row.id, DisabledReason::Failing, now)
                    .await?;
                outcome = Outcome::Held;
                tracing::warn!(endpoint_id = %endpoint.row.id, "endpoint failing for the whole auto-disable period: disabled, its deliveries held");
            }
        }
        // The endpoint's health is up to date, which is all the next request
        // to it needs; waiting for the outcome's commit needs no slot of its.
        drop(endpoint_slot);
        let record = done.record;
        let (attempt, status, latency_ms) =
            (record.attempt_no, record.response_status, record.latency_ms);
        let error = record.error_class.clone();
        let kept = self
            .record(Finished {
                attempt: Some(record),
                delivery_id: delivery.id.clone(),
                lease: lease.clone(),
                outcome,
            })
            .await?;
        tracing::info!(
            event_id = %delivery.event_id,
            delivery_id = %delivery.id,
            endpoint_id = %delivery.endpoint_id,
            attempt,
            status = ?status,
            error = ?error,
            latency_ms,
            lease_kept = kept,
            "delivery attempt"
        );
        Ok(())
    }

    /// Signs, sends and records one attempt to `endpoint`.
    async fn attempt_once(
        &self,
        delivery: &Claimed,
        endpoint: &EndpointRow,
        event: &EventRow,
        secrets: &[SigningSecret],
        bodies: &Bodies,
    ) -> Result<Attempted> {
        let started_ms = self.clock.now_ms();
        let attempt_no = delivery.attempts + 1;
        let body = bodies.get(event, &endpoint.payload_version)?;
        let timestamp = started_ms.div_euclid(1000);
        let mut request_headers = BTreeMap::new();
        request_headers.insert("content-type".to_owned(), "application/json".to_owned());
        request_headers.insert("webhook-id".to_owned(), event.id.clone());
        request_headers.insert("webhook-timestamp".to_owned(), timestamp.to_string());
        request_headers.insert(
            "webhook-signature".to_owned(),
            signature_header(secrets.iter(), &event.id, timestamp, &body),
        );

        let allowlist: Vec<Cidr> = endpoint
            .allowlist
            .split_ascii_whitespace()
            .filter_map(|c| Cidr::parse(c).ok())
            .collect();
        let started = Instant::now();
        let sent = self
            .send(
                &endpoint.id,
                &endpoint.url,
                &allowlist,
                &request_headers,
                body.clone(),
            )
            .await;
        let elapsed = started.elapsed();
        let latency_ms = elapsed.as_millis() as i64;

        let success = sent.error.is_none() && sent.status.is_some_and(|s| (200..300).contains(&s));
        let (error_class, error_message) = match (&sent.error, sent.status) {
            (Some((class, message)), _) => (Some(*class), Some(message.clone())),
            (None, Some(s)) if !success => (
                Some(ErrorClass::HttpStatus),
                Some(format!("answered HTTP {s}")),
            ),
            _ => (None, None),
        };
        self.metrics.attempt(error_class, elapsed);
        let mut logged_headers = request_headers;
        logged_headers.insert("user-agent".into(), USER_AGENT.into());
        let record = AttemptRow {
            id: ids::attempt_id(),
            delivery_id: delivery.id.clone(),
            event_id: event.id.clone(),
            endpoint_id: endpoint.id.clone(),
            attempt_no,
            started_ms,
            latency_ms,
            url: endpoint.url.clone(),
            request_headers: serde_json::to_string(&logged_headers).unwrap_or_default(),
            payload_version: endpoint.payload_version.clone(),
            response_status: sent.status.map(i64::from),
            response_headers: sent
                .headers
                .as_ref()
                .map(|h| serde_json::to_string(h).unwrap_or_default()),
            response_body: sent.body,
            error_class: error_class.map(|c| c.as_str().to_owned()),
            error_message,
        };
        Ok(Attempted {
            record,
            request_headers: logged_headers,
            request_body: body,
            response_headers: sent.headers.unwrap_or_default(),
            retry_after: sent.retry_after,
            success,
        })
    }

    /// The portal's "send test event": one signed attempt of a sample `event_type`
    /// payload to the merchant's endpoint, now, recorded in the logs as a test
    /// and never retried. Another merchant's endpoint is `NotFound`.
    pub async fn send_test_event(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
        event_type: EventType,
    ) -> Result<TestDelivery> {
        let endpoint = endpoint_store::get_live(&self.db, endpoint_id)
            .await?
            .map(|e| e.row)
            .filter(|e| e.merchant_id == merchant_id)
            .ok_or(Error::NotFound)?;
        let now = self.clock.now_ms();
        let data = sample_data(event_type, now);
        let resource_id = EventData::parse(event_type, &data)
            .map_err(|e| Error::Internal(format!("sample {event_type}: {e}")))?
            .resource_id()
            .to_owned();
        let event = EventRow {
            id: ids::event_id(),
            merchant_id: merchant_id.to_owned(),
            mode: endpoint.mode.clone(),
            event_type: event_type.as_str().to_owned(),
            resource_id,
            data: data.to_string(),
            created_ms: now,
        };
        // Leased to this call for longer than one attempt can take, so no
        // dispatcher claims it; the lease ends when the outcome is recorded.
        let policy = self.clients.policy();
        let lease = Lease {
            owner: format!("{}:test", self.node_id),
            until_ms: now + (policy.connect_timeout + policy.timeout).as_millis() as i64 + 60_000,
        };
        let delivery_id = event_store::insert_test(&self.db, &event, &endpoint.id, &lease).await?;
        let claimed = Claimed {
            id: delivery_id.clone(),
            event_id: event.id.clone(),
            endpoint_id: endpoint.id.clone(),
            attempts: 0,
        };
        let secrets =
            crate::endpoints::signing_secrets(&self.db, &self.sbox, &*self.clock, &endpoint.id)
                .await?;
        let test_bodies = Bodies {
            test: true,
            ..Bodies::default()
        };
        let done = self
            .attempt_once(&claimed, &endpoint, &event, &secrets, &test_bodies)
            .await?;
        let outcome = if done.success {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        deliveries::record_many(
            &self.db,
            &[Finished {
                attempt: Some(done.record.clone()),
                delivery_id: delivery_id.clone(),
                lease: lease.clone(),
                outcome,
            }],
        )
        .await?;
        tracing::info!(
            event_id = %event.id,
            delivery_id = %delivery_id,
            endpoint_id = %endpoint.id,
            status = ?done.record.response_status,
            error = ?done.record.error_class,
            latency_ms = done.record.latency_ms,
            "test event sent"
        );
        Ok(TestDelivery {
            event_id: event.id,
            delivery_id,
            success: done.success,
            status: done.record.response_status.map(|s| s as u16),
            latency_ms: done.record.latency_ms,
            request_headers: done.request_headers,
            request_body: String::from_utf8_lossy(&done.request_body).into_owned(),
            response_headers: done.response_headers,
            response_body: done.record.response_body,
            error_class: done.record.error_class,
            error_message: done.record.error_message,
        })
    }

    pub(super) async fn send(
        &self,
        endpoint_id: &str,
        url: &str,
        allowlist: &[Cidr],
        headers: &BTreeMap<String, String>,
        body: Bytes,
    ) -> Sent {
        let failed = |class: ErrorClass, message: String| Sent {
            status: None,
            headers: None,
            body: None,
            retry_after: None,
            error: Some((class, message)),
        };
        let policy = self.clients.policy();
        let parsed = match url::Url::parse(url) {
            Ok(u) => u,
            Err(e) => {
                return failed(
                    ErrorClass::Connect,
                    format!("stored URL is unreadable: {e}"),
                );
            }
        };
        let inbox = policy.is_inbox(parsed.as_str());
        if parsed.scheme() != "https" && !policy.allow_http && !inbox {
            return failed(
                ErrorClass::BlockedDestination,
                "plain http:// is not allowed".into(),
            );
        }
        // IP literals skip name resolution, so they are checked here.
        let literal: Option<IpAddr> = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(v4.into()),
            Some(url::Host::Ipv6(v6)) => Some(v6.into()),
            _ => None,
        };
        if let Some(ip) = literal
            && let Err(e) = check_address(ip, policy.allow_private || inbox, allowlist)
        {
            return failed(destination_class(&e), e.to_string());
        }
        let client = match self.clients.client_for(endpoint_id, allowlist, inbox) {
            Ok(c) => c,
            Err(e) => return failed(ErrorClass::Connect, e),
        };
        let mut request = client.post(parsed);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = match request.body(body).send().await {
            Ok(r) => r,
            Err(e) => {
                let (class, message) = classify(&e);
                return failed(class, message);
            }
        };
        let status = response.status().as_u16();
        let response_headers: BTreeMap<String, String> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), storable_text(v.as_bytes())))
            .collect();
        let retry_after = if status == 429 || status == 503 {
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        } else {
            None
        };
        let (body, body_error) = read_capped(response).await;
        Sent {
            status: Some(status),
            headers: Some(response_headers),
            body: Some(body),
            retry_after,
            // A 2xx whose body did not finish arriving counts as a timeout; for
            // any other status the status itself already records the failure.
            error: body_error
                .filter(|_| (200..300).contains(&status))
                .map(|_| {
                    (
                        ErrorClass::Timeout,
                        "the response body did not arrive in time".to_owned(),
                    )
                }),
        }
    }
}

/// Reads at most [`MAX_RESPONSE_BODY`] bytes; the rest is never downloaded.
/// Whatever bytes the merchant's server sent, the text can be stored.
async fn read_capped(mut response: reqwest::Response) -> (String, Option<String>) {
    let mut kept = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_RESPONSE_BODY - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if kept.len() >= MAX_RESPONSE_BODY {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                return (storable_text(&kept), Some(e.to_string()));
            }
        }
    }
    (storable_text(&kept), None)
}

fn destination_class(e: &DestinationError) -> ErrorClass {
    match e {
        DestinationError::Blocked { .. } => ErrorClass::BlockedDestination,
        DestinationError::NotInAllowlist { .. } => ErrorClass::NotInAllowlist,
        DestinationError::Dns(_) => ErrorClass::Dns,
    }
}

/// Names a transport failure by walking the error's causes.
fn classify(err: &reqwest::Error) -> (ErrorClass, String) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut chain = Vec::new();
    while let Some(e) = source {
        if let Some(d) = e.downcast_ref::<DestinationError>() {
            return (destination_class(d), d.to_string());
        }
        if e.downcast_ref::<rustls::Error>().is_some() {
            return (ErrorClass::Tls, e.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && inner.downcast_ref::<rustls::Error>().is_some()
        {
            return (ErrorClass::Tls, inner.to_string());
        }
        chain.push(e.to_string());
        source = e.source();
    }
    let message = chain.join(": ");
    // rustls' error can arrive wrapped in a type of the connector's own; its
    // message still names the certificate or the handshake.
    let lower = message.to_ascii_lowercase();
    if lower.contains("peer certificate")
        || lower.contains("certificate not valid")
        || lower.contains("handshake")
        || lower.contains("tls")
    {
        return (ErrorClass::Tls, message);
    }
    if err.is_timeout() {
        (ErrorClass::Timeout, message)
    } else {
        (ErrorClass::Connect, message)
    }
}
