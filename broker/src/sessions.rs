//! Minting and opening gateway session tokens (all state lives in the token).

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mcpgw_common::jsonrpc;
use mcpgw_common::session::SessionClaims;
use serde_json::Value;

use crate::app::{now, App};
use crate::config::Runtime;
use crate::reply;

/// 16 hex characters from the OS RNG.
pub fn new_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // The OS RNG failing is not recoverable in any meaningful way; fall back to time.
        b = now().to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn mint(rt: &Runtime, claims: &SessionClaims) -> Result<String, String> {
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| format!("OS random source: {e}"))?;
    rt.codec.mint(claims, nonce)
}

pub fn subject(rt: &Runtime, headers: &HeaderMap) -> Option<String> {
    let h = rt.subject_header.as_ref()?;
    headers.get(h.as_str()).and_then(|v| v.to_str().ok()).map(String::from)
}

/// Opens the client's session. Refusals are the spec's "start a new session" signal (404),
/// or 400 when no session id was sent at all.
#[allow(clippy::result_large_err)]
pub fn open(app: &App, rt: &Runtime, headers: &HeaderMap, id: Option<&Value>) -> Result<SessionClaims, Response> {
    let Some(token) = headers.get(mcpgw_common::headers::SESSION_ID).and_then(|v| v.to_str().ok()) else {
        return Err(reply::error(StatusCode::BAD_REQUEST, id, jsonrpc::INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required"));
    };
    let refuse = |reason: &str| {
        app.metrics.session_refused(reason);
        tracing::info!(reason, "session refused");
        reply::error(StatusCode::NOT_FOUND, id, jsonrpc::SESSION_NOT_FOUND, "Session not found")
    };
    let claims = rt.codec.open(token, now()).map_err(|e| refuse(e.as_str()))?;
    if app.is_revoked(&claims.id) {
        return Err(refuse("deleted"));
    }
    if claims.subject.is_some() && claims.subject != subject(rt, headers) {
        return Err(refuse("subject"));
    }
    Ok(claims)
}

/// Whether `server` is part of the session, and its own session id if it issued one.
/// A server that answered `initialize` without a session id is recorded with an empty id
/// (the filter then sends no `Mcp-Session-Id`); a server absent from the token is not part
/// of the session (it failed at `initialize`, or was added later: re-initialize to use it).
pub fn member<'c>(claims: &'c SessionClaims, server: &str) -> Option<Option<&'c str>> {
    claims
        .backends
        .iter()
        .find(|b| b.server == server)
        .map(|b| (!b.session_id.is_empty()).then_some(b.session_id.as_str()))
}

/// The server's own session id, when it is a member that issued one.
pub fn backend_sid(claims: &SessionClaims, server: &str) -> Option<String> {
    member(claims, server).flatten().map(String::from)
}
