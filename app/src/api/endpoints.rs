//! Server functions for a merchant's endpoints: list, create, edit, enable,
//! disable, delete, secrets and test events. Each one checks the session and
//! works only on the caller's endpoints in the mode the portal is in.

use crate::error::AppError;
use hookline::Mode;
use hookline::endpoint::{EndpointSummary, SecretInfo};
use hookline::readiness::ReadinessReport;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The endpoint list page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointList {
    pub mode: Mode,
    pub endpoints: Vec<EndpointSummary>,
    /// The addresses deliveries come from, for the merchant's firewall.
    pub egress_ips: Vec<String>,
}

/// One endpoint's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointPage {
    pub summary: EndpointSummary,
    pub secrets: Vec<SecretInfo>,
    pub egress_ips: Vec<String>,
    /// The latest readiness check of this endpoint.
    pub readiness: Option<ReadinessReport>,
    /// Whether opt-in event types may be chosen.
    pub opt_in_approved: bool,
}

/// What "send test event" shows: the request as sent and the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    pub event_id: String,
    pub success: bool,
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub error_class: Option<String>,
    pub error_message: Option<String>,
}

#[cfg(feature = "ssr")]
mod server {
    use crate::error::AppError;
    use crate::state::{MerchantCtx, PortalState};
    use hookline::endpoint::{EndpointInput, EndpointRules, EndpointSummary};

    /// The rules for `url`: plain http is fine for the installation's own
    /// sandbox inbox, otherwise only where the operator allows it; opt-in
    /// event types once the merchant's request was approved.
    pub async fn rules(
        state: &PortalState,
        ctx: &MerchantCtx,
        url: &str,
    ) -> Result<EndpointRules, AppError> {
        Ok(EndpointRules {
            allow_http: state.dispatcher.clients.policy().allow_http
                || url.trim().starts_with(&state.inbox_base),
            opt_in_approved: hookline::balance::approved(&state.db, &ctx.merchant_id, ctx.mode)
                .await?,
        })
    }

    pub fn egress(state: &PortalState) -> Vec<String> {
        state.egress_ips.iter().map(ToString::to_string).collect()
    }

    pub fn input(
        url: String,
        description: String,
        event_types: Vec<String>,
        payload_version: String,
        allowlist: String,
    ) -> EndpointInput {
        EndpointInput {
            url,
            description,
            event_types,
            payload_version,
            allowlist: vec![allowlist],
        }
    }

    /// Records one of the merchant's endpoint actions in the audit log.
    pub async fn audit(
        state: &PortalState,
        ctx: &MerchantCtx,
        action: hookline::audit::Action,
        endpoint_id: &str,
        detail: String,
    ) -> Result<(), AppError> {
        crate::state::audit(
            state,
            &ctx.account,
            crate::state::Audited {
                merchant_id: Some(&ctx.merchant_id),
                action,
                target: Some(endpoint_id),
                detail,
                reason: "",
            },
        )
        .await
    }

    /// The caller's endpoint in the portal's current mode, with its health.
    pub async fn summary(
        state: &PortalState,
        ctx: &MerchantCtx,
        endpoint_id: &str,
    ) -> Result<EndpointSummary, AppError> {
        hookline::endpoints::overview(&state.db, &*state.clock, &ctx.merchant_id, ctx.mode)
            .await?
            .into_iter()
            .find(|s| s.endpoint.id == endpoint_id)
            .ok_or(AppError::NotFound)
    }
}

#[server(prefix = "/api", endpoint = "list_endpoints")]
pub async fn list_endpoints() -> Result<EndpointList, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let endpoints =
        hookline::endpoints::overview(&state.db, &*state.clock, &ctx.merchant_id, ctx.mode).await?;
    Ok(EndpointList {
        mode: ctx.mode,
        endpoints,
        egress_ips: server::egress(&state),
    })
}

#[server(prefix = "/api", endpoint = "get_endpoint")]
pub async fn get_endpoint(id: String) -> Result<EndpointPage, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let summary = server::summary(&state, &ctx, &id).await?;
    let secrets =
        hookline::endpoints::secrets(&state.db, &*state.clock, &ctx.merchant_id, &id).await?;
    let readiness = hookline::readiness::latest(&state.db, &id).await?;
    let opt_in_approved =
        hookline::balance::approved(&state.db, &ctx.merchant_id, ctx.mode).await?;
    Ok(EndpointPage {
        summary,
        secrets,
        egress_ips: server::egress(&state),
        readiness,
        opt_in_approved,
    })
}

