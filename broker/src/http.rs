//! The HTTP surface: the MCP endpoint (POST, GET, DELETE) and the operational endpoints.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use futures::future::join_all;
use mcpgw_common::message::{self, Kind};
use mcpgw_common::{broker_auth, headers as mcp_headers, jsonrpc, limits};
use serde_json::{json, Value};

use crate::app::App;
use crate::backend::{self, Ctx};
use crate::config::Runtime;
use crate::lists::{self, Access};
use crate::{init, modern, ops, reply, routed, sessions, stream};

/// Methods counted under their own label in metrics.
pub const KNOWN_METHODS: &[&str] = &[
    "initialize", "ping", "tools/list", "prompts/list", "resources/list", "resources/templates/list",
    "tools/call", "prompts/get", "resources/read", "resources/subscribe", "resources/unsubscribe",
    "completion/complete", "logging/setLevel", "server/discover", "subscriptions/listen",
    "notifications/initialized", "notifications/cancelled", "notifications/progress",
    "notifications/roots/list_changed", "response", "GET", "DELETE",
];

/// One POSTed message, parsed.
pub struct Incoming {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub value: Value,
    pub method: String,
    pub id: Option<Value>,
    pub kind: Kind,
    /// 2026-07-28 (sessionless) request.
    pub modern: bool,
    /// `params._meta`.
    pub meta: Option<Value>,
    pub authorization: Option<HeaderValue>,
}

pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/status", get(ops::status))
        .route("/metrics", get(ops::metrics))
        .route("/.well-known/oauth-protected-resource", get(ops::oauth))
        .route("/.well-known/oauth-protected-resource/{*rest}", get(ops::oauth))
        .fallback(endpoint)
        .with_state(app)
}

async fn endpoint(State(app): State<Arc<App>>, req: Request) -> Response {
    let rt = app.runtime();
    if req.uri().path() != rt.config.mcp_path {
        return reply::plain(StatusCode::NOT_FOUND, "not found");
    }
    if let Err(r) = admit(&app, &rt, &req) {
        return r;
    }
    // Two Mcp-Session-Id (or protocol version, method, name) headers could be read one way
    // here and another in the filter: refused before anything is decided, as the filter does.
    if let Some(h) = limits::duplicated_mcp_header(req.headers().iter().map(|(k, v)| (k.as_str(), v))) {
        return reply::error(StatusCode::BAD_REQUEST, None, jsonrpc::INVALID_REQUEST, &limits::duplicated_header_message(h));
    }
    let auth = req.headers().get(header::AUTHORIZATION).cloned();
    match *req.method() {
        Method::POST => post(app, req).await,
        Method::GET => {
            app.metrics.request("GET");
            match sessions::open(&app, &rt, req.headers(), None) {
                Ok(claims) => {
                    let last = header_str(req.headers(), "last-event-id").map(String::from);
                    stream::get(&app, &claims, auth, last.as_deref()).await
                }
                Err(r) => r,
            }
        }
        Method::DELETE => {
            app.metrics.request("DELETE");
            match sessions::open(&app, &rt, req.headers(), None) {
                Ok(claims) => {
                    // Refused from this instant on every path of this replica, before the
                    // backends are told: no request can slip in while they are.
                    app.revoke(&claims.id, claims.expires_at);
                    let ends = rt.servers.iter().filter_map(|s| {
                        let sid = sessions::backend_sid(&app, &claims, &s.name)?;
                        let ctx = Ctx { session: Some(sid), protocol_version: Some(claims.protocol_version.clone()), authorization: auth.clone() };
                        let app = app.clone();
                        Some(async move { backend::delete_session(&app, s, &ctx).await })
                    });
                    let ended = join_all(ends).await;
                    app.forget_session(&claims.id);
                    tracing::info!(session = %claims.id, backends = ended.len(), ok = ended.iter().filter(|b| **b).count(), "session deleted");
                    let mut r = Response::new(Body::empty());
                    *r.status_mut() = StatusCode::OK;
                    r
                }
                Err(r) => r,
            }
        }
        _ => {
            let mut r = reply::plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            r
        }
    }
}

