//! The merchant's sandbox inbox: its URL and what it received.

use crate::error::AppError;
use hookline::inbox::InboxView;
use leptos::prelude::*;

/// The inbox's URL (made on first use) and its latest messages.
#[server(prefix = "/api", endpoint = "get_inbox")]
pub async fn get_inbox() -> Result<InboxView, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let url = hookline::inbox::url(
        &state.db,
        &*state.clock,
        &state.inbox_base,
        &ctx.merchant_id,
    )
    .await?;
    let messages = hookline::inbox::messages(&state.db, &ctx.merchant_id).await?;
    Ok(InboxView { url, messages })
}
