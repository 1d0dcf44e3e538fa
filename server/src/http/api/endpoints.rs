//! `/v1/endpoints`: create, list, read, change, delete, enable and disable
//! endpoints; read and rotate their secrets; send test events; run the
//! readiness check; recover failed events.

use super::idempotency::MAX_BODY;
use super::{ApiCaller, List, Op, schema};
use crate::http::AppState;
use crate::http::ingest::{read_json, read_json_or_default};
use crate::http::problem::Problem;
use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use hookline::dispatch::TestDelivery;
use hookline::endpoint::{EndpointInput, EndpointSummary, SecretInfo};
use hookline::logs::{RecoverInput, RecoverPlan};
use hookline::readiness::ReadinessReport;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A new endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// `https://` URL that receives the events.
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Event types to send, such as `payin.succeeded`.
    pub event_types: Vec<String>,
    /// Payload version; the newest when left out.
    #[serde(default)]
    pub payload_version: String,
    /// CIDRs the URL's address must be in; empty means any public address.
    #[serde(default)]
    pub allowlist: Vec<String>,
}

/// Changes to an endpoint: fields left out stay as they are.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub payload_version: Option<String>,
    pub allowlist: Option<Vec<String>>,
}

/// What happens to the events held while the endpoint was off.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Enable {
    /// `deliver` (the default) or `discard`.
    #[serde(default)]
    pub held: String,
}

/// How many held deliveries an enable released.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Released {
    pub released: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Secret {
    /// The current signing secret, `whsec_…`.
    pub secret: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// How long the old secret keeps signing: `none`, `one_hour`, `one_day` or `seven_days`.
    pub grace: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEvent {
    /// The type of the sample event, such as `payin.succeeded`.
    pub event_type: String,
}

/// A time range of failed deliveries to send again.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    /// Start of the range, UTC: `2026-11-28T14:05:00Z`.
    pub from: String,
    /// End of the range, UTC.
    pub to: String,
    /// Only count what would be sent.
    #[serde(default)]
    pub dry_run: bool,
}

type Answer<T> = Result<Json<T>, Problem>;

async fn summary(state: &AppState, c: &ApiCaller, id: &str) -> Answer<EndpointSummary> {
    Ok(Json(
        state.portal.services().endpoint(&c.merchant(), id).await?,
    ))
}

async fn list(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
) -> Answer<List<EndpointSummary>> {
    let data = state.portal.services().endpoints(&c.merchant()).await?;
    Ok(Json(List { data }))
}

