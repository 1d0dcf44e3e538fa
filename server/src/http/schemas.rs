//! JSON Schemas of what merchants receive, one per payload version and event
//! type, for merchants who validate or generate code from them.

use super::problem::Problem;
use axum::Json;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hookline::events::EventType;
use hookline::events::schema::{all, event_schema, schema_path};
use hookline::validation::FieldErrors;
use serde_json::json;

/// `GET /schemas`: where each schema is.
pub async fn index() -> Json<serde_json::Value> {
    let schemas: Vec<_> = all()
        .map(
            |(version, t)| json!({ "version": version, "type": t, "url": schema_path(t, version) }),
        )
        .collect();
    Json(json!({ "schemas": schemas }))
}

/// `GET /schemas/{version}/{type}.json`.
pub async fn schema(Path((version, file)): Path<(String, String)>) -> Result<Response, Problem> {
    let name = file.strip_suffix(".json").unwrap_or(&file);
    let event_type: EventType = name
        .parse()
        .map_err(|m: String| Problem::not_found(FieldErrors::single("type", m)))?;
    let schema = event_schema(event_type, &version)
        .map_err(|m| Problem::not_found(FieldErrors::single("version", m)))?;
    Ok((
        [(header::CONTENT_TYPE, "application/schema+json")],
        Json(schema),
    )
        .into_response())
}
