//! Who may use the MCP endpoint: only Envoy's broker route, which carries the broker
//! credential and addresses the broker by the authority it rewrites to.

use axum::extract::Request;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use mcpgw_common::{broker_auth, jsonrpc};

use crate::config::Runtime;
use crate::handlers::Reply;
use crate::http::response;
use crate::state::App;

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
pub fn admit(app: &App, rt: &Runtime, req: &Request) -> Result<(), Response> {
    let refuse = |reason: &'static str| {
        app.metrics.forbidden(reason);
        tracing::info!(reason, method = %req.method(), "MCP endpoint request refused (403)");
        response::write(Reply::error(403, None, jsonrpc::INVALID_REQUEST, "Forbidden"))
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
