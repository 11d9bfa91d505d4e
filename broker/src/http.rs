//! The HTTP surface: the MCP endpoint (POST, GET, DELETE) and the operational endpoints.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method as HttpMethod, StatusCode};
use axum::response::Response;
use axum::routing::get;
use futures::future::join_all;
use mcpgw_common::message::{self, Kind, Message};
use mcpgw_common::protocol::{self, Class, Decision, Era, Method, Reason, Refusal, StandardHeaders};
use mcpgw_common::{broker_auth, headers as mcp_headers, jsonrpc, limits};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::app::App;
use crate::backend::{self, Ctx};
use crate::config::Runtime;
use crate::lists::{self, Access};
use crate::{init, modern, ops, reply, routed, sessions, stream};

/// One POSTed message, parsed once, as the handlers need it.
pub struct Posted<'a> {
    pub msg: &'a Message<'a>,
    pub era: Era,
    pub method: Option<Method>,
    pub headers: &'a HeaderMap,
}

impl<'a> Posted<'a> {
    pub fn id(&self) -> Option<&'a RawValue> {
        self.msg.id
    }

    pub fn body(&self) -> &'a [u8] {
        self.msg.body()
    }

    /// The client's `Authorization`, sent on only to servers configured to receive it.
    pub fn authorization(&self) -> Option<HeaderValue> {
        self.headers.get(header::AUTHORIZATION).cloned()
    }

    /// The body as a JSON tree, for the handlers that read fields the parser does not keep
    /// (initialize params, list cursors, listen filters, the log level). Each such handler
    /// builds it once; no other path does.
    pub fn tree(&self) -> Value {
        serde_json::from_slice(self.body()).unwrap_or(Value::Null)
    }
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
        HttpMethod::POST => post(app, req).await,
        HttpMethod::GET => {
            app.metrics.request("GET");
            match sessions::open(&app, &rt, req.headers(), None) {
                Ok(claims) => {
                    let last = header_str(req.headers(), "last-event-id").map(String::from);
                    stream::get(&app, &claims, auth, last.as_deref()).await
                }
                Err(r) => r,
            }
        }
        HttpMethod::DELETE => {
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


/// A refusal as the client gets it.
fn refused(refusal: &Refusal) -> Response {
    reply::json(StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST), refusal.body())
}

/// The `requests` metric label of a message: its method when the gateway knows it, so a
/// client cannot blow up the label space.
fn request_label(msg: &Message<'_>) -> &'static str {
    match msg.kind {
        Kind::Response => "response",
        _ => msg.method.as_deref().and_then(Method::parse).map_or("other", Method::as_str),
    }
}

/// Parse once, decide once (`mcpgw_common::protocol::decide`, the filter's decision too), then
/// serve what was decided.
async fn post(app: Arc<App>, req: Request) -> Response {
    let rt = app.runtime();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, rt.config.limits.max_body_bytes).await else {
        return reply::json(
            StatusCode::PAYLOAD_TOO_LARGE,
            jsonrpc::error_body(None, jsonrpc::REQUEST_TOO_LARGE, "Request body exceeds the gateway's limit"),
        );
    };
    let msg = match message::parse(&bytes) {
        Ok(m) => m,
        Err(e) => return refused(&Refusal::parse(&e)),
    };
    app.metrics.request(request_label(&msg));
    let standard = StandardHeaders {
        protocol_version: header_str(&parts.headers, mcp_headers::PROTOCOL_VERSION),
        method: header_str(&parts.headers, mcp_headers::METHOD),
        name: header_str(&parts.headers, mcp_headers::NAME),
    };
    let decided = match protocol::decide(&msg, standard, &rt.router) {
        Ok(d) => d,
        Err(refusal) => return refused(&refusal),
    };
    let posted = Posted { msg: &msg, era: decided.era, method: decided.method, headers: &parts.headers };
    match decided.decision {
        Decision::Backend(route) => match posted.era {
            Era::Session => {
                let claims = match sessions::open(&app, &rt, posted.headers, posted.id()) {
                    Ok(c) => c,
                    Err(r) => return r,
                };
                routed::in_session(&app, &rt, &posted, &route, &claims).await
            }
            Era::Stateless => routed::stateless(&app, &rt, &posted, &route).await,
        },
        Decision::Answer(answer) => {
            let claims = match answer_session(&app, &rt, &posted) {
                Ok(c) => c,
                Err(r) => return r,
            };
            let Some(server) = rt.servers.get(answer.server) else { return reply::accepted() };
            // The server's own id in place of the one the gateway namespaced.
            let body = answer.rewritten_body(&msg).unwrap_or_else(|| bytes.to_vec());
            stream::forward_answer(&app, claims.as_ref(), server, body.into(), posted.authorization()).await;
            reply::accepted()
        }
        Decision::Broker => match msg.kind {
            Kind::Response => {
                let claims = match answer_session(&app, &rt, &posted) {
                    Ok(c) => c,
                    Err(r) => return r,
                };
                if let Some(claims) = &claims {
                    stream::broadcast_answer(&app, claims, bytes.clone(), posted.authorization()).await;
                }
                reply::accepted()
            }
            Kind::Notification => notification(&app, &posted, bytes.clone()).await,
            Kind::Request => match posted.era {
                Era::Session => session_request(&app, &posted).await,
                Era::Stateless => stateless_request(&app, &posted).await,
            },
        },
    }
}

