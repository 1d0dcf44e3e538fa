//! Endpoint operations. Every call is scoped to the caller's merchant: an id
//! belonging to someone else is simply not found.

use crate::clock::Clock;
use crate::crypto::SecretBox;
use crate::endpoint::{
    EndpointInput, EndpointRules, EndpointStatus, EndpointSummary, EndpointView, GracePeriod,
    HealthBadge, SecretInfo,
};
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::ids;
use crate::mode::Mode;
use crate::signing::SigningSecret;
use crate::store::Db;
use crate::store::endpoints::{self as store, EndpointRow, SecretRow};
pub use crate::store::health::HeldDeliveries;
use crate::store::health::{self, DisabledReason};

fn view(row: EndpointRow, types: Vec<String>) -> Result<EndpointView> {
    Ok(EndpointView {
        mode: row.mode.parse().map_err(Error::Internal)?,
        event_types: types
            .iter()
            .map(|t| t.parse::<EventType>())
            .collect::<std::result::Result<_, _>>()
            .map_err(Error::Internal)?,
        allowlist: row
            .allowlist
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect(),
        id: row.id,
        merchant_id: row.merchant_id,
        url: row.url,
        description: row.description,
        payload_version: row.payload_version,
        enabled: row.enabled,
        created_ms: row.created_ms,
        updated_ms: row.updated_ms,
    })
}

fn seal(sbox: &SecretBox, secret: &SigningSecret, now: i64) -> Result<SecretRow> {
    let id = ids::secret_id();
    Ok(SecretRow {
        sealed: sbox.seal(secret.as_bytes(), &id)?,
        id,
        created_ms: now,
        expires_ms: None,
    })
}

/// Creates an enabled endpoint with a fresh signing secret.
pub async fn create(
    db: &Db,
    sbox: &SecretBox,
    clock: &dyn Clock,
    merchant_id: &str,
    mode: Mode,
    input: &EndpointInput,
    rules: EndpointRules,
) -> Result<EndpointView> {
    let valid = input.validate(rules)?;
    let now = clock.now_ms();
    let row = EndpointRow {
        id: ids::endpoint_id(),
        merchant_id: merchant_id.to_owned(),
        mode: mode.as_str().to_owned(),
        url: valid.url.as_str().to_owned(),
        description: valid.description,
        payload_version: valid.payload_version,
        allowlist: join_allowlist(&valid.allowlist),
        enabled: true,
        created_ms: now,
        updated_ms: now,
    };
    let types: Vec<&str> = valid.event_types.iter().map(|t| t.as_str()).collect();
    let secret = seal(sbox, &SigningSecret::generate(), now)?;
    store::insert(db, &row, &types, &secret).await?;
    get(db, merchant_id, &row.id).await
}

pub async fn get(db: &Db, merchant_id: &str, endpoint_id: &str) -> Result<EndpointView> {
    let (row, types) = store::get(db, merchant_id, endpoint_id)
        .await?
        .ok_or(Error::NotFound)?;
    view(row, types)
}

pub async fn list(db: &Db, merchant_id: &str, mode: Mode) -> Result<Vec<EndpointView>> {
    store::list(db, merchant_id, mode.as_str())
        .await?
        .into_iter()
        .map(|(row, types)| view(row, types))
        .collect()
}

/// The merchant turns an endpoint off. Its pending deliveries are held, and
/// new events are not sent to it until it is enabled again.
pub async fn disable(
    db: &Db,
    clock: &dyn Clock,
    merchant_id: &str,
    endpoint_id: &str,
) -> Result<()> {
    get(db, merchant_id, endpoint_id).await?;
    health::disable(db, endpoint_id, DisabledReason::Merchant, clock.now_ms()).await?;
    Ok(())
}

/// Keeps a live endpoint off until its URL passes the readiness check in
/// sandbox. Answers false (and disables it) when it has not.
pub async fn hold_until_ready(db: &Db, clock: &dyn Clock, endpoint: &EndpointView) -> Result<bool> {
    if endpoint.mode != Mode::Live
        || crate::readiness::passed_in_sandbox(db, &endpoint.merchant_id, &endpoint.url).await?
    {
        return Ok(true);
    }
    health::disable(db, &endpoint.id, DisabledReason::NotReady, clock.now_ms()).await?;
    Ok(false)
}

/// Turns an endpoint on again, whoever turned it off, with a clean health
/// record. The deliveries held meanwhile are delivered now or discarded, as
/// the merchant chooses; answers how many.
pub async fn enable(
    db: &Db,
    clock: &dyn Clock,
    merchant_id: &str,
    endpoint_id: &str,
    held: HeldDeliveries,
) -> Result<u64> {
    get(db, merchant_id, endpoint_id).await?;
    health::enable(db, endpoint_id, held, clock.now_ms()).await
}

/// The secrets that sign a delivery made at the clock's time, current first.
pub async fn signing_secrets(
    db: &Db,
    sbox: &SecretBox,
    clock: &dyn Clock,
    endpoint_id: &str,
) -> Result<Vec<SigningSecret>> {
    open_secrets(
        sbox,
        &store::live_secrets(db, endpoint_id, clock.now_ms()).await?,
    )
}

/// A stored secret, unsealed.
pub fn open_secret(sbox: &SecretBox, row: &store::SecretRow) -> Result<SigningSecret> {
    Ok(SigningSecret::from_bytes(sbox.open(&row.sealed, &row.id)?))
}

/// Stored secrets, unsealed, in their order; an error if any cannot be opened.
pub fn open_secrets(sbox: &SecretBox, rows: &[store::SecretRow]) -> Result<Vec<SigningSecret>> {
    rows.iter().map(|row| open_secret(sbox, row)).collect()
}

