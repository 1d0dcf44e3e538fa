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
    use hookline::endpoint::EndpointInput;

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

    pub async fn session() -> Result<(PortalState, MerchantCtx, hookline::audit::Actor), AppError> {
        let ctx = crate::state::require_merchant().await?;
        let state = crate::state::portal_state()?;
        let actor = crate::state::actor(&ctx.account).await;
        Ok((state, ctx, actor))
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
    let actor = crate::state::actor(&ctx.account).await;
    let summary = state.services().endpoint(&ctx.acting(&actor), &id).await?;
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
    let (state, ctx, actor) = server::session().await?;
    let input = server::input(url, description, event_types, payload_version, allowlist);
    let created = state
        .services()
        .create_endpoint(&ctx.acting(&actor), &input)
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
    let (state, ctx, actor) = server::session().await?;
    let input = server::input(url, description, event_types, payload_version, allowlist);
    state
        .services()
        .update_endpoint(&ctx.acting(&actor), &id, &input)
        .await?;
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
    let (state, ctx, actor) = server::session().await?;
    Ok(state
        .services()
        .set_enabled(&ctx.acting(&actor), &id, enabled, &held)
        .await?)
}

#[server(prefix = "/api", endpoint = "delete_endpoint")]
pub async fn delete_endpoint(id: String) -> Result<(), AppError> {
    let (state, ctx, actor) = server::session().await?;
    Ok(state
        .services()
        .delete_endpoint(&ctx.acting(&actor), &id)
        .await?)
}

/// The endpoint's current signing secret, after the merchant re-enters its
/// password. Failed passwords count towards the sign-in throttle.
#[server(prefix = "/api", endpoint = "reveal_secret")]
pub async fn reveal_secret(id: String, password: String) -> Result<String, AppError> {
    use crate::state::{Audited, audit, password_confirmed, wrong_password};
    let (state, ctx, actor) = server::session().await?;
    let who = ctx.acting(&actor);
    let services = state.services();
    services.owned(&who, &id).await?;
    let missing = "Enter your password to see the secret.";
    if !password_confirmed(&state, &ctx.account, &password, missing).await? {
        tracing::info!(merchant_id = %ctx.merchant_id, endpoint_id = %id, "secret reveal refused: wrong password");
        audit(
            &state,
            &ctx.account,
            Audited {
                merchant_id: Some(&ctx.merchant_id),
                action: hookline::audit::Action::PasswordRefused,
                target: Some(&id),
                detail: "revealing the endpoint's signing secret".into(),
                reason: "",
            },
        )
        .await?;
        return Err(wrong_password());
    }
    Ok(services.reveal_secret(&who, &id).await?)
}

/// Replaces the endpoint's secret; the old one keeps signing for `grace`.
#[server(prefix = "/api", endpoint = "rotate_secret")]
pub async fn rotate_secret(id: String, grace: String) -> Result<(), AppError> {
    let (state, ctx, actor) = server::session().await?;
    Ok(state
        .services()
        .rotate_secret(&ctx.acting(&actor), &id, &grace)
        .await?)
}

/// Sends one signed sample event of `event_type` to the endpoint now.
#[server(prefix = "/api", endpoint = "send_test_event")]
pub async fn send_test_event(id: String, event_type: String) -> Result<TestResult, AppError> {
    let (state, ctx, actor) = server::session().await?;
    let sent = state
        .services()
        .send_test_event(&ctx.acting(&actor), &id, &event_type)
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
    let (state, ctx, actor) = server::session().await?;
    Ok(state
        .services()
        .readiness_check(&ctx.acting(&actor), &id)
        .await?)
}