/// The session a client's answer belongs to: a session-protocol answer under a session id
/// must find it still open (a DELETEd, forged or expired one is refused as on every other
/// path); a 2026-07-28 answer, or one without a session id, has none.
#[allow(clippy::result_large_err)]
fn answer_session(app: &App, rt: &Runtime, posted: &Posted<'_>) -> Result<Option<mcpgw_common::session::SessionClaims>, Response> {
    if posted.era == Era::Stateless || !posted.headers.contains_key(mcp_headers::SESSION_ID) {
        return Ok(None);
    }
    sessions::open(app, rt, posted.headers, None).map(Some)
}

async fn notification(app: &Arc<App>, posted: &Posted<'_>, body: bytes::Bytes) -> Response {
    if posted.era == Era::Stateless || posted.method == Some(Method::NotificationsInitialized) {
        return reply::accepted();
    }
    let rt = app.runtime();
    let claims = match sessions::open(app, &rt, posted.headers, None) {
        Ok(c) => c,
        Err(r) => return r,
    };
    // Cancellation, progress and roots changes concern whichever backend holds the request;
    // every backend of the session is told (one that does not know the id ignores it).
    let claims = &claims;
    let method = posted.msg.method.as_deref();
    let auth = posted.authorization();
    // Only servers the session has a backend session with: one it never used holds no
    // request of it to cancel or report on.
    let sends = rt.servers.iter().filter_map(|s| {
        sessions::known(app, claims, &s.name)?;
        Some(sessions::notify(app, claims, s, auth.clone(), method, body.clone()))
    });
    join_all(sends).await;
    reply::accepted()
}

/// "Method not found" in `era` (HTTP 200 in the session protocol, 404 at 2026-07-28).
fn method_not_found(posted: &Posted<'_>) -> Response {
    let name = posted.msg.method.as_deref().unwrap_or_default();
    let refusal = Refusal::new(posted.era, Reason::MethodNotFound, jsonrpc::METHOD_NOT_FOUND, format!("Method not found: {name}")).with_id(posted.id());
    refused(&refusal)
}

async fn session_request(app: &Arc<App>, posted: &Posted<'_>) -> Response {
    let rt = app.runtime();
    let id = posted.id();
    if posted.method == Some(Method::Initialize) {
        return init::initialize(app, &rt, posted).await;
    }
    if posted.method == Some(Method::Ping) && !posted.headers.contains_key(mcp_headers::SESSION_ID) {
        return reply::result(id, json!({}));
    }
    let claims = match sessions::open(app, &rt, posted.headers, id) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(method) = posted.method.filter(|m| m.exists_in(Era::Session)) else {
        return method_not_found(posted);
    };
    match method.class() {
        Class::AggregatedList { items } => {
            let request = posted.tree();
            let listed = lists::aggregated(app, &rt, id, method, items, request.get("params"), Access::Session(&claims), posted.authorization()).await;
            match listed {
                Ok(body) => reply::json(StatusCode::OK, body),
                Err((code, msg)) => reply::rpc_error(Era::Session, id, code, &msg),
            }
        }
        _ if method == Method::Ping => reply::result(id, json!({})),
        _ if method == Method::LoggingSetLevel => {
            let request = posted.tree();
            // Remembered (in memory, until the token expires) so that a replacement backend
            // session gets it again after a backend restart.
            if let Some(level) = request.pointer("/params/level").and_then(Value::as_str) {
                app.set_log_level(&claims.id, level, claims.expires_at);
            }
            let (claims, request, auth) = (&claims, &request, posted.authorization());
            // Sent to the backend sessions the session has; one opened later gets the level
            // when it is opened (sessions::ensure).
            let sends = rt.servers.iter().filter_map(|s| {
                sessions::known(app, claims, &s.name)?;
                Some(sessions::request(app, claims, s, auth.clone(), request))
            });
            join_all(sends).await;
            reply::result(id, json!({}))
        }
        _ => method_not_found(posted),
    }
}

/// A 2026-07-28 request the broker serves itself; `decide` refused every method that revision
/// does not have (HTTP 404, -32601).
async fn stateless_request(app: &Arc<App>, posted: &Posted<'_>) -> Response {
    let rt = app.runtime();
    let id = posted.id();
    let Some(method) = posted.method else { return method_not_found(posted) };
    match method.class() {
        Class::AggregatedList { items } => {
            let request = posted.tree();
            let params = request.get("params");
            let meta = params.and_then(|p| p.get("_meta"));
            let listed = lists::aggregated(app, &rt, id, method, items, params, Access::Stateless(meta), posted.authorization()).await;
            match listed {
                Ok(body) => reply::json(StatusCode::OK, body),
                Err((code, msg)) => reply::rpc_error(Era::Stateless, id, code, &msg),
            }
        }
        _ if method == Method::ServerDiscover => modern::discover(app, &rt, posted).await,
        _ if method == Method::SubscriptionsListen => modern::listen(app, &rt, posted).await,
        _ => method_not_found(posted),
    }
}
