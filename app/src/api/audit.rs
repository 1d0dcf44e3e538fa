//! The merchant's own audit trail.

use crate::error::AppError;
use hookline::audit::{AuditEntry, AuditQuery};
use leptos::prelude::*;

/// The caller's merchant's audit entries, newest first. The merchant filter
/// is always the caller's own, whatever is asked.
#[server(prefix = "/api", endpoint = "my_audit")]
pub async fn my_audit(query: AuditQuery) -> Result<Vec<AuditEntry>, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    Ok(hookline::audit::list(&state.db, &query, Some(&ctx.merchant_id)).await?)
}
