//! Runs the readiness check against an endpoint: real signed requests to its
//! URL, through the same guarded client as deliveries. Nothing is stored as
//! an event; the report is kept for the portal and the live-mode gate.

use super::worker::{Dispatcher, Sent};
use crate::endpoint::Cidr;
use crate::error::{Error, Result};
use crate::events::samples::sample_data;
use crate::events::{Envelope, EventType};
use crate::ids;
use crate::readiness::{ReadinessReport, Scenario, ScenarioResult};
use crate::signing::{SigningSecret, signature_header};
use crate::store::endpoints::{self as endpoint_store, EndpointRow};
use std::collections::BTreeMap;
use std::time::Instant;

/// How old the stale scenario's timestamp is (twice the usual tolerance).
const STALE_SECS: i64 = 10 * 60;

struct Probe {
    status: Option<u16>,
    error: Option<String>,
    latency_ms: u128,
}

impl Probe {
    fn accepted(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn refused(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (400..500).contains(&s))
    }

    fn describe(&self) -> String {
        match (&self.error, self.status) {
            (Some(e), _) => format!("failed: {e}"),
            (None, Some(s)) => format!("answered {s} in {} ms", self.latency_ms),
            (None, None) => "no answer".to_owned(),
        }
    }
}

impl From<(Sent, u128)> for Probe {
    fn from((sent, latency_ms): (Sent, u128)) -> Self {
        Probe {
            status: sent.status,
            error: sent
                .error
                .map(|(class, message)| format!("{} ({message})", class.as_str())),
            latency_ms,
        }
    }
}

impl Dispatcher {
    /// Runs the four scenarios against the merchant's endpoint and records the
    /// report. Another merchant's endpoint is `NotFound`.
    pub async fn readiness_check(
        &self,
        merchant_id: &str,
        endpoint_id: &str,
    ) -> Result<ReadinessReport> {
        let endpoint = endpoint_store::get_live(&self.db, endpoint_id)
            .await?
            .map(|e| e.row)
            .filter(|e| e.merchant_id == merchant_id)
            .ok_or(Error::NotFound)?;
        let secrets =
            crate::endpoints::signing_secrets(&self.db, &self.sbox, &*self.clock, &endpoint.id)
                .await?;
        let now_ms = self.clock.now_ms();
        let now = now_ms.div_euclid(1000);

        let signed = self.probe(&endpoint, &secrets, now).await?;
        let forged = self
            .probe(&endpoint, &[SigningSecret::generate()], now)
            .await?;
        let (first, second) = self.probe_twice(&endpoint, &secrets, now).await?;
        let stale = self.probe(&endpoint, &secrets, now - STALE_SECS).await?;

        let results = vec![
            ScenarioResult {
                scenario: Scenario::SignedEvent,
                passed: signed.accepted(),
                detail: signed.describe(),
            },
            ScenarioResult {
                scenario: Scenario::WrongSignature,
                passed: forged.refused(),
                detail: forged.describe(),
            },
            ScenarioResult {
                scenario: Scenario::DuplicateId,
                passed: first.accepted() && second.accepted(),
                detail: format!("first {}, then {}", first.describe(), second.describe()),
            },
            ScenarioResult {
                scenario: Scenario::StaleTimestamp,
                passed: stale.refused(),
                detail: stale.describe(),
            },
        ];
        let report = ReadinessReport {
            passed: results.iter().all(|r| r.passed),
            endpoint_id: endpoint.id.clone(),
            url: endpoint.url.clone(),
            checked_ms: now_ms,
            results,
        };
        let mode = endpoint.mode.parse().map_err(Error::Internal)?;
        crate::readiness::record(&self.db, merchant_id, mode, &report).await?;
        tracing::info!(endpoint_id = %endpoint.id, passed = report.passed, "readiness check");
        Ok(report)
    }

    /// A sample event addressed to `endpoint`, as its deliveries look.
    fn sample(&self, endpoint: &EndpointRow, id: &str) -> Result<Vec<u8>> {
        let event_type = EventType::PayinSucceeded;
        let now = self.clock.now_ms();
        Envelope::render(
            id.to_owned(),
            event_type,
            endpoint.mode.parse().map_err(Error::Internal)?,
            now,
            &sample_data(event_type, now),
            &endpoint.payload_version,
            true,
        )
        .map_err(Error::Internal)
    }

    async fn send_signed(
        &self,
        endpoint: &EndpointRow,
        secrets: &[SigningSecret],
        id: &str,
        timestamp: i64,
        body: Vec<u8>,
    ) -> Probe {
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_owned(), "application/json".to_owned());
        headers.insert("webhook-id".to_owned(), id.to_owned());
        headers.insert("webhook-timestamp".to_owned(), timestamp.to_string());
        headers.insert(
            "webhook-signature".to_owned(),
            signature_header(secrets.iter(), id, timestamp, &body),
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
                &headers,
                body.into(),
            )
            .await;
        Probe::from((sent, started.elapsed().as_millis()))
    }

    async fn probe(
        &self,
        endpoint: &EndpointRow,
        secrets: &[SigningSecret],
        timestamp: i64,
    ) -> Result<Probe> {
        let id = ids::event_id();
        let body = self.sample(endpoint, &id)?;
        Ok(self
            .send_signed(endpoint, secrets, &id, timestamp, body)
            .await)
    }

    /// The same message twice, as a retry after a lost answer would send it.
    async fn probe_twice(
        &self,
        endpoint: &EndpointRow,
        secrets: &[SigningSecret],
        timestamp: i64,
    ) -> Result<(Probe, Probe)> {
        let id = ids::event_id();
        let body = self.sample(endpoint, &id)?;
        let first = self
            .send_signed(endpoint, secrets, &id, timestamp, body.clone())
            .await;
        let second = self
            .send_signed(endpoint, secrets, &id, timestamp, body)
            .await;
        Ok((first, second))
    }
}