/// Creates an endpoint in the current mode. Answers its id.
#[server(prefix = "/api", endpoint = "create_endpoint")]
pub async fn create_endpoint(
    url: String,
    #[server(default)] description: String,
    #[server(default)] event_types: Vec<String>,
    #[server(default)] payload_version: String,
    #[server(default)] allowlist: String,
) -> Result<String, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let rules = server::rules(&state, &ctx, &url).await?;
    let input = server::input(url, description, event_types, payload_version, allowlist);
    let created = hookline::endpoints::create(
        &state.db,
        &state.dispatcher.sbox,
        &*state.clock,
        &ctx.merchant_id,
        ctx.mode,
        &input,
        rules,
    )
    .await?;
    let started = hookline::endpoints::hold_until_ready(&state.db, &*state.clock, &created).await?;
    tracing::info!(merchant_id = %ctx.merchant_id, endpoint_id = %created.id, mode = %ctx.mode, started, "endpoint created");
    let detail = format!(
        "{} endpoint {}; allowlist: {}",
        ctx.mode,
        created.url,
        if created.allowlist.is_empty() {
            "any public address".to_owned()
        } else {
            created.allowlist.join(" ")
        }
    );
    server::audit(
        &state,
        &ctx,
        hookline::audit::Action::EndpointCreated,
        &created.id,
        detail,
    )
    .await?;
    Ok(created.id)
}

/// Changes an endpoint's settings and subscriptions. Answers its id.
#[server(prefix = "/api", endpoint = "update_endpoint")]
pub async fn update_endpoint(
    id: String,
    url: String,
    #[server(default)] description: String,
    #[server(default)] event_types: Vec<String>,
    #[server(default)] payload_version: String,
    #[server(default)] allowlist: String,
) -> Result<String, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let before = server::summary(&state, &ctx, &id).await?.endpoint;
    let rules = server::rules(&state, &ctx, &url).await?;
    let input = server::input(url, description, event_types, payload_version, allowlist);
    let updated = hookline::endpoints::update(
        &state.db,
        &*state.clock,
        &ctx.merchant_id,
        &id,
        &input,
        rules,
    )
    .await?;
    // A live endpoint moved to a URL that never passed the check stops here.
    if updated.enabled {
        hookline::endpoints::hold_until_ready(&state.db, &*state.clock, &updated).await?;
    }
    tracing::info!(merchant_id = %ctx.merchant_id, endpoint_id = %id, "endpoint updated");
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
        let names = |t: &[hookline::events::EventType]| {
            t.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" ")
        };
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
        server::audit(
            &state,
            &ctx,
            hookline::audit::Action::EndpointChanged,
            &id,
            changes.join("; "),
        )
        .await?;
    }
    Ok(id)
}

/// Enables or disables an endpoint. On enabling, `held` says what happens to
/// the deliveries held while it was off: `deliver` (the default) or `discard`.
/// Answers how many held deliveries were released.
#[server(prefix = "/api", endpoint = "set_endpoint_enabled")]
pub async fn set_endpoint_enabled(
    id: String,
    enabled: bool,
    #[server(default)] held: String,
) -> Result<u64, AppError> {
    use crate::state::{portal_state, require_merchant};
    use hookline::endpoints::HeldDeliveries;
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let summary = server::summary(&state, &ctx, &id).await?;
    let released = if enabled {
        let endpoint = &summary.endpoint;
        if endpoint.mode == Mode::Live
            && !hookline::readiness::passed_in_sandbox(&state.db, &ctx.merchant_id, &endpoint.url)
                .await?
        {
            return Err(AppError::validation(hookline::FieldErrors::single(
                "enabled",
                "This URL has not passed the readiness check yet. Run it on a sandbox endpoint with the same URL, then enable this one.",
            )));
        }
        let held = match held.as_str() {
            "" | "deliver" => HeldDeliveries::Deliver,
            "discard" => HeldDeliveries::Discard,
            _ => {
                return Err(AppError::validation(hookline::FieldErrors::single(
                    "held",
                    "Choose whether to deliver or discard the held events.",
                )));
            }
        };
        let released =
            hookline::endpoints::enable(&state.db, &*state.clock, &ctx.merchant_id, &id, held)
                .await?;
        state.dispatcher.wakeup.wake();
        released
    } else {
        hookline::endpoints::disable(&state.db, &*state.clock, &ctx.merchant_id, &id).await?;
        0
    };
    tracing::info!(merchant_id = %ctx.merchant_id, endpoint_id = %id, enabled, released, "endpoint switched");
    let (action, detail) = if enabled {
        (
            hookline::audit::Action::EndpointEnabled,
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
        (hookline::audit::Action::EndpointDisabled, String::new())
    };
    server::audit(&state, &ctx, action, &id, detail).await?;
    Ok(released)
}

#[server(prefix = "/api", endpoint = "delete_endpoint")]
pub async fn delete_endpoint(id: String) -> Result<(), AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    server::summary(&state, &ctx, &id).await?;
    hookline::endpoints::delete(&state.db, &*state.clock, &ctx.merchant_id, &id).await?;
    tracing::info!(merchant_id = %ctx.merchant_id, endpoint_id = %id, "endpoint deleted");
    server::audit(
        &state,
        &ctx,
        hookline::audit::Action::EndpointDeleted,
        &id,
        String::new(),
    )
    .await?;
    Ok(())
}