/// Whether the request carries the broker credential (`x-mcp-gateway-auth`, exactly once)
/// derived from one of the configured session keys: only Envoy's broker route, on the
/// filter's decision, sends it.
pub fn has_credential(rt: &Runtime, headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(broker_auth::HEADER).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => rt.auth.verify(v.as_bytes()),
        _ => false,
    }
}

/// The MCP endpoint answers only Envoy: the credential must be there, and the authority must
/// be the one Envoy's broker route rewrites to (or `broker.mcp.internal`), so a page that
/// rebinds its own DNS name to this address is refused too. Every refusal is the same 403
/// with a JSON-RPC -32600 body; the reason goes to the log and to metrics only.
#[allow(clippy::result_large_err)]
fn admit(app: &App, rt: &Runtime, req: &Request) -> Result<(), Response> {
    let refuse = |reason: &'static str| {
        app.metrics.forbidden(reason);
        tracing::info!(reason, method = %req.method(), "MCP endpoint request refused (403)");
        reply::error(StatusCode::FORBIDDEN, None, jsonrpc::INVALID_REQUEST, "Forbidden")
    };
    if !has_credential(rt, req.headers()) {
        return Err(refuse("credential"));
    }
    // Every authority the request names must be allowed: each `Host` header, and the
    // HTTP/2 `:authority` (or an absolute-form request target).
    let hosts = req.headers().get_all(header::HOST);
    let mut named = 0usize;
    for h in hosts.iter() {
        named += 1;
        if !h.to_str().is_ok_and(|h| app.authority_allowed(rt, h)) {
            return Err(refuse("host"));
        }
    }
    if let Some(a) = req.uri().authority() {
        named += 1;
        if !app.authority_allowed(rt, a.as_str()) {
            return Err(refuse("host"));
        }
    }
    if named == 0 {
        return Err(refuse("host"));
    }
    Ok(())
}

fn header_str<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