async fn create(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    body: Body,
) -> Result<Response, Problem> {
    let new: NewEndpoint = read_json(body, MAX_BODY).await?;
    let input = EndpointInput {
        url: new.url,
        description: new.description,
        event_types: new.event_types,
        payload_version: new.payload_version,
        allowlist: new.allowlist,
    };
    let created = state
        .portal
        .services()
        .create_endpoint(&c.merchant(), &input)
        .await?;
    let Json(s) = summary(&state, &c, &created.id).await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

async fn read(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Answer<EndpointSummary> {
    summary(&state, &c, &id).await
}

async fn change(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
    body: Body,
) -> Answer<EndpointSummary> {
    let changes: EndpointChanges = read_json(body, MAX_BODY).await?;
    let services = state.portal.services();
    let now = services.owned(&c.merchant(), &id).await?;
    let input = EndpointInput {
        url: changes.url.unwrap_or(now.url),
        description: changes.description.unwrap_or(now.description),
        event_types: changes.event_types.unwrap_or_else(|| {
            now.event_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect()
        }),
        payload_version: changes.payload_version.unwrap_or(now.payload_version),
        allowlist: changes.allowlist.unwrap_or(now.allowlist),
    };
    services.update_endpoint(&c.merchant(), &id, &input).await?;
    summary(&state, &c, &id).await
}

async fn remove(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    state
        .portal
        .services()
        .delete_endpoint(&c.merchant(), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
    body: Body,
) -> Answer<Released> {
    let choice: Enable = read_json_or_default(body, MAX_BODY).await?;
    let released = state
        .portal
        .services()
        .set_enabled(&c.merchant(), &id, true, &choice.held)
        .await?;
    Ok(Json(Released { released }))
}

async fn disable(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Answer<EndpointSummary> {
    state
        .portal
        .services()
        .set_enabled(&c.merchant(), &id, false, "")
        .await?;
    summary(&state, &c, &id).await
}

async fn secret(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Answer<Secret> {
    let services = state.portal.services();
    services.owned(&c.merchant(), &id).await?;
    if !c.caller.read_secrets {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "This API key may not read signing secrets; create one that may in the portal.",
        ));
    }
    let secret = services.reveal_secret(&c.merchant(), &id).await?;
    Ok(Json(Secret { secret }))
}

async fn rotate(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
    body: Body,
) -> Answer<List<SecretInfo>> {
    let rotate: Rotate = read_json(body, MAX_BODY).await?;
    let services = state.portal.services();
    services
        .rotate_secret(&c.merchant(), &id, &rotate.grace)
        .await?;
    let data = hookline::endpoints::secrets(
        &state.portal.db,
        &*state.portal.clock,
        &c.caller.merchant_id,
        &id,
    )
    .await?;
    Ok(Json(List { data }))
}

async fn test(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
    body: Body,
) -> Answer<TestDelivery> {
    let test: TestEvent = read_json(body, MAX_BODY).await?;
    Ok(Json(
        state
            .portal
            .services()
            .send_test_event(&c.merchant(), &id, &test.event_type)
            .await?,
    ))
}

async fn readiness(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
) -> Answer<ReadinessReport> {
    Ok(Json(
        state
            .portal
            .services()
            .readiness_check(&c.merchant(), &id)
            .await?,
    ))
}

async fn recover(
    State(state): State<AppState>,
    Extension(c): Extension<ApiCaller>,
    Path(id): Path<String>,
    body: Body,
) -> Answer<RecoverPlan> {
    let r: Recover = read_json(body, MAX_BODY).await?;
    let services = state.portal.services();
    // Another merchant's (or mode's) endpoint is not found, as on every path.
    services.owned(&c.merchant(), &id).await?;
    let input = RecoverInput {
        endpoint: id,
        from: r.from,
        to: r.to,
    };
    let plan = if r.dry_run {
        hookline::logs::ops::recover_preview(
            &state.portal.db,
            &c.caller.merchant_id,
            c.caller.mode,
            &input,
        )
        .await?
    } else {
        services.recover(&c.merchant(), &input, "").await?
    };
    Ok(Json(plan))
}

pub fn ops() -> Vec<Op> {
    vec![
        Op {
            method: Method::GET,
            path: "/v1/endpoints",
            id: "listEndpoints",
            summary: "List endpoints",
            description: "The key's mode's endpoints with status, health and the last 24 hours' numbers.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<List<EndpointSummary>>)),
            response_example: Some(super::examples::endpoint_list),
            handler: || get(list),
        },
        Op {
            method: Method::POST,
            path: "/v1/endpoints",
            id: "createEndpoint",
            summary: "Create an endpoint",
            description: "Creates an enabled endpoint with a fresh signing secret. A live endpoint starts only once its URL has passed the readiness check in sandbox.",
            query: &[],
            request: Some(schema::<NewEndpoint>),
            request_example: Some(|| {
                json!({"url": "https://shop.example.com/webhooks", "description": "orders service",
                       "event_types": ["payin.succeeded", "refund.updated"], "allowlist": []})
            }),
            response: (201, Some(schema::<EndpointSummary>)),
            response_example: Some(super::examples::endpoint),
            handler: || post(create),
        },
        Op {
            method: Method::GET,
            path: "/v1/endpoints/{id}",
            id: "getEndpoint",
            summary: "Get an endpoint",
            description: "One endpoint with its status and health.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<EndpointSummary>)),
            response_example: Some(super::examples::endpoint),
            handler: || get(read),
        },
        Op {
            method: Method::PATCH,
            path: "/v1/endpoints/{id}",
            id: "updateEndpoint",
            summary: "Change an endpoint",
            description: "Fields left out keep their value; `event_types` replaces the subscriptions as a whole.",
            query: &[],
            request: Some(schema::<EndpointChanges>),
            request_example: Some(|| json!({"event_types": ["payin.succeeded", "payin.failed"]})),
            response: (200, Some(schema::<EndpointSummary>)),
            response_example: Some(super::examples::endpoint),
            handler: || patch(change),
        },
        Op {
            method: Method::DELETE,
            path: "/v1/endpoints/{id}",
            id: "deleteEndpoint",
            summary: "Delete an endpoint",
            description: "It stops receiving events at once; its delivery logs stay.",
            query: &[],
            request: None,
            request_example: None,
            response: (204, None),
            response_example: None,
            handler: || delete(remove),
        },
        Op {
            method: Method::POST,
            path: "/v1/endpoints/{id}/enable",
            id: "enableEndpoint",
            summary: "Enable an endpoint",
            description: "Turns it on again (also after Hookline disabled it). Events held meanwhile are delivered, or discarded with `held: discard`.",
            query: &[],
            request: Some(schema::<Enable>),
            request_example: Some(|| json!({"held": "deliver"})),
            response: (200, Some(schema::<Released>)),
            response_example: None,
            handler: || post(enable),
        },
        Op {
            method: Method::POST,
            path: "/v1/endpoints/{id}/disable",
            id: "disableEndpoint",
            summary: "Disable an endpoint",
            description: "Pending deliveries are held and new events are not sent until it is enabled again.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<EndpointSummary>)),
            response_example: None,
            handler: || post(disable),
        },
        Op {
            method: Method::GET,
            path: "/v1/endpoints/{id}/secret",
            id: "getEndpointSecret",
            summary: "Get the current signing secret",
            description: "Only with a key allowed to read secrets; every read is in the audit log.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<Secret>)),
            response_example: None,
            handler: || get(secret),
        },
        Op {
            method: Method::POST,
            path: "/v1/endpoints/{id}/secret/rotate",
            id: "rotateEndpointSecret",
            summary: "Rotate the signing secret",
            description: "A new secret signs from now on; the old one keeps signing for the grace period. Answers the secrets still signing (without their values).",
            query: &[],
            request: Some(schema::<Rotate>),
            request_example: Some(|| json!({"grace": "one_day"})),
            response: (200, Some(schema::<List<SecretInfo>>)),
            response_example: None,
            handler: || post(rotate),
        },
        Op {
            method: Method::POST,
            path: "/v1/endpoints/{id}/test",
            id: "sendTestEvent",
            summary: "Send a test event",
            description: "One signed sample event of the type, sent now and never retried; answers the request as sent and the response.",
            query: &[],
            request: Some(schema::<TestEvent>),
            request_example: Some(|| json!({"event_type": "payin.succeeded"})),
            response: (200, Some(schema::<TestDelivery>)),
            response_example: None,
            handler: || post(test),
        },
        Op {
            method: Method::POST,
            path: "/v1/endpoints/{id}/readiness",
            id: "runReadinessCheck",
            summary: "Run the readiness check",
            description: "Four scenarios: a signed event is accepted, a wrong signature is refused, a repeated webhook-id is accepted, a stale timestamp is refused.",
            query: &[],
            request: None,
            request_example: None,
            response: (200, Some(schema::<ReadinessReport>)),
            response_example: None,
            handler: || post(readiness),
        },
        Op {
            method: Method::POST,
            path: "/v1/endpoints/{id}/recover",
            id: "recoverEndpoint",
            summary: "Recover failed events",
            description: "Sends the endpoint's failed deliveries in the time range again, oldest first, at a bounded pace. `dry_run` only counts them.",
            query: &[],
            request: Some(schema::<Recover>),
            request_example: Some(
                || json!({"from": "2026-11-28T00:00:00Z", "to": "2026-11-28T12:00:00Z", "dry_run": true}),
            ),
            response: (200, Some(schema::<RecoverPlan>)),
            response_example: None,
            handler: || post(recover),
        },
    ]
}
