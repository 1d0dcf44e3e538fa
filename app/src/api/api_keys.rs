//! Server functions for the merchant's API keys. A key is created in the
//! portal's current mode and shown once.

use crate::error::AppError;
use hookline::api_keys::{ApiKey, CreatedKey};
use leptos::prelude::*;

/// The merchant's keys in both modes, newest first; never the keys themselves.
#[server(prefix = "/api", endpoint = "list_api_keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKey>, AppError> {
    use crate::state::{portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    Ok(hookline::api_keys::list(&state.db, &ctx.merchant_id).await?)
}

/// Creates a key for the current mode; the answer is the only time it is shown.
#[server(prefix = "/api", endpoint = "create_api_key")]
pub async fn create_api_key(
    #[server(default)] name: String,
    #[server(default)] allowlist: String,
    #[server(default)] read_secrets: bool,
) -> Result<CreatedKey, AppError> {
    use crate::state::{Audited, audit, portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let created = hookline::api_keys::create(
        &state.db,
        &*state.clock,
        &ctx.merchant_id,
        ctx.mode,
        &hookline::api_keys::ApiKeyInput {
            name,
            allowlist,
            read_secrets,
        },
    )
    .await?;
    let k = &created.key;
    audit(
        &state,
        &ctx.account,
        Audited {
            merchant_id: Some(&ctx.merchant_id),
            action: hookline::audit::Action::ApiKeyCreated,
            target: Some(&k.id),
            detail: format!(
                "{} key \"{}\" ({}…){}; allowlist: {}",
                k.mode,
                k.name,
                k.prefix,
                if k.read_secrets {
                    ", may read secrets"
                } else {
                    ""
                },
                if k.allowlist.is_empty() {
                    "any address".to_owned()
                } else {
                    k.allowlist.join(" ")
                }
            ),
            reason: "",
        },
    )
    .await?;
    tracing::info!(merchant_id = %ctx.merchant_id, key_id = %k.id, mode = %k.mode, "api key created");
    Ok(created)
}

/// Revokes one of the merchant's keys at once.
#[server(prefix = "/api", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<ApiKey, AppError> {
    use crate::state::{Audited, audit, portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let key = hookline::api_keys::revoke(&state.db, &*state.clock, &ctx.merchant_id, &id).await?;
    audit(
        &state,
        &ctx.account,
        Audited {
            merchant_id: Some(&ctx.merchant_id),
            action: hookline::audit::Action::ApiKeyRevoked,
            target: Some(&key.id),
            detail: format!("{} key \"{}\" ({}…)", key.mode, key.name, key.prefix),
            reason: "",
        },
    )
    .await?;
    tracing::info!(merchant_id = %ctx.merchant_id, key_id = %key.id, "api key revoked");
    Ok(key)
}