async fn post(app: Arc<App>, req: Request) -> Response {
    let rt = app.runtime();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, rt.config.limits.max_body_bytes).await else {
        return reply::json(
            StatusCode::PAYLOAD_TOO_LARGE,
            jsonrpc::error_body(None, jsonrpc::REQUEST_TOO_LARGE, "Request body exceeds the gateway's limit"),
        );
    };
    let (kind, method, id) = match message::parse(&bytes) {
        Ok(m) => (
            m.kind,
            m.method.as_deref().unwrap_or("").to_string(),
            m.id.and_then(|r| serde_json::from_str::<Value>(r.get()).ok()),
        ),
        Err(e) => return reply::json(StatusCode::BAD_REQUEST, e.to_body()),
    };
    if let Err(m) = limits::check_method(&method) {
        return reply::error(StatusCode::BAD_REQUEST, id.as_ref(), jsonrpc::INVALID_REQUEST, &m);
    }
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let meta = value.pointer("/params/_meta").cloned();
    let header_version = header_str(&parts.headers, mcp_headers::PROTOCOL_VERSION).map(String::from);
    let meta_version = meta.as_ref().and_then(|m| m.get("io.modelcontextprotocol/protocolVersion")).and_then(Value::as_str).map(String::from);
    // The era, as the official SDKs decide it: a header naming a session-protocol version is
    // the session protocol; any other header value is 2026-07-28 or later, or a version this
    // gateway does not serve, both answered by the 2026-07-28 checks. Without a header, a
    // 2026-07-28 `_meta` version still counts as modern (and is refused for the missing header).
    let modern = match header_version.as_deref() {
        Some(h) => !init::SUPPORTED.contains(&h),
        None => meta_version.as_deref().is_some_and(mcp_headers::requires_standard_headers),
    };
    app.metrics.request(if kind == Kind::Response { "response" } else { &method });
    let req = Incoming {
        authorization: parts.headers.get(header::AUTHORIZATION).cloned(),
        headers: parts.headers,
        body: bytes,
        value,
        method,
        id,
        kind,
        modern,
        meta,
    };
    if modern && kind == Kind::Request {
        if let Err(r) = modern::check_request(&req, header_version.as_deref(), || check_standard_headers(&req)) {
            return r;
        }
    } else if modern && kind == Kind::Notification {
        // Notifications carry no `_meta` envelope: the header version and `Mcp-Method` only.
        let v = header_version.or(meta_version).unwrap_or_default();
        if !modern::SUPPORTED_VERSIONS.contains(&v.as_str()) {
            return modern::unsupported_version(req.id.as_ref(), &v);
        }
        if let Err(why) = check_standard_headers(&req) {
            return reply::error(StatusCode::BAD_REQUEST, req.id.as_ref(), jsonrpc::HEADER_MISMATCH, &why);
        }
    }
    // One rule with the filter: a message without an id is a notification.
    if kind == Kind::Notification {
        if let Err(why) = mcpgw_common::limits::check_notification(&req.method) {
            return reply::error(StatusCode::BAD_REQUEST, None, jsonrpc::INVALID_REQUEST, &why);
        }
    }
    if kind == Kind::Response {
        let rt = app.runtime();
        let malformed = req.id.as_ref().and_then(Value::as_str).is_some_and(|id| {
            mcpgw_common::ids::is_malformed_mapped_id(id, |name| rt.server(name).is_some())
        });
        if malformed {
            let why = "Invalid Request: the id does not name a request the gateway relayed";
            return reply::error(StatusCode::BAD_REQUEST, req.id.as_ref(), jsonrpc::INVALID_REQUEST, why);
        }
    }
    match kind {
        Kind::Response => {
            // A session-protocol answer under a session id: the session must still be open
            // (a DELETEd, forged or expired one is refused as on every other path).
            let claims = if req.modern || !req.headers.contains_key(mcp_headers::SESSION_ID) {
                None
            } else {
                match sessions::open(&app, &rt, &req.headers, None) {
                    Ok(c) => Some(c),
                    Err(r) => return r,
                }
            };
            stream::forward_response(&app, claims.as_ref(), &req.value, req.authorization.clone()).await;
            reply::accepted()
        }
        Kind::Notification => notification(&app, &req).await,
        Kind::Request if req.modern => modern_request(&app, &req).await,
        Kind::Request => legacy_request(&app, &req).await,
    }
}

/// SEP-2243: `Mcp-Method` (and `Mcp-Name` where it applies) must mirror the body.
fn check_standard_headers(req: &Incoming) -> Result<(), String> {
    match header_str(&req.headers, mcp_headers::METHOD) {
        Some(m) if m == req.method => {}
        Some(m) => return Err(format!("Mcp-Method header {m:?} does not match the body's method {:?}", req.method)),
        None => return Err("Mcp-Method header is required at protocol 2026-07-28".into()),
    }
    // A method 2026-07-28 removed names nothing: it is answered "not found" whatever it carries.
    if mcp_headers::removed_in_standard_headers_era(&req.method) {
        return Ok(());
    }
    if let Some(field) = mcp_headers::name_field(&req.method) {
        let key = if field == mcp_headers::NameField::Name { "name" } else { "uri" };
        let body = req.value.pointer(&format!("/params/{key}")).and_then(Value::as_str);
        let head = header_str(&req.headers, mcp_headers::NAME).and_then(mcp_headers::decode_value);
        if body.is_none() || head.as_deref() != body {
            return Err(format!("Mcp-Name header does not match params.{key}"));
        }
    }
    Ok(())
}

