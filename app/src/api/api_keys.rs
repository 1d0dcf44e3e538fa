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
/// A key that may read signing secrets needs the password again, as
/// revealing a secret in the portal does: otherwise anyone holding the
/// session could read every secret through a key of their own making.
#[server(prefix = "/api", endpoint = "create_api_key")]
pub async fn create_api_key(
    #[server(default)] name: String,
    #[server(default)] allowlist: String,
    #[server(default)] read_secrets: bool,
    #[server(default)] password: String,
) -> Result<CreatedKey, AppError> {
    use crate::state::{
        Audited, audit, password_confirmed, portal_state, require_merchant, wrong_password,
    };
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let audited = |target, detail| Audited {
        merchant_id: Some(&ctx.merchant_id),
        action: hookline::audit::Action::ApiKeyCreated,
        target,
        detail,
        reason: "",
    };
    let input = hookline::api_keys::ApiKeyInput {
        name,
        allowlist,
        read_secrets,
    };
    // Every wrong field at once, and no password tried on a form that
    // cannot be saved anyway.
    const ASK: &str = "Enter your password: a key that may read secrets needs it.";
    if let Err(mut errors) = input.validate() {
        if read_secrets && password.is_empty() {
            errors.add("password", ASK);
        }
        return Err(AppError::validation(errors));
    }
    if read_secrets && !password_confirmed(&state, &ctx.account, &password, ASK).await? {
        tracing::info!(merchant_id = %ctx.merchant_id, "api key refused: wrong password");
        let detail = "creating a key that may read secrets".into();
        let refused = Audited {
            action: hookline::audit::Action::PasswordRefused,
            ..audited(None, detail)
        };
        audit(&state, &ctx.account, refused).await?;
        return Err(wrong_password());
    }
    let created =
        hookline::api_keys::create(&state.db, &*state.clock, &ctx.merchant_id, ctx.mode, &input)
            .await?;
    let k = &created.key;
    let detail = format!(
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
    );
    audit(&state, &ctx.account, audited(Some(&k.id), detail)).await?;
    tracing::info!(merchant_id = %ctx.merchant_id, key_id = %k.id, mode = %k.mode, "api key created");
    Ok(created)
}

/// Revokes one of the merchant's keys at once.
#[server(prefix = "/api", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<ApiKey, AppError> {
    use crate::state::{Audited, audit, portal_state, require_merchant};
    let ctx = require_merchant().await?;
    let state = portal_state()?;
    let (key, now) =
        hookline::api_keys::revoke(&state.db, &*state.clock, &ctx.merchant_id, &id).await?;
    if !now {
        // Revoked before (another tab, a double click): nothing happened now.
        return Ok(key);
    }
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
