//! Sign-up, sign-in, sign-out, and the signed-in user's mode.

use crate::error::AppError;
use hookline::{Mode, Role};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the portal shows about whoever is signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub email: String,
    pub role: Role,
    pub merchant_id: Option<String>,
    pub business_name: Option<String>,
    pub mode: Mode,
}

/// The signed-in user, or `None` for a visitor. Never fails for a visitor.
#[server(prefix = "/api", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    use crate::state::{MODE_KEY, signed_in};
    let Some((account, session)) = signed_in().await? else {
        return Ok(None);
    };
    let mode = session.get::<Mode>(MODE_KEY).await?.unwrap_or_default();
    Ok(Some(SessionUser {
        email: account.email,
        role: account.role,
        merchant_id: account.merchant_id,
        business_name: account.business_name,
        mode,
    }))
}

/// Only same-site paths are followed after sign-in, never another host.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control());
    local.then(|| next.to_owned())
}

/// Where a user lands after signing in.
pub fn home_for(role: Role) -> &'static str {
    match role {
        Role::Merchant => "/",
        Role::Admin => "/admin",
    }
}

/// Creates a merchant account and signs it in. Answers the path to open next.
#[server(prefix = "/api", endpoint = "signup")]
pub async fn signup(
    business_name: String,
    email: String,
    password: String,
) -> Result<String, AppError> {
    use crate::state::{client_address, portal_state, session};
    let state = portal_state()?;
    let address = client_address().await;
    hookline::accounts::count_sign_up(&state.db, &*state.clock, state.throttle, &address).await?;
    let input = hookline::SignupInput {
        business_name,
        email,
        password,
    };
    let account = hookline::accounts::sign_up(&state.db, &*state.clock, &input).await?;
    let session = session().await?;
    start_session(&session, &account).await?;
    tracing::info!(user_id = %account.user_id, merchant_id = ?account.merchant_id, "merchant signed up");
    Ok(home_for(account.role).to_owned())
}

/// Signs in. Answers the path to open next.
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    use crate::state::{client_address, portal_state, session};
    let state = portal_state()?;
    let address = client_address().await;
    let result = hookline::accounts::sign_in(
        &state.db,
        &*state.clock,
        state.throttle,
        &email,
        &password,
        &address,
    )
    .await;
    let account = match result {
        Ok(account) => account,
        Err(err) => {
            tracing::info!(client = %address, outcome = %err, "sign-in refused");
            // Only refusals whose password was checked are audited: the
            // throttled ones after them cost an attacker nothing and would
            // bury the merchant's log.
            if matches!(err, hookline::Error::InvalidCredentials) {
                record_failed_sign_in(&state, &email, &address, &err).await?;
            }
            return Err(err.into());
        }
    };
    let session = session().await?;
    start_session(&session, &account).await?;
    tracing::info!(user_id = %account.user_id, role = %account.role, "signed in");
    crate::state::audit(
        &state,
        &account,
        crate::state::Audited {
            merchant_id: account.merchant_id.as_deref(),
            action: hookline::audit::Action::SignIn,
            target: None,
            detail: String::new(),
            reason: "",
        },
    )
    .await?;
    let default = home_for(account.role);
    Ok(match (account.role, safe_next(next.as_deref())) {
        // Admin pages are no use to a merchant; don't bounce them to a 403.
        (Role::Merchant, Some(next)) if next.starts_with("/admin") => default.to_owned(),
        (_, Some(next)) => next,
        (_, None) => default.to_owned(),
    })
}

/// What the audit log shows as the email of a failed sign-in whose email
/// box held something else.
#[cfg(feature = "ssr")]
const NOT_AN_EMAIL: &str = "(not an email address)";

/// A failed sign-in goes in the audit log of the merchant whose email was
/// typed, if there is one.
#[cfg(feature = "ssr")]
async fn record_failed_sign_in(
    state: &crate::state::PortalState,
    email: &str,
    address: &str,
    err: &hookline::Error,
) -> Result<(), AppError> {
    let typed = email.trim().to_lowercase();
    // What cannot be an address belongs to no merchant, and is not kept:
    // it is as likely a password typed into the wrong box.
    let (merchant_id, typed) = match hookline::account::Email::parse(&typed) {
        Ok(_) => {
            let found = hookline::store::accounts::find_credentials(&state.db, &typed).await?;
            (found.and_then(|c| c.account.merchant_id), typed)
        }
        Err(_) => (None, NOT_AN_EMAIL.to_owned()),
    };
    let actor = hookline::audit::Actor {
        role: "visitor",
        user_id: None,
        email: typed,
        address: address.to_owned(),
    };
    crate::state::record(
        state,
        &actor,
        crate::state::Audited {
            merchant_id: merchant_id.as_deref(),
            action: hookline::audit::Action::SignInFailed,
            target: None,
            detail: err.to_string(),
            reason: "",
        },
    )
    .await
}

#[cfg(feature = "ssr")]
async fn start_session(
    session: &tower_sessions::Session,
    account: &hookline::accounts::SignedIn,
) -> Result<(), AppError> {
    use crate::state::{MODE_KEY, USER_KEY};
    // A new id at every sign-in: a session id planted before sign-in is useless after.
    session.cycle_id().await?;
    session.insert(USER_KEY, &account.user_id).await?;
    if account.role == Role::Merchant {
        session.insert(MODE_KEY, Mode::Sandbox).await?;
    }
    Ok(())
}

/// Ends the session. A plain form post lands on the sign-in page.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::state::session;
    let session = session().await?;
    session.flush().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Switches the merchant's portal between sandbox and live.
#[server(prefix = "/api", endpoint = "set_mode")]
pub async fn set_mode(mode: Mode) -> Result<Mode, AppError> {
    use crate::state::{MODE_KEY, require_merchant};
    let ctx = require_merchant().await?;
    ctx.session.insert(MODE_KEY, mode).await?;
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(safe_next(Some("/admin?q=a")).as_deref(), Some("/admin?q=a"));
        assert_eq!(safe_next(Some("//evil.example/")), None);
        assert_eq!(safe_next(Some("/\\evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example/")), None);
        assert_eq!(safe_next(None), None);
    }
}
