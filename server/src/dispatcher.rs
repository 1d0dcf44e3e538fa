//! The dispatcher as a background task of the server process.

use crate::config::Settings;
use crate::error::ServerError;
use hookline::clock::SharedClock;
use hookline::crypto::SecretBox;
use hookline::dispatch::{ClientCache, DeliveryPolicy, Dispatcher};
use hookline::metrics::Metrics;
use hookline::retry::RetrySchedule;
use hookline::store::Db;
use std::sync::Arc;
use std::time::Duration;

/// How often an idle node looks for due work.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

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
        }),
        node_id: node_id(),
        lease: Duration::from_secs(60),
        batch_size: 100,
        max_in_flight: 64,
        max_per_endpoint: 8,
        metrics,
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

/// Steps the dispatcher until the process ends: at once while there is work,
/// every poll interval when idle, backing off while the database is away.
pub async fn run(dispatcher: Arc<Dispatcher>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match dispatcher.step().await {
            Ok(0) => tokio::time::sleep(POLL_INTERVAL).await,
            Ok(_) => backoff = Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "dispatcher step failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
