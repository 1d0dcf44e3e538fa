//! The OpenAPI 3.1 document, generated from the operation table and the
//! Rust types of every request and answer (JSON Schema 2020-12, which
//! OpenAPI 3.1 uses as is). Served at `/v1/openapi.json`.

use super::{Op, ops};
use axum::Json;
use axum::http::Method;
use axum::response::IntoResponse;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

/// One field at fault.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct FieldProblem {
    /// The field, header or query parameter.
    field: String,
    message: String,
}

/// An error, as RFC 9457 problem details.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Problem {
    #[schemars(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// Each field at fault, for 422 answers.
    errors: Vec<FieldProblem>,
}

pub async fn serve() -> impl IntoResponse {
    Json(document().clone())
}

/// The document, built once per process.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

fn operation(op: &Op, g: &mut schemars::SchemaGenerator, problem: &Value) -> Value {
    let mut parameters = path_parameters(op.path);
    for (name, description) in op.query {
        parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": {"type": "string"},
        }));
    }
    if op.method == Method::POST {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Makes retries safe: a repeat with the same key and body gets the first answer again for 24 hours.",
            "schema": {"type": "string", "maxLength": 255},
        }));
    }
    let problem_content = json!({"application/problem+json": {"schema": problem}});
    let (status, body) = op.response;
    let mut success = json!({"description": "Success"});
    if let Some(body) = body {
        let mut content = json!({"schema": body(g).to_value()});
        if let Some(example) = op.response_example {
            content["example"] = example();
        }
        success["content"] = json!({"application/json": content});
    }
    let mut responses = Map::new();
    responses.insert(status.to_string(), success);
    let mut refusals: Vec<(&str, &str)> = Vec::new();
    if op.request.is_some() {
        refusals.push(("400", "Malformed JSON"));
    }
    if op.method == Method::POST {
        refusals.push((
            "409",
            "A request with the same `Idempotency-Key` is still running; retry later",
        ));
        refusals.push(("413", "The request body is too large"));
    }
    refusals.extend([
        ("401", "No API key, or one that is not valid or was revoked"),
        (
            "403",
            "The key may not be used from this address, or may not do this",
        ),
        (
            "404",
            "Not found among the key's merchant's resources in the key's mode",
        ),
        ("422", "A field is wrong; `errors` names it"),
        ("429", "Too many requests for this key; see `Retry-After`"),
        (
            "503",
            "Storage is unreachable for a moment and nothing was changed; retry after `Retry-After`",
        ),
    ]);
    for (code, what) in refusals {
        let mut content = problem_content.clone();
        if code == "422" {
            content["application/problem+json"]["example"] = super::examples::problem();
        }
        responses.insert(
            code.to_owned(),
            json!({"description": what, "content": content}),
        );
    }
    let mut operation = json!({
        "operationId": op.id,
        "summary": op.summary,
        "description": op.description,
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(request) = op.request {
        let mut content = json!({"schema": request(g).to_value()});
        if let Some(example) = op.request_example {
            content["example"] = example();
        }
        operation["requestBody"] = json!({
            "required": true,
            "content": {"application/json": content},
        });
    }
    operation
}

fn build() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut g = settings.into_generator();
    let problem = g.subschema_for::<Problem>().to_value();
    let mut paths: Map<String, Value> = Map::new();
    for op in ops() {
        let item = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        item[op.method.as_str().to_ascii_lowercase()] = operation(&op, &mut g, &problem);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Hookline API",
            "version": "1",
            "description": "Set up and operate webhook endpoints, read delivery logs and reconcile events. Authenticate with an API key from the portal's API keys page: `Authorization: Bearer hk_live_…` (or `hk_test_…` for sandbox). Each key works in one mode. Errors are problem details (RFC 9457); every answer carries an `X-Request-Id`.",
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": g.take_definitions(true),
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key (`hk_live_…` or `hk_test_…`)."},
            },
        },
    })
}
