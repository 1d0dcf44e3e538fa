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