/// The merchant's current secret for its endpoint.
pub async fn current_secret(
    db: &Db,
    sbox: &SecretBox,
    clock: &dyn Clock,
    merchant_id: &str,
    endpoint_id: &str,
) -> Result<SigningSecret> {
    get(db, merchant_id, endpoint_id).await?;
    signing_secrets(db, sbox, clock, endpoint_id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal(format!("endpoint {endpoint_id} has no current secret")))
}

/// Replaces the current secret. The old one keeps signing for `grace`
/// (zero: it stops at once), so receivers can switch without dropping events.
pub async fn rotate_secret(
    db: &Db,
    sbox: &SecretBox,
    clock: &dyn Clock,
    merchant_id: &str,
    endpoint_id: &str,
    grace: GracePeriod,
) -> Result<()> {
    get(db, merchant_id, endpoint_id).await?;
    let now = clock.now_ms();
    let new = seal(sbox, &SigningSecret::generate(), now)?;
    store::rotate(db, endpoint_id, &new, now + grace.millis()).await
}

/// The secrets still signing the endpoint's deliveries, current first, without their values.
pub async fn secrets(
    db: &Db,
    clock: &dyn Clock,
    merchant_id: &str,
    endpoint_id: &str,
) -> Result<Vec<SecretInfo>> {
    get(db, merchant_id, endpoint_id).await?;
    Ok(store::secrets_info(db, endpoint_id, clock.now_ms())
        .await?
        .into_iter()
        .map(|(id, created_ms, expires_ms)| SecretInfo {
            id,
            created_ms,
            expires_ms,
        })
        .collect())
}

/// Changes what the merchant may edit; subscriptions are replaced as a whole.
pub async fn update(
    db: &Db,
    clock: &dyn Clock,
    merchant_id: &str,
    endpoint_id: &str,
    input: &EndpointInput,
    rules: EndpointRules,
) -> Result<EndpointView> {
    let valid = input.validate(rules)?;
    let (mut row, _) = store::get(db, merchant_id, endpoint_id)
        .await?
        .ok_or(Error::NotFound)?;
    row.url = valid.url.as_str().to_owned();
    row.description = valid.description;
    row.payload_version = valid.payload_version;
    row.allowlist = join_allowlist(&valid.allowlist);
    row.updated_ms = clock.now_ms();
    let types: Vec<&str> = valid.event_types.iter().map(|t| t.as_str()).collect();
    if !store::update(db, &row, &types).await? {
        return Err(Error::NotFound);
    }
    get(db, merchant_id, endpoint_id).await
}

/// Deletes the endpoint; its logs stay. Undelivered events to it are marked failed.
pub async fn delete(
    db: &Db,
    clock: &dyn Clock,
    merchant_id: &str,
    endpoint_id: &str,
) -> Result<()> {
    if store::delete(db, merchant_id, endpoint_id, clock.now_ms()).await? {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// The merchant's endpoints in one mode with status, health and the last 24 hours' numbers.
pub async fn overview(
    db: &Db,
    clock: &dyn Clock,
    merchant_id: &str,
    mode: Mode,
) -> Result<Vec<EndpointSummary>> {
    let now = clock.now_ms();
    let endpoints = list(db, merchant_id, mode).await?;
    let stats = store::stats(db, merchant_id, mode.as_str(), now - 24 * 3_600_000).await?;
    Ok(endpoints
        .into_iter()
        .map(|endpoint| {
            let stat = stats.iter().find(|s| s.id == endpoint.id);
            let health = stat.map(|s| s.health.clone()).unwrap_or_default();
            summarise(endpoint, &health, stat, now)
        })
        .collect())
}

fn summarise(
    endpoint: EndpointView,
    health: &health::Health,
    stat: Option<&store::EndpointStats>,
    now: i64,
) -> EndpointSummary {
    let status = match (endpoint.enabled, health.disabled_reason.as_deref()) {
        (true, _) => EndpointStatus::Enabled,
        (false, Some("failing" | "gone")) => EndpointStatus::AutoDisabled,
        (false, _) => EndpointStatus::Disabled,
    };
    let disabled_note = match health.disabled_reason.as_deref() {
        Some("failing") if !endpoint.enabled => Some(
            "Hookline disabled this endpoint because every delivery failed for days. New events are held until you enable it.".to_owned(),
        ),
        Some("gone") if !endpoint.enabled => Some(
            "Hookline disabled this endpoint because it answered 410 Gone. New events are held until you enable it.".to_owned(),
        ),
        Some("not_ready") if !endpoint.enabled => Some(
            "Live endpoints start once their URL has passed the readiness check: run it on a sandbox endpoint with this URL, then enable this one.".to_owned(),
        ),
        _ => None,
    };
    let badge = if !endpoint.enabled {
        HealthBadge::Off
    } else if health.breaker_until_ms.is_some_and(|until| until > now) {
        HealthBadge::Paused
    } else if health.consecutive_failures > 0 {
        HealthBadge::Failing
    } else {
        HealthBadge::Healthy
    };
    EndpointSummary {
        status,
        health: badge,
        disabled_note,
        consecutive_failures: health.consecutive_failures,
        last_success_ms: health.last_success_ms,
        attempts_24h: stat.map_or(0, |s| s.attempts),
        succeeded_24h: stat.map_or(0, |s| s.succeeded),
        held: stat.map_or(0, |s| s.held),
        endpoint,
    }
}

fn join_allowlist(allowlist: &[crate::endpoint::Cidr]) -> String {
    allowlist
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}