async fn notification(app: &Arc<App>, req: &Incoming) -> Response {
    if req.modern || req.method == "notifications/initialized" {
        return reply::accepted();
    }
    let rt = app.runtime();
    let claims = match sessions::open(app, &rt, &req.headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Cancellation, progress and roots changes concern whichever backend holds the request;
    // every backend of the session is told (one that does not know the id ignores it).
    let claims = &claims;
    // Only servers the session has a backend session with: one it never used holds no
    // request of it to cancel or report on.
    let sends = rt.servers.iter().filter_map(|s| {
        sessions::known(app, claims, &s.name)?;
        Some(async move { sessions::notify(app, claims, s, req.authorization.clone(), &req.value).await })
    });
    join_all(sends).await;
    reply::accepted()
}

async fn legacy_request(app: &Arc<App>, req: &Incoming) -> Response {
    let rt = app.runtime();
    let id = req.id.clone().unwrap_or(Value::Null);
    if req.method == "initialize" {
        return init::initialize(app, &rt, req).await;
    }
    if req.method == "ping" && !req.headers.contains_key(mcp_headers::SESSION_ID) {
        return reply::result(&id, json!({}));
    }
    let claims = match sessions::open(app, &rt, &req.headers, req.id.as_ref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match req.method.as_str() {
        "ping" => reply::result(&id, json!({})),
        m if lists::items_key(m).is_some() => {
            let params = req.value.get("params");
            match lists::aggregated(app, &rt, &id, m, params, Access::Session(&claims), req.authorization.clone(), false).await {
                Ok(body) => reply::json(StatusCode::OK, body),
                Err((code, msg)) => reply::error(StatusCode::OK, Some(&id), code, &msg),
            }
        }
        m if routed::is_routed(m) => routed::legacy(app, &rt, req, &claims).await,
        "logging/setLevel" => {
            // Remembered (in memory, until the token expires) so that a replacement backend
            // session gets it again after a backend restart.
            if let Some(level) = req.value.pointer("/params/level").and_then(Value::as_str) {
                app.set_log_level(&claims.id, level, claims.expires_at);
            }
            let claims = &claims;
            // Sent to the backend sessions the session has; one opened later gets the level
            // when it is opened (sessions::ensure).
            let sends = rt.servers.iter().filter_map(|s| {
                sessions::known(app, claims, &s.name)?;
                Some(async move { sessions::request(app, claims, s, req.authorization.clone(), &req.value).await })
            });
            join_all(sends).await;
            reply::result(&id, json!({}))
        }
        _ => reply::error(StatusCode::OK, Some(&id), jsonrpc::METHOD_NOT_FOUND, &format!("Method not found: {}", req.method)),
    }
}

async fn modern_request(app: &Arc<App>, req: &Incoming) -> Response {
    let rt = app.runtime();
    let id = req.id.clone().unwrap_or(Value::Null);
    match req.method.as_str() {
        "server/discover" => modern::discover(app, &rt, req).await,
        "subscriptions/listen" => modern::listen(app, &rt, req).await,
        m if lists::items_key(m).is_some() => {
            let params = req.value.get("params");
            match lists::aggregated(app, &rt, &id, m, params, Access::Modern(req.meta.as_ref()), req.authorization.clone(), true).await {
                Ok(body) => reply::json(StatusCode::OK, body),
                Err((code, msg)) => reply::modern_error(Some(&id), code, &msg),
            }
        }
        m if routed::is_routed(m) && !mcp_headers::removed_in_standard_headers_era(m) => routed::modern(app, &rt, req).await,
        // 2026-07-28 removed `initialize`, `ping`, `logging/setLevel` and resource
        // (un)subscription (`subscriptions/listen` replaces them): HTTP 404 with -32601, as
        // for any method the gateway does not know.
        _ => reply::modern_error(Some(&id), jsonrpc::METHOD_NOT_FOUND, &format!("Method not found: {}", req.method)),
    }
}
