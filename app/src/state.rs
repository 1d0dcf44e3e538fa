//! Server-side plumbing for server functions: the shared state the server
//! provides, and the session checks every server function starts with.

use crate::error::AppError;
use hookline::accounts::{SignedIn, ThrottlePolicy};
use hookline::clock::SharedClock;
use hookline::dispatch::Dispatcher;
use hookline::store::Db;
use hookline::{Mode, Role};
use leptos::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;
use tower_sessions::Session;

/// What the server hands every server function and page render.
#[derive(Clone, Debug)]
pub struct PortalState {
    pub db: Db,
    pub clock: SharedClock,
    pub throttle: ThrottlePolicy,
    /// Sends the portal's test events.
    pub dispatcher: Arc<Dispatcher>,
    /// The platform's egress IPs, shown where merchants configure their firewalls.
    pub egress_ips: Vec<IpAddr>,
    /// `{public origin}/inbox/`, where the merchants' sandbox inboxes live.
    pub inbox_base: String,
    /// Load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<hookline::endpoint::Cidr>,
}

impl PortalState {
    /// The merchant operations shared with the REST API.
    pub fn services(&self) -> hookline::service::Services {
        hookline::service::Services {
            dispatcher: self.dispatcher.clone(),
            inbox_base: self.inbox_base.clone(),
        }
    }
}

/// The signed-in user as the audit log names them.
pub async fn actor(account: &SignedIn) -> hookline::audit::Actor {
    hookline::audit::Actor {
        role: account.role.as_str(),
        user_id: Some(account.user_id.clone()),
        email: account.email.clone(),
        address: client_address().await,
    }
}

pub const USER_KEY: &str = "user_id";
pub const MODE_KEY: &str = "mode";

pub fn portal_state() -> Result<PortalState, AppError> {
    use_context::<PortalState>().ok_or_else(|| {
        tracing::error!("PortalState missing from the request context");
        AppError::Internal
    })
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = %e, "no session layer on this request");
        AppError::Internal
    })
}

/// The client's address as the throttle and the audit log see it: the
/// socket's, or what a trusted proxy in front says it was.
pub async fn client_address() -> String {
    use axum::extract::ConnectInfo;
    use axum::http::HeaderMap;
    use std::net::SocketAddr;
    let Ok(ConnectInfo(addr)) = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await else {
        return "unknown".to_owned();
    };
    let trusted = portal_state()
        .map(|s| s.trusted_proxies)
        .unwrap_or_default();
    if trusted.is_empty() {
        return addr.ip().to_string();
    }
    let headers = leptos_axum::extract::<HeaderMap>()
        .await
        .unwrap_or_default();
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    hookline::client_ip::client_ip(addr.ip(), forwarded, &trusted).to_string()
}

/// The account of the session's user, if someone is signed in and still exists.
pub async fn signed_in() -> Result<Option<(SignedIn, Session)>, AppError> {
    let session = session().await?;
    let Some(user_id) = session.get::<String>(USER_KEY).await? else {
        return Ok(None);
    };
    let state = portal_state()?;
    match hookline::accounts::find(&state.db, &user_id).await? {
        Some(account) => Ok(Some((account, session))),
        None => {
            // The account is gone: end the session rather than trust it.
            session.flush().await?;
            Ok(None)
        }
    }
}

/// A signed-in merchant user, with its merchant id and the mode it works in.
pub struct MerchantCtx {
    pub account: SignedIn,
    pub merchant_id: String,
    pub mode: Mode,
    pub session: Session,
}

impl MerchantCtx {
    /// The merchant as the shared operations see it, acting as `actor`.
    pub fn acting<'a>(
        &'a self,
        actor: &'a hookline::audit::Actor,
    ) -> hookline::service::Merchant<'a> {
        hookline::service::Merchant {
            id: &self.merchant_id,
            mode: self.mode,
            actor,
        }
    }
}

pub async fn require_merchant() -> Result<MerchantCtx, AppError> {
    let (account, session) = signed_in().await?.ok_or(AppError::Unauthenticated)?;
    if account.role != Role::Merchant {
        return Err(AppError::Forbidden);
    }
    let merchant_id = account.merchant_id.clone().ok_or(AppError::Internal)?;
    let mode = session.get::<Mode>(MODE_KEY).await?.unwrap_or_default();
    Ok(MerchantCtx {
        account,
        merchant_id,
        mode,
        session,
    })
}

/// Asks for the signed-in account's password again before handing out a
/// secret, or a key that can read one. Failed passwords count towards the
/// sign-in throttle. An empty password is refused with `missing` on the
/// password field; a wrong one answers false, for the caller to record
/// before refusing with [`wrong_password`].
pub async fn password_confirmed(
    state: &PortalState,
    account: &SignedIn,
    password: &str,
    missing: &str,
) -> Result<bool, AppError> {
    if password.is_empty() {
        return Err(password_error(missing));
    }
    let address = client_address().await;
    match hookline::accounts::sign_in(
        &state.db,
        &*state.clock,
        state.throttle,
        &account.email,
        password,
        &address,
    )
    .await
    {
        Ok(_) => Ok(true),
        Err(hookline::Error::InvalidCredentials) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The refusal of a password that [`password_confirmed`] found wrong.
pub fn wrong_password() -> AppError {
    password_error("The password is not correct.")
}

fn password_error(message: &str) -> AppError {
    AppError::validation(hookline::FieldErrors::single("password", message))
}

pub async fn require_admin() -> Result<SignedIn, AppError> {
    let (account, _) = signed_in().await?.ok_or(AppError::Unauthenticated)?;
    if account.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    Ok(account)
}

/// Sets the status of the page being rendered (403, 404, …).
pub fn set_page_status(status: u16) {
    if let (Some(options), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(status),
    ) {
        options.set_status(code);
    }
}

/// What an audit entry needs besides who acted.
pub struct Audited<'a> {
    pub merchant_id: Option<&'a str>,
    pub action: hookline::audit::Action,
    pub target: Option<&'a str>,
    pub detail: String,
    pub reason: &'a str,
}

/// Records an action of a signed-in user in the audit log.
pub async fn audit(
    state: &PortalState,
    account: &SignedIn,
    entry: Audited<'_>,
) -> Result<(), AppError> {
    let actor = hookline::audit::Actor {
        role: account.role.as_str(),
        user_id: Some(account.user_id.clone()),
        email: account.email.clone(),
        address: client_address().await,
    };
    record(state, &actor, entry).await
}

/// Records an action in the audit log.
pub async fn record(
    state: &PortalState,
    actor: &hookline::audit::Actor,
    entry: Audited<'_>,
) -> Result<(), AppError> {
    hookline::audit::record(
        &state.db,
        &*state.clock,
        hookline::audit::NewEntry {
            actor,
            merchant_id: entry.merchant_id,
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
            reason: entry.reason,
        },
    )
    .await?;
    Ok(())
}