/// The endpoint's current signing secret, after the merchant re-enters its
/// password. Failed passwords count towards the sign-in throttle.
#[server(prefix = "/api", endpoint = "reveal_secret")]
pub async fn reveal_secret(id: String, password: String) -> Result<String, AppError> {
    use crate::state::{client_address, portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    server::summary(&state, &ctx, &id).await?;
    if password.is_empty() {
        return Err(AppError::validation(hookline::FieldErrors::single(
            "password",
            "Enter your password to see the secret.",
        )));
    }
    let address = client_address().await;
    match hookline::accounts::sign_in(
        &state.db,
        &*state.clock,
        state.throttle,
        &ctx.account.email,
        &password,
        &address,
    )
    .await
    {
        Ok(_) => {}
        Err(hookline::Error::InvalidCredentials) => {
            tracing::info!(merchant_id = %ctx.merchant_id, endpoint_id = %id, "secret reveal refused: wrong password");
            server::audit(
                &state,
                &ctx,
                hookline::audit::Action::SecretRevealed,
                &id,
                "refused: wrong password".into(),
            )
            .await?;
            return Err(AppError::validation(hookline::FieldErrors::single(
                "password",
                "The password is not correct.",
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let secret = hookline::endpoints::current_secret(
        &state.db,
        &state.dispatcher.sbox,
        &*state.clock,
        &ctx.merchant_id,
        &id,
    )
    .await?;
    tracing::info!(merchant_id = %ctx.merchant_id, endpoint_id = %id, "secret revealed");
    server::audit(
        &state,
        &ctx,
        hookline::audit::Action::SecretRevealed,
        &id,
        String::new(),
    )
    .await?;
    Ok(secret.to_whsec())
}

/// Replaces the endpoint's secret; the old one keeps signing for `grace`.
#[server(prefix = "/api", endpoint = "rotate_secret")]
pub async fn rotate_secret(id: String, grace: String) -> Result<(), AppError> {
    use crate::state::{portal_state, require_merchant};
    use hookline::endpoint::GracePeriod;
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    server::summary(&state, &ctx, &id).await?;
    let Some(grace) = GracePeriod::ALL.into_iter().find(|g| g.as_str() == grace) else {
        return Err(AppError::validation(hookline::FieldErrors::single(
            "grace",
            "Choose how long the old secret keeps signing.",
        )));
    };
    hookline::endpoints::rotate_secret(
        &state.db,
        &state.dispatcher.sbox,
        &*state.clock,
        &ctx.merchant_id,
        &id,
        grace,
    )
    .await?;
    tracing::info!(merchant_id = %ctx.merchant_id, endpoint_id = %id, grace = grace.as_str(), "secret rotated");
    server::audit(
        &state,
        &ctx,
        hookline::audit::Action::SecretRotated,
        &id,
        format!("old secret signs for: {}", grace.label()),
    )
    .await?;
    Ok(())
}

/// Sends one signed sample event of `event_type` to the endpoint now.
#[server(prefix = "/api", endpoint = "send_test_event")]
pub async fn send_test_event(id: String, event_type: String) -> Result<TestResult, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    server::summary(&state, &ctx, &id).await?;
    let event_type = event_type
        .parse::<hookline::events::EventType>()
        .map_err(|message| {
            AppError::validation(hookline::FieldErrors::single("event_type", message))
        })?;
    let sent = state
        .dispatcher
        .send_test_event(&ctx.merchant_id, &id, event_type)
        .await?;
    Ok(TestResult {
        event_id: sent.event_id,
        success: sent.success,
        status: sent.status,
        latency_ms: sent.latency_ms,
        request_headers: sent.request_headers.into_iter().collect(),
        request_body: sent.request_body,
        response_headers: sent.response_headers.into_iter().collect(),
        response_body: sent.response_body,
        error_class: sent.error_class,
        error_message: sent.error_message,
    })
}

/// Runs the four readiness scenarios against the endpoint now.
#[server(prefix = "/api", endpoint = "run_readiness_check")]
pub async fn run_readiness_check(id: String) -> Result<ReadinessReport, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    server::summary(&state, &ctx, &id).await?;
    Ok(state
        .dispatcher
        .readiness_check(&ctx.merchant_id, &id)
        .await?)
}
