//! The Hookline server as a library: `main.rs` is a thin CLI over it, and the
//! integration tests start the real thing on port 0 through [`start`].

pub mod allocator;
pub mod config;
pub mod demo;
pub mod dispatcher;
pub mod error;
pub mod http;
pub mod open_files;
pub mod telemetry;

use crate::config::Settings;
use crate::error::ServerError;
use app::state::PortalState;
use hookline::accounts::ThrottlePolicy;
use hookline::clock::SharedClock;
use hookline::dispatch::Dispatcher;
use hookline::metrics::Metrics;
use hookline::store::Db;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Things tests replace: the clock, the sign-in throttle, and whether the
/// dispatcher runs by itself (tests may step it instead).
#[derive(Clone, Debug)]
pub struct Runtime {
    pub clock: SharedClock,
    pub throttle: ThrottlePolicy,
    pub run_dispatcher: bool,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            clock: Arc::new(hookline::clock::SystemClock),
            throttle: ThrottlePolicy::default(),
            run_dispatcher: true,
        }
    }
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub db: Db,
    pub dispatcher: Arc<Dispatcher>,
    pub task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

/// Connects to the database, migrates it, and serves on `listener` in a
/// background task.
pub async fn start(
    settings: Settings,
    listener: TcpListener,
    runtime: Runtime,
) -> Result<Running, ServerError> {
    settings.check_serving()?;
    let db = Db::connect(settings.database_url.expose())
        .await
        .map_err(|e| {
            ServerError::Database(format!("{} ({})", e, settings.database_url_redacted()))
        })?;
    let addr = listener.local_addr().map_err(ServerError::Io)?;
    let metrics = Arc::new(Metrics::new());
    let dispatcher = Arc::new(dispatcher::build(
        &settings,
        db.clone(),
        runtime.clock.clone(),
        metrics.clone(),
    )?);
    let portal = PortalState {
        db: db.clone(),
        clock: runtime.clock.clone(),
        throttle: ThrottlePolicy {
            max_sign_ups_per_address: i64::from(settings.sign_ups_per_address),
            ..runtime.throttle
        },
        dispatcher: dispatcher.clone(),
        egress_ips: settings.delivery.egress_ips.clone(),
        trusted_proxies: settings.trusted_proxies.clone(),
        inbox_base: http::inbox::base(&settings.public_origin),
    };
    let router = http::router(&settings, portal, metrics).await?;
    if runtime.run_dispatcher {
        tokio::spawn(dispatcher::run(dispatcher.clone()));
        tokio::spawn(dispatcher::retention(
            db.clone(),
            runtime.clock.clone(),
            settings.delivery.retention,
        ));
    }
    tracing::info!(
        %addr,
        database = %settings.database_url_redacted(),
        public_origin = %settings.public_origin,
        "Hookline is serving"
    );
    let task = tokio::spawn(async move {
        use axum::serve::ListenerExt;
        // Answers are written in pieces; without this each small piece can
        // wait for the client's delayed ACK.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServerError::Io)
    });
    Ok(Running {
        addr,
        db,
        dispatcher,
        task,
    })
}

/// Serves until the process is asked to stop.
pub async fn serve(settings: Settings, runtime: Runtime) -> Result<(), ServerError> {
    open_files::raise_for(settings.delivery.max_in_flight);
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|e| ServerError::Bind(settings.listen, e))?;
    let running = start(settings, listener, runtime).await?;
    running
        .task
        .await
        .map_err(|e| ServerError::Internal(format!("server task failed: {e}")))?
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
