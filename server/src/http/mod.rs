//! The HTTP surface: portal pages, server functions, health checks, and the
//! layers every request passes through.

pub mod api;
mod health;
pub mod inbox;
pub(crate) mod ingest;
mod metrics;
pub mod problem;
mod schemas;
mod security;
mod server_fns;

use crate::config::{Secret, Settings};
use crate::error::ServerError;
use app::state::PortalState;
use app::{App, shell};
use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use hookline::ingest::Publisher;
use hookline::metrics::Metrics;
use hookline::sessions::DbSessionStore;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::sync::Arc;
use tower_sessions::cookie::SameSite;
use tower_sessions::cookie::time::Duration as CookieDuration;
use tower_sessions::{Expiry, SessionManagerLayer};

pub const SESSION_COOKIE: &str = "hookline_session";

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub portal: PortalState,
    pub ingest_token: Secret<String>,
    pub metrics: Arc<Metrics>,
    pub publisher: Arc<Publisher>,
    pub balance_rearm_percent: u32,
    #[from_ref(skip)]
    pub api_rate_per_minute: u32,
}

pub async fn router(
    settings: &Settings,
    portal: PortalState,
    metrics: Arc<Metrics>,
) -> Result<Router, ServerError> {
    let leptos_options = LeptosOptions::builder()
        .output_name("hookline")
        .site_root(settings.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(settings.listen)
        .build();
    let state = AppState {
        leptos_options: leptos_options.clone(),
        portal: portal.clone(),
        ingest_token: settings
            .ingest_token
            .clone()
            .ok_or_else(|| ServerError::Internal("serving needs the ingest token".into()))?,
        metrics,
        publisher: Arc::new(Publisher::with_dispatcher(
            portal.db.clone(),
            portal.dispatcher.clone(),
        )),
        balance_rearm_percent: settings.delivery.balance_rearm_percent,
        api_rate_per_minute: settings.api_rate_per_minute,
    };

    let store = DbSessionStore::new(&portal.db)
        .await
        .map_err(|e| ServerError::Database(format!("session store: {e}")))?;
    tokio::spawn(delete_expired_sessions(store.clone()));
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(settings.cookie_secure)
        .with_expiry(Expiry::OnInactivity(CookieDuration::hours(12)));

    let context = {
        let portal = portal.clone();
        move || provide_context(portal.clone())
    };
    let routes = route_list();
    let origin: Arc<str> = Arc::from(settings.public_origin.as_str());

    let router = Router::new()
        .route("/internal/v1/events", post(ingest::publish))
        .route("/internal/v1/events/batch", post(ingest::publish_batch))
        .route("/internal/v1/balances", post(ingest::observe_balance))
        .route("/inbox/{token}", post(inbox::receive))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/schemas", get(schemas::index))
        .route("/schemas/{version}/{file}", get(schemas::schema))
        .merge(api::router(&state))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .with_state(state)
        .layer(axum::middleware::from_fn(server_fns::apply_error_status))
        .layer(axum::middleware::from_fn(server_fns::limit_request_body))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            origin,
            security::same_origin_only,
        ))
        .layer(axum::middleware::from_fn(security::headers));
    Ok(router)
}

/// The portal's routes, listed once per process. Listing renders the app
/// with resource loading suppressed through a process-wide flag, so a page
/// rendering at that moment on another server in the same process (the
/// integration tests start many) would wait forever for its data.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

async fn delete_expired_sessions(store: DbSessionStore) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(error = %e, "could not delete expired sessions");
        }
    }
}
