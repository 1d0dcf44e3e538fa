//! The merchant's operations as the portal and the REST API both perform
//! them: ownership and mode checks, the rules that depend on the
//! installation (plain http only for the sandbox inbox, opt-in event types
//! once approved, live endpoints held until ready), waking the dispatcher,
//! and the audit entry. Neither surface adds a rule of its own.

use crate::audit::{Action, Actor, NewEntry};
use crate::clock::Clock;
use crate::dispatch::{Dispatcher, TestDelivery};
use crate::endpoint::{EndpointInput, EndpointRules, EndpointSummary, EndpointView, GracePeriod};
use crate::endpoints::{self, HeldDeliveries};
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::logs::{RecoverInput, RecoverPlan};
use crate::mode::Mode;
use crate::readiness::ReadinessReport;
use crate::store::Db;
use crate::validation::FieldErrors;
use std::sync::Arc;

/// Who acts, for which merchant, in which mode.
pub struct Merchant<'a> {
    pub id: &'a str,
    pub mode: Mode,
    pub actor: &'a Actor,
}

/// Everything the operations need from the installation.
#[derive(Clone, Debug)]
pub struct Services {
    pub dispatcher: Arc<Dispatcher>,
    /// `{public origin}/inbox/`: plain http is accepted for URLs under it.
    pub inbox_base: String,
}

impl Services {
    pub fn db(&self) -> &Db {
        &self.dispatcher.db
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.dispatcher.clock
    }

    async fn audit(
        &self,
        who: &Merchant<'_>,
        action: Action,
        target: &str,
        detail: String,
        reason: &str,
    ) -> Result<()> {
        crate::audit::record(
            self.db(),
            self.clock(),
            NewEntry {
                actor: who.actor,
                merchant_id: Some(who.id),
                action,
                target: Some(target),
                detail,
                reason,
            },
        )
        .await
    }

    /// The rules for an endpoint at `url`. The sandbox inbox takes sandbox
    /// endpoints only: live payloads must not land where a sandbox key reads.
    pub async fn rules(&self, who: &Merchant<'_>, url: &str) -> Result<EndpointRules> {
        let at_inbox = url.trim().starts_with(&self.inbox_base);
        if at_inbox && who.mode == Mode::Live {
            return Err(Error::Validation(FieldErrors::single(
                "url",
                "The sandbox inbox receives sandbox endpoints only; a live endpoint needs your own server.",
            )));
        }
        Ok(EndpointRules {
            allow_http: self.dispatcher.clients.policy().allow_http || at_inbox,
            opt_in_approved: crate::balance::approved(self.db(), who.id, who.mode).await?,
        })
    }

    /// The merchant's endpoints in its mode, with status and health.
    pub async fn endpoints(&self, who: &Merchant<'_>) -> Result<Vec<EndpointSummary>> {
        endpoints::overview(self.db(), self.clock(), who.id, who.mode).await
    }

    /// One of the merchant's endpoints in its mode; another merchant's or
    /// the other mode's is not found.
    pub async fn endpoint(&self, who: &Merchant<'_>, id: &str) -> Result<EndpointSummary> {
        self.endpoints(who)
            .await?
            .into_iter()
            .find(|s| s.endpoint.id == id)
            .ok_or(Error::NotFound)
    }

    /// One of the merchant's endpoints in its mode, without the health and
    /// traffic numbers [`Services::endpoint`] reads: the ownership check
    /// before acting on it.
    pub async fn owned(&self, who: &Merchant<'_>, id: &str) -> Result<EndpointView> {
        let endpoint = endpoints::get(self.db(), who.id, id).await?;
        if endpoint.mode != who.mode {
            return Err(Error::NotFound);
        }
        Ok(endpoint)
    }

    pub async fn create_endpoint(
        &self,
        who: &Merchant<'_>,
        input: &EndpointInput,
    ) -> Result<EndpointView> {
        let rules = self.rules(who, &input.url).await?;
        let created = endpoints::create(
            self.db(),
            &self.dispatcher.sbox,
            self.clock(),
            who.id,
            who.mode,
            input,
            rules,
        )
        .await?;
        let started = endpoints::hold_until_ready(self.db(), self.clock(), &created).await?;
        tracing::info!(merchant_id = %who.id, endpoint_id = %created.id, mode = %who.mode, started, "endpoint created");
        let detail = format!(
            "{} endpoint {}; allowlist: {}",
            who.mode,
            created.url,
            if created.allowlist.is_empty() {
                "any public address".to_owned()
            } else {
                created.allowlist.join(" ")
            }
        );
        self.audit(who, Action::EndpointCreated, &created.id, detail, "")
            .await?;
        endpoints::get(self.db(), who.id, &created.id).await
    }

