//! The merchant's dashboard.

use crate::error::AppError;
use hookline::dashboard::Dashboard;
use leptos::prelude::*;

/// The dashboard for the mode the portal is in.
#[server(prefix = "/api", endpoint = "get_dashboard")]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    Ok(hookline::dashboard::load(&state.db, &*state.clock, &ctx.merchant_id, ctx.mode).await?)
}

/// Acknowledges a notice from the onboarding team; it leaves the dashboard.
#[server(prefix = "/api", endpoint = "acknowledge_notice")]
pub async fn acknowledge_notice(id: String) -> Result<(), AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    hookline::notices::acknowledge(
        &state.db,
        &*state.clock,
        &ctx.merchant_id,
        &ctx.account.email,
        &id,
    )
    .await?;
    Ok(())
}
