//! The merchant's sandbox inbox: its URL and what it received.

use crate::error::AppError;
use hookline::inbox::InboxView;
use leptos::prelude::*;

/// The inbox's URL (made on first use) and its latest messages.
#[server(prefix = "/api", endpoint = "get_inbox")]
pub async fn get_inbox() -> Result<InboxView, AppError> {
    use crate::state::{actor, portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let actor = actor(&ctx.account).await;
    let who = ctx.acting(&actor);
    Ok(state.services().inbox(&who).await?)
}
