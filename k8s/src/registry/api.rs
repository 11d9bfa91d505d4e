//! The MCP Registry's read API over the exported entries, in the shapes of the registry's
//! OpenAPI (`docs/reference/api/openapi.yaml` of modelcontextprotocol/registry):
//!
//! - `GET /v0/servers?search=&limit=&cursor=` → `ServerList`: `{servers: [ServerResponse],
//!   metadata: {count, nextCursor?}}`; the cursor is the last name of the page.
//! - `GET /v0/servers/{name}` → `ServerResponse` `{server, _meta}` or 404 `{error}`; the name
//!   is URL-encoded (`io.mcpgw.team-a%2Fweather`).
//! - `GET /v0/servers/{name}/versions` and `/v0/servers/{name}/versions/{version}` (`latest`
//!   or the entry's version), and all of it under `/v0.1` too.
//!
//! Each entry has one version, always the latest and `active`.

use std::sync::{Arc, RwLock};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

/// The `server.json` documents, sorted by name.
pub type Entries = Arc<RwLock<Vec<Value>>>;

pub const DEFAULT_LIMIT: usize = 30;
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub search: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    pub version: Option<String>,
}

fn response(server: &Value) -> Value {
    json!({
        "server": server,
        "_meta": { "io.modelcontextprotocol.registry/official": { "status": "active", "isLatest": true } },
    })
}

fn name_of(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or_default()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "Server not found" }))).into_response()
}

fn snapshot(entries: &Entries) -> Vec<Value> {
    entries.read().map(|e| e.clone()).unwrap_or_default()
}

/// The list, as the pure function the handler serves.
pub fn list(entries: &[Value], q: &ListQuery) -> Value {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let matching: Vec<&Value> = entries
        .iter()
        .filter(|v| q.search.as_ref().is_none_or(|s| name_of(v).contains(s.as_str())))
        .filter(|v| q.version.as_deref().is_none_or(|ver| ver == "latest" || v.get("version").and_then(Value::as_str) == Some(ver)))
        .filter(|v| q.cursor.as_ref().is_none_or(|c| name_of(v) > c.as_str()))
        .collect();
    let page: Vec<Value> = matching.iter().take(limit).map(|v| response(v)).collect();
    let mut metadata = json!({ "count": page.len() });
    if matching.len() > limit {
        if let (Some(last), Some(obj)) = (matching.get(limit - 1), metadata.as_object_mut()) {
            obj.insert("nextCursor".into(), json!(name_of(last)));
        }
    }
    json!({ "servers": page, "metadata": metadata })
}

async fn list_handler(State(entries): State<Entries>, Query(q): Query<ListQuery>) -> Json<Value> {
    Json(list(&snapshot(&entries), &q))
}

fn find(entries: &Entries, name: &str) -> Option<Value> {
    snapshot(entries).into_iter().find(|v| name_of(v) == name)
}

async fn get_handler(State(entries): State<Entries>, Path(name): Path<String>) -> Response {
    match find(&entries, &name) {
        Some(v) => Json(response(&v)).into_response(),
        None => not_found(),
    }
}

async fn versions_handler(State(entries): State<Entries>, Path(name): Path<String>) -> Response {
    match find(&entries, &name) {
        Some(v) => Json(json!({ "servers": [response(&v)], "metadata": { "count": 1 } })).into_response(),
        None => not_found(),
    }
}

async fn version_handler(State(entries): State<Entries>, Path((name, version)): Path<(String, String)>) -> Response {
    match find(&entries, &name) {
        Some(v) if version == "latest" || v.get("version").and_then(Value::as_str) == Some(version.as_str()) => Json(response(&v)).into_response(),
        _ => not_found(),
    }
}

/// The registry routes, to merge into the controller's HTTP router.
pub fn router(entries: Entries) -> Router {
    let mut r = Router::new();
    for base in ["/v0", "/v0.1"] {
        r = r
            .route(&format!("{base}/servers"), get(list_handler))
            .route(&format!("{base}/servers/{{name}}"), get(get_handler))
            .route(&format!("{base}/servers/{{name}}/versions"), get(versions_handler))
            .route(&format!("{base}/servers/{{name}}/versions/{{version}}"), get(version_handler));
    }
    r.with_state(entries)
}
