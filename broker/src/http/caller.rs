//! The request's scope (`mcpgw_common::scope`) as the filter hands it over: the virtual server
//! it validated (`X-Mcp-Virtualserver`: only the filter can set it, it removes client copies)
//! and the access rules the caller's verified claims match (the payload header, which the
//! gateway's Envoy config removes from clients before `jwt_authn` writes it).

use axum::http::HeaderMap;
use mcpgw_common::jsonrpc;
use mcpgw_common::scope::{Caller, VIRTUAL_SERVER_HEADER};

use crate::config::Runtime;
use crate::handlers::Reply;
use crate::http::header_str;

/// The caller of a request: refused (404) when the virtual server it names is not configured
/// here (the filter's configuration is newer or older than the broker's), 400 when named twice.
#[allow(clippy::result_large_err)]
pub fn caller(rt: &Runtime, headers: &HeaderMap) -> Result<Caller, Reply> {
    let scope = &rt.scope;
    let virtual_server = match virtual_server_name(headers)? {
        None => None,
        Some(name) => match scope.virtual_server(name) {
            Some(i) => Some(i),
            None => return Err(Reply::error(404, None, jsonrpc::INVALID_REQUEST, &format!("Not found: no virtual server is named {name:?}"))),
        },
    };
    let rules = if scope.reads_identity() { scope.rules_of(header_str(headers, scope.payload_header())) } else { u64::MAX };
    Ok(Caller { virtual_server, rules })
}

/// The virtual server a request is for, by name, as the filter set it.
#[allow(clippy::result_large_err)]
pub fn virtual_server_name(headers: &HeaderMap) -> Result<Option<&str>, Reply> {
    let mut values = headers.get_all(VIRTUAL_SERVER_HEADER).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(Reply::error(400, None, jsonrpc::INVALID_REQUEST, &mcpgw_common::limits::duplicated_header_message(VIRTUAL_SERVER_HEADER)));
    }
    Ok(first.and_then(|v| v.to_str().ok()))
}
