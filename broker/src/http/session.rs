//! Admission of a request's gateway session: the token in `Mcp-Session-Id`, opened and checked
//! (expiry, DELETE, subject) before any handler runs, and the backend sessions the filter
//! learnt for it adopted.

use axum::http::HeaderMap;
use mcpgw_common::jsonrpc;
use mcpgw_common::session::SessionClaims;
use serde_json::value::RawValue;

use crate::config::Runtime;
use crate::handlers::Reply;
use crate::state::app::now;
use crate::state::gateway_sessions::subject;
use crate::state::App;

/// Opens the client's session. Refusals are the spec's "start a new session" signal (404),
/// or 400 when no session id was sent at all.
// The error is the finished reply, built only on the refusal path.
#[allow(clippy::result_large_err)]
pub fn open(app: &App, rt: &Runtime, headers: &HeaderMap, id: Option<&RawValue>) -> Result<SessionClaims, Reply> {
    let Some(token) = headers.get(mcpgw_common::headers::SESSION_ID).and_then(|v| v.to_str().ok()) else {
        return Err(Reply::error(400, id, jsonrpc::INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required"));
    };
    let refuse = |reason: &str| {
        app.metrics.session_refused(reason);
        tracing::info!(reason, "session refused");
        Reply::error(404, id, jsonrpc::SESSION_NOT_FOUND, "Session not found")
    };
    let claims = rt.codec.open(token, now()).map_err(|e| refuse(e.as_str()))?;
    if app.is_revoked(&claims.id) {
        return Err(refuse("deleted"));
    }
    if claims.subject.is_some() && claims.subject != subject(rt, headers) {
        return Err(refuse("subject"));
    }
    // A session belongs to the virtual server it was opened on (as the filter checks).
    if claims.virtual_server.as_deref() != crate::http::caller::virtual_server_name(headers)? {
        return Err(refuse("virtual_server"));
    }
    adopt(app, rt, &claims, headers);
    Ok(claims)
}

/// The backend sessions the filter learnt for this session (`x-mcp-backend-session` on a
/// request, see `mcpgw_common::backend_session`): this broker uses them too, so that after a
/// broker restart, or on another broker replica, the session's GET stream, notifications and
/// `DELETE` reach the backend sessions its calls use instead of new ones. Only the filter can
/// have written the header (it removes client-sent copies, and this endpoint answers only
/// the broker credential).
///
/// Only a pair this broker holds **no** backend session for is adopted; one it holds is never
/// replaced by what a request says. The header carries no order, so a differing id cannot be
/// told newer from older: an Envoy replica that learnt the id before the backend restarted
/// still sends it after this broker opened a healthy replacement, and taking it would set the
/// pair back to a dead session (the next GET, notification or cancellation 404s, a needless
/// replacement is opened, the last one is orphaned and the client warned of a restart that
/// did not happen), again on every request from that replica. Keeping the held one costs, in
/// the opposite case (another broker replica renewed and this one still holds the dead id),
/// one 404 and one replacement here, after which the pair is healthy.
fn adopt(app: &App, rt: &Runtime, claims: &SessionClaims, headers: &HeaderMap) {
    let Some(value) = headers.get(mcpgw_common::backend_session::HEADER).and_then(|v| v.to_str().ok()) else { return };
    for (server, id) in mcpgw_common::backend_session::decode(value) {
        if rt.server(&server).is_none() || id.len() > mcpgw_common::limits::MAX_BACKEND_SESSION_ID_BYTES {
            continue;
        }
        app.adopt_backend_session(&claims.id, &server, id, claims.expires_at);
    }
}
