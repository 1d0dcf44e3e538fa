//! Requests for the opt-in balance threshold warning.

use crate::error::AppError;
use hookline::Mode;
use hookline::balance::BalanceRequest;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceView {
    pub mode: Mode,
    /// Whether endpoints may subscribe to `balance.threshold_warning`.
    pub approved: bool,
    pub requests: Vec<BalanceRequest>,
}

#[server(prefix = "/api", endpoint = "list_balance_requests")]
pub async fn list_balance_requests() -> Result<BalanceView, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    Ok(BalanceView {
        mode: ctx.mode,
        approved: hookline::balance::approved(&state.db, &ctx.merchant_id, ctx.mode).await?,
        requests: hookline::balance::list(&state.db, &ctx.merchant_id, ctx.mode).await?,
    })
}

/// Asks the onboarding team for balance threshold warnings below `threshold`.
#[server(prefix = "/api", endpoint = "request_balance_warning")]
pub async fn request_balance_warning(
    threshold: String,
    currency: String,
) -> Result<BalanceRequest, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let input = hookline::balance::BalanceRequestInput {
        threshold,
        currency,
    };
    let request =
        hookline::balance::request(&state.db, &*state.clock, &ctx.merchant_id, ctx.mode, &input)
            .await?;
    tracing::info!(merchant_id = %ctx.merchant_id, request_id = %request.id, mode = %ctx.mode, "balance warning requested");
    crate::state::audit(
        &state,
        &ctx.account,
        crate::state::Audited {
            merchant_id: Some(&ctx.merchant_id),
            action: hookline::audit::Action::BalanceRequested,
            target: Some(&request.id),
            detail: format!(
                "{} mode, below {}",
                ctx.mode,
                hookline::balance::format_money(&request.threshold)
            ),
            reason: "",
        },
    )
    .await?;
    Ok(request)
}
