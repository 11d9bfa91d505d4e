//! The HTTP surface, the top layer: the routes, the admission of every request on the MCP
//! endpoint (broker credential, authority, duplicated MCP headers, the gateway session), the
//! dispatch of POST, GET and DELETE to the handlers, the operational endpoints, and the
//! writing of the handlers' replies as HTTP responses.

pub mod admission;
pub mod caller;
pub mod ops;
pub mod post;
pub mod response;
pub mod session;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method as HttpMethod, StatusCode};
use axum::response::Response;
use axum::routing::get;
use mcpgw_common::{jsonrpc, limits};

use crate::handlers::{delete, get_stream, Reply};
use crate::state::App;

pub fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/status", get(ops::status))
        .route("/metrics", get(ops::metrics))
        .route("/tool-hints", get(ops::tool_hints))
        .route("/.well-known/oauth-protected-resource", get(ops::oauth))
        .route("/.well-known/oauth-protected-resource/{*rest}", get(ops::oauth))
        .fallback(endpoint)
        .with_state(app)
}

/// The MCP endpoint: admitted first (credential, authority, one of each MCP header), then
/// served by HTTP method.
async fn endpoint(State(app): State<Arc<App>>, req: Request) -> Response {
    let rt = app.runtime();
    if req.uri().path() != rt.config.mcp_path {
        return response::plain(StatusCode::NOT_FOUND, "not found");
    }
    if let Err(r) = admission::admit(&app, &rt, &req) {
        return r;
    }
    // Two Mcp-Session-Id (or protocol version, method, name) headers could be read one way
    // here and another in the filter: refused before anything is decided, as the filter does.
    if let Some(h) = limits::duplicated_mcp_header(req.headers().iter().map(|(k, v)| (k.as_str(), v))) {
        return response::write(Reply::error(400, None, jsonrpc::INVALID_REQUEST, &limits::duplicated_header_message(h)));
    }
    let auth = req.headers().get(header::AUTHORIZATION).cloned();
    let reply = match *req.method() {
        HttpMethod::POST => post::post(app, req).await,
        HttpMethod::GET => {
            app.metrics.request("GET");
            match session::open(&app, &rt, req.headers(), None) {
                Ok(claims) => {
                    let last = header_str(req.headers(), "last-event-id").map(String::from);
                    get_stream::open(&app, &claims, auth, last.as_deref()).await
                }
                Err(r) => r,
            }
        }
        HttpMethod::DELETE => {
            app.metrics.request("DELETE");
            match session::open(&app, &rt, req.headers(), None) {
                Ok(claims) => delete::end_session(&app, &claims, auth).await,
                Err(r) => r,
            }
        }
        _ => {
            let mut r = response::plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            return r;
        }
    };
    response::write(reply)
}

fn header_str<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}
