//! Operational endpoints: `/healthz`, `/readyz`, `/status`, `/metrics`, `/tool-hints` and
//! RFC 9728 `/.well-known/oauth-protected-resource[/<path>]`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::http::admission::has_credential;
use crate::http::response;
use crate::state::App;

pub async fn healthz() -> Response {
    response::plain(StatusCode::OK, "ok\n")
}

/// Ready once a configuration is in force (the broker never starts without one). Backends
/// being down does not make the broker unready: it still serves the others. Open to anyone,
/// so it says nothing else.
pub async fn readyz() -> Response {
    response::plain(StatusCode::OK, "ready\n")
}

/// Without the broker credential (`x-mcp-gateway-auth`), `/status` leaves out what would help
/// an attacker on the port: the config file's path, backend URLs, error texts (which name
/// addresses) and the config load error. Reachability, counts and times stay.
pub async fn status(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let rt = app.runtime();
    let full = has_credential(&rt, &headers);
    let health = app.health_snapshot();
    let servers: Vec<_> = rt
        .config
        .servers
        .iter()
        .map(|s| {
            let h = health.get(&s.name).cloned().unwrap_or_default();
            let mut v = json!({
                "name": s.name, "prefix": s.prefix, "enabled": s.enabled,
                "timeout_ms": s.timeout_ms, "reachable": h.reachable, "last_error_kind": h.last_error_kind,
                "last_error_at": h.last_error_at, "last_ok_at": h.last_ok_at, "tool_count": h.tool_count,
                "speaks_2026_07_28": h.speaks_2026,
            });
            if full {
                v["url"] = json!(s.url);
                v["last_error"] = json!(h.last_error);
            }
            v
        })
        .collect();
    let mut body = json!({
        "config": { "generation": rt.generation, "load_failed": app.load_error().is_some() },
        "mcp_path": rt.config.mcp_path,
        "servers": servers,
        "redacted": !full,
    });
    if full {
        body["config"]["path"] = json!(app.config_path.as_ref().map(|p| p.display().to_string()));
        body["config"]["load_error"] = json!(app.load_error());
    }
    response::json(StatusCode::OK, serde_json::to_vec_pretty(&body).unwrap_or_default())
}

/// The hints the backends declared for their tools (`state::tool_hints`), which
/// `mcp-gateway up` hands to the filter: `{"<server>": {"<own tool name>": {"readOnlyHint":
/// true, …}}}`, servers of the config in force only. Broker credential only: the names are the
/// backends' own.
pub async fn tool_hints(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let rt = app.runtime();
    if !has_credential(&rt, &headers) {
        return response::plain(StatusCode::FORBIDDEN, "the broker credential is required\n");
    }
    let mut hints = app.tool_hints.snapshot();
    hints.retain(|server, _| rt.server(server).is_some());
    response::json(StatusCode::OK, serde_json::to_vec(&hints).unwrap_or_default())
}

pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut r = response::plain(StatusCode::OK, &app.metrics.render());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

pub async fn oauth(State(app): State<Arc<App>>) -> Response {
    match &app.runtime().config.oauth {
        Some(o) => response::json(StatusCode::OK, serde_json::to_vec(o).unwrap_or_default()),
        None => response::plain(StatusCode::NOT_FOUND, "no protected-resource metadata configured\n"),
    }
}
