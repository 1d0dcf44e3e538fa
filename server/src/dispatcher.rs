//! The dispatcher as a background task of the server process.

use crate::config::Settings;
use crate::error::ServerError;
use hookline::clock::SharedClock;
use hookline::crypto::SecretBox;
use hookline::dispatch::{BreakerPolicy, ClientCache, DeliveryPolicy, Dispatcher, Gates, Wakeup};
use hookline::metrics::Metrics;
use hookline::retry::RetrySchedule;
use hookline::store::Db;
use std::sync::Arc;
use std::time::Duration;

/// How often an idle node looks for due work when nothing wakes it.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub fn build(
    settings: &Settings,
    db: Db,
    clock: SharedClock,
    metrics: Arc<Metrics>,
) -> Result<Dispatcher, ServerError> {
    let key = settings
        .secret_key
        .as_ref()
        .ok_or_else(|| ServerError::Internal("the dispatcher needs the secret key".into()))?;
    Ok(Dispatcher {
        db,
        sbox: SecretBox::new(key.expose()),
        clock,
        schedule: RetrySchedule {
            delays: settings.delivery.retry_delays.clone(),
            ..RetrySchedule::default()
        },
        clients: ClientCache::new(DeliveryPolicy {
            connect_timeout: settings.delivery.connect_timeout,
            timeout: settings.delivery.timeout,
            allow_http: settings.dev.allow_http,
            allow_private: settings.dev.allow_private,
            source_address: settings.delivery.source_address,
            extra_roots_pem: settings.delivery.extra_roots_pem.iter().cloned().collect(),
            inbox_prefix: Some(crate::http::inbox::base(&settings.public_origin)),
        }),
        node_id: node_id(),
        lease: settings.delivery.lease,
        batch_size: 250,
        max_in_flight: settings.delivery.max_in_flight,
        // A quarter of it until the endpoint has answered well (see EndpointGate).
        max_per_endpoint: 32,
        metrics,
        breaker: BreakerPolicy {
            disable_after: settings.delivery.auto_disable_after,
            ..BreakerPolicy::default()
        },
        wakeup: Wakeup::default(),
        gates: Gates::default(),
    })
}

/// A name for this process's leases: host, process id and a random suffix.
fn node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "node".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        crate::config::generate_token(6)
    )
}

/// Runs the dispatcher until the process ends. On SQLite (one node by
/// design) leases left by an earlier process are freed first; on PostgreSQL
/// they expire and any node takes the work over.
pub async fn run(dispatcher: Arc<Dispatcher>) {
    if dispatcher.db.backend() == hookline::store::Backend::Sqlite {
        match hookline::store::deliveries::release_all_leases(&dispatcher.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deliveries = n,
                "took over deliveries leased before a restart"
            ),
            Err(e) => tracing::warn!(error = %e, "could not free earlier leases; they will expire"),
        }
    }
    dispatcher.wakeup.listen(&dispatcher.db);
    dispatcher.run(POLL_INTERVAL).await;
}

/// Purges what is past retention every few minutes, in small batches, and
/// releases any delivery a race left held for an endpoint enabled again.
pub async fn retention(db: Db, clock: SharedClock, period: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        match hookline::retention::purge(
            &db,
            clock.now_ms(),
            period,
            hookline::retention::DEFAULT_BATCH,
        )
        .await
        {
            Ok(p) if p.events + p.attempts + p.deliveries > 0 => tracing::info!(
                events = p.events,
                deliveries = p.deliveries,
                attempts = p.attempts,
                "retention purge"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention purge failed; trying again later"),
        }
        match hookline::store::health::release_stray_held(&db, clock.now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                deliveries = n,
                "released deliveries held after their endpoint was enabled again"
            ),
            Err(e) => tracing::warn!(error = %e, "releasing stray held deliveries failed"),
        }
    }
}
