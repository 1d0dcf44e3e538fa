//! Server functions for the delivery log: the filtered list, one event's
//! timeline, resend and recover. Scoped to the caller's merchant and mode.

use crate::error::AppError;
use hookline::logs::{EventDetail, LogPage, LogQuery, RecoverInput, RecoverPlan};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An endpoint as the log's filter offers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointChoice {
    pub id: String,
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogView {
    pub page: LogPage,
    pub endpoints: Vec<EndpointChoice>,
}

/// The endpoints the log's filter offers: the merchant's in `mode`.
#[cfg(feature = "ssr")]
pub(crate) async fn choices(
    state: &crate::state::PortalState,
    merchant_id: &str,
    mode: hookline::Mode,
) -> Result<Vec<EndpointChoice>, AppError> {
    Ok(hookline::endpoints::list(&state.db, merchant_id, mode)
        .await?
        .into_iter()
        .map(|e| EndpointChoice {
            id: e.id,
            url: e.url,
        })
        .collect())
}

#[server(prefix = "/api", endpoint = "delivery_log")]
pub async fn delivery_log(query: LogQuery) -> Result<LogView, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let page = hookline::logs::ops::page(&state.db, &ctx.merchant_id, ctx.mode, &query).await?;
    Ok(LogView {
        page,
        endpoints: choices(&state, &ctx.merchant_id, ctx.mode).await?,
    })
}

#[server(prefix = "/api", endpoint = "get_event")]
pub async fn get_event(id: String) -> Result<EventDetail, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    Ok(hookline::logs::ops::event(&state.db, &ctx.merchant_id, ctx.mode, &id).await?)
}

/// Sends the event again to its enabled endpoints. Answers how many deliveries were queued.
#[server(prefix = "/api", endpoint = "resend_event")]
pub async fn resend_event(id: String) -> Result<u64, AppError> {
    use crate::state::{actor, portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let actor = actor(&ctx.account).await;
    let who = ctx.acting(&actor);
    Ok(state.services().resend(&who, &id, "").await?)
}

/// How many failed deliveries a recover would send, without sending.
#[server(prefix = "/api", endpoint = "recover_preview")]
pub async fn recover_preview(input: RecoverInput) -> Result<RecoverPlan, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    Ok(hookline::logs::ops::recover_preview(&state.db, &ctx.merchant_id, ctx.mode, &input).await?)
}

/// Sends the failed deliveries again at a bounded pace.
#[server(prefix = "/api", endpoint = "recover")]
pub async fn recover(input: RecoverInput) -> Result<RecoverPlan, AppError> {
    use crate::state::{actor, portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let actor = actor(&ctx.account).await;
    let who = ctx.acting(&actor);
    Ok(state.services().recover(&who, &input, "").await?)
}