    /// Replaces the endpoint's settings and subscriptions.
    pub async fn update_endpoint(
        &self,
        who: &Merchant<'_>,
        id: &str,
        input: &EndpointInput,
    ) -> Result<EndpointView> {
        let before = self.owned(who, id).await?;
        let rules = self.rules(who, &input.url).await?;
        let updated = endpoints::update(self.db(), self.clock(), who.id, id, input, rules).await?;
        // A live endpoint moved to a URL that never passed the check stops here.
        if updated.enabled {
            endpoints::hold_until_ready(self.db(), self.clock(), &updated).await?;
        }
        tracing::info!(merchant_id = %who.id, endpoint_id = %id, "endpoint updated");
        let mut changes = Vec::new();
        if before.url != updated.url {
            changes.push(format!("url: {} → {}", before.url, updated.url));
        }
        if before.allowlist != updated.allowlist {
            changes.push(format!(
                "allowlist: [{}] → [{}]",
                before.allowlist.join(" "),
                updated.allowlist.join(" ")
            ));
        }
        if before.event_types != updated.event_types {
            let names =
                |t: &[EventType]| t.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" ");
            changes.push(format!(
                "events: [{}] → [{}]",
                names(&before.event_types),
                names(&updated.event_types)
            ));
        }
        if before.payload_version != updated.payload_version {
            changes.push(format!(
                "payload version: {} → {}",
                before.payload_version, updated.payload_version
            ));
        }
        if !changes.is_empty() {
            self.audit(who, Action::EndpointChanged, id, changes.join("; "), "")
                .await?;
        }
        endpoints::get(self.db(), who.id, id).await
    }

    /// Turns an endpoint on or off. On enabling, `held` says what happens
    /// to the deliveries held meanwhile: `deliver` (also when empty) or
    /// `discard`. A live endpoint is enabled only once its URL passed the
    /// readiness check in sandbox. Answers how many held deliveries were released.
    pub async fn set_enabled(
        &self,
        who: &Merchant<'_>,
        id: &str,
        enabled: bool,
        held: &str,
    ) -> Result<u64> {
        let endpoint = self.owned(who, id).await?;
        let released = if enabled {
            if endpoint.mode == Mode::Live
                && !crate::readiness::passed_in_sandbox(self.db(), who.id, &endpoint.url).await?
            {
                return Err(Error::Validation(FieldErrors::single(
                    "enabled",
                    "This URL has not passed the readiness check yet. Run it on a sandbox endpoint with the same URL, then enable this one.",
                )));
            }
            let choice = match held {
                "" | "deliver" => HeldDeliveries::Deliver,
                "discard" => HeldDeliveries::Discard,
                _ => {
                    return Err(Error::Validation(FieldErrors::single(
                        "held",
                        "Choose whether to deliver or discard the held events.",
                    )));
                }
            };
            let released = endpoints::enable(self.db(), self.clock(), who.id, id, choice).await?;
            self.dispatcher.wakeup.wake();
            released
        } else {
            endpoints::disable(self.db(), self.clock(), who.id, id).await?;
            0
        };
        tracing::info!(merchant_id = %who.id, endpoint_id = %id, enabled, released, "endpoint switched");
        let (action, detail) = if enabled {
            (
                Action::EndpointEnabled,
                format!(
                    "{released} held delivery(ies) released ({})",
                    if held == "discard" {
                        "discarded"
                    } else {
                        "delivered"
                    }
                ),
            )
        } else {
            (Action::EndpointDisabled, String::new())
        };
        self.audit(who, action, id, detail, "").await?;
        Ok(released)
    }

    /// Deletes the endpoint; its logs stay.
    pub async fn delete_endpoint(&self, who: &Merchant<'_>, id: &str) -> Result<()> {
        self.owned(who, id).await?;
        endpoints::delete(self.db(), self.clock(), who.id, id).await?;
        tracing::info!(merchant_id = %who.id, endpoint_id = %id, "endpoint deleted");
        self.audit(who, Action::EndpointDeleted, id, String::new(), "")
            .await
    }

    /// The endpoint's current secret as `whsec_…`, recorded in the audit
    /// log. The caller has already proved it may see it (password, or an
    /// API key allowed to read secrets).
    pub async fn reveal_secret(&self, who: &Merchant<'_>, id: &str) -> Result<String> {
        self.owned(who, id).await?;
        let secret =
            endpoints::current_secret(self.db(), &self.dispatcher.sbox, self.clock(), who.id, id)
                .await?;
        tracing::info!(merchant_id = %who.id, endpoint_id = %id, "secret revealed");
        self.audit(who, Action::SecretRevealed, id, String::new(), "")
            .await?;
        Ok(secret.to_whsec())
    }

    /// Replaces the secret; the old one keeps signing for `grace`
    /// (`none`, `one_hour`, `one_day`, `seven_days`).
    pub async fn rotate_secret(&self, who: &Merchant<'_>, id: &str, grace: &str) -> Result<()> {
        self.owned(who, id).await?;
        let Some(grace) = GracePeriod::ALL.into_iter().find(|g| g.as_str() == grace) else {
            return Err(Error::Validation(FieldErrors::single(
                "grace",
                format!(
                    "Choose how long the old secret keeps signing: {}.",
                    GracePeriod::ALL.map(|g| g.as_str()).join(", ")
                ),
            )));
        };
        endpoints::rotate_secret(
            self.db(),
            &self.dispatcher.sbox,
            self.clock(),
            who.id,
            id,
            grace,
        )
        .await?;
        tracing::info!(merchant_id = %who.id, endpoint_id = %id, grace = grace.as_str(), "secret rotated");
        self.audit(
            who,
            Action::SecretRotated,
            id,
            format!("old secret signs for: {}", grace.label()),
            "",
        )
        .await
    }

    /// Sends one signed sample event of `event_type` to the endpoint now.
    pub async fn send_test_event(
        &self,
        who: &Merchant<'_>,
        id: &str,
        event_type: &str,
    ) -> Result<TestDelivery> {
        self.owned(who, id).await?;
        let event_type = event_type
            .parse::<EventType>()
            .map_err(|message| Error::Validation(FieldErrors::single("event_type", message)))?;
        self.dispatcher
            .send_test_event(who.id, id, event_type)
            .await
    }

    /// Runs the four readiness scenarios against the endpoint now.
    pub async fn readiness_check(&self, who: &Merchant<'_>, id: &str) -> Result<ReadinessReport> {
        self.owned(who, id).await?;
        self.dispatcher.readiness_check(who.id, id).await
    }

    /// The merchant's sandbox inbox (made on first use) and what it received.
    pub async fn inbox(&self, who: &Merchant<'_>) -> Result<crate::inbox::InboxView> {
        if who.mode != Mode::Sandbox {
            return Err(Error::NotFound);
        }
        let url = crate::inbox::url(self.db(), self.clock(), &self.inbox_base, who.id).await?;
        let messages = crate::inbox::messages(self.db(), who.id).await?;
        Ok(crate::inbox::InboxView { url, messages })
    }

    /// Sends an event again to its enabled endpoints. Answers how many
    /// deliveries were queued.
    pub async fn resend(&self, who: &Merchant<'_>, event_id: &str, reason: &str) -> Result<u64> {
        let queued =
            crate::logs::ops::resend(self.db(), self.clock(), who.id, who.mode, event_id).await?;
        self.dispatcher.wakeup.wake();
        tracing::info!(merchant_id = %who.id, event_id = %event_id, queued, "event resent");
        self.audit(
            who,
            Action::EventResent,
            event_id,
            format!("{queued} delivery(ies) queued"),
            reason,
        )
        .await?;
        Ok(queued)
    }

    /// Sends an endpoint's failed deliveries in a time range again, paced.
    pub async fn recover(
        &self,
        who: &Merchant<'_>,
        input: &RecoverInput,
        reason: &str,
    ) -> Result<RecoverPlan> {
        let plan =
            crate::logs::ops::recover(self.db(), self.clock(), who.id, who.mode, input).await?;
        self.dispatcher.wakeup.wake();
        tracing::info!(merchant_id = %who.id, endpoint_id = %plan.endpoint_id, queued = plan.to_send, "recover started");
        self.audit(
            who,
            Action::EventsRecovered,
            &plan.endpoint_id,
            format!(
                "{} failed delivery(ies) from {} to {} queued",
                plan.to_send,
                crate::time::format_utc(plan.from_ms),
                crate::time::format_utc(plan.to_ms)
            ),
            reason,
        )
        .await?;
        Ok(plan)
    }
}
