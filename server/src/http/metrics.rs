//! `GET /metrics`: Prometheus text format. Counters are this node's; the
//! queue depth is read from the shared database at scrape time.

use crate::http::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hookline::store::deliveries;

pub async fn metrics(State(state): State<AppState>) -> Response {
    let now = state.portal.clock.now_ms();
    let depth = match deliveries::queue_depth(&state.portal.db, now).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: queue depth unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response();
        }
    };
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(&depth),
    )
        .into_response()
}
