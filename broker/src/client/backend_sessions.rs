//! The backend sessions this broker holds for gateway sessions: opened on a session's first
//! use of a server (`initialize` opens none, issue 12), replaced when a restarted backend
//! forgot one (HTTP 404), and the session-scoped calls that do both.

use mcpgw_common::session::SessionClaims;
use reqwest::header::HeaderValue;
use serde_json::Value;

use crate::client::addressing::Addressing;
use crate::client::exchange::{self, BackendError, BackendReply};
use crate::client::identity;
use crate::config::Server;
use crate::state::App;

/// The backend session this broker holds for the gateway session with `server`: `None`
/// when it holds none (the session has not used the server through this broker, and the
/// filter told of none), `Some(None)` when the backend issued no session id. The one place
/// that answers this: every broker path (routed calls, lists, GET streams, notifications,
/// answers, `logging/setLevel`, DELETE) asks here. `initialize` opens none: the token carries
/// no backend session ids (since token version 3); see [`ensure`].
pub fn known(app: &App, claims: &SessionClaims, server: &str) -> Option<Option<String>> {
    app.backend_session(&claims.id, server).map(|id| (!id.is_empty()).then_some(id))
}

/// The backend session id this gateway session uses for `server` on this broker, if it holds
/// one with an id (see [`known`]).
pub fn backend_sid(app: &App, claims: &SessionClaims, server: &str) -> Option<String> {
    known(app, claims, server).flatten()
}

/// The backend session for `(claims, server)`, opened now if this broker holds none: the
/// session's first use of the server (`initialize` + `notifications/initialized` at the
/// session's protocol version and with its capabilities, see [`declared_client_capabilities`]).
/// Concurrent first uses open one.
pub async fn ensure(app: &App, claims: &SessionClaims, server: &Server, auth: Option<HeaderValue>) -> Result<Option<String>, BackendError> {
    if let Some(k) = known(app, claims, &server.name) {
        return Ok(k);
    }
    open_backend(app, claims, server, None, auth).await
}

/// Capabilities declared for the gateway's client when the broker opens a backend session for
/// it (first use or replacement). The token records only whether the client declared any (it cannot change
/// mid-session, and recording the whole object would grow every token): a client that did is
/// assumed to handle the requests servers send on calls (roots, sampling, elicitation); one
/// that did not declares none, as at its `initialize`.
pub fn declared_client_capabilities(claims: &SessionClaims) -> Value {
    if claims.accepts_server_requests {
        serde_json::json!({"roots": {"listChanged": true}, "sampling": {}, "elicitation": {}})
    } else {
        serde_json::json!({})
    }
}

/// The backend forgot the session id `stale` (it answered HTTP 404: it restarted), so it did
/// not process the request. Opens a replacement backend session for `(claims, server)`
/// (`initialize` + `notifications/initialized` at the session's protocol version), keeps it in
/// memory until the token expires, restores the log level this broker saw the client set,
/// and tells the client's open GET streams what was lost. Returns the id to retry with
/// (`None`: the backend issued none). Concurrent callers that find the replacement already
/// changed use it instead of opening another.
pub async fn renew(app: &App, claims: &SessionClaims, server: &Server, stale: Option<&str>, auth: Option<HeaderValue>) -> Result<Option<String>, BackendError> {
    open_backend(app, claims, server, Some(stale), auth).await
}

/// Opens a backend session for `(claims, server)`: a replacement for `replacing` (`Some`, the
/// id the backend forgot) or the first one (`None`). One at a time per pair: a caller that
/// finds the question already answered (someone opened it meanwhile) uses that answer.
async fn open_backend(app: &App, claims: &SessionClaims, server: &Server, replacing: Option<Option<&str>>, auth: Option<HeaderValue>) -> Result<Option<String>, BackendError> {
    let settled = || -> Option<Option<String>> {
        let current = known(app, claims, &server.name);
        match replacing {
            None => current,
            Some(stale) => {
                let current = current.flatten();
                (current.as_deref() != stale).then_some(current)
            }
        }
    };
    if let Some(done) = settled() {
        return Ok(done);
    }
    let shard = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&claims.id, &server.name).hash(&mut h);
        (h.finish() % app.backend_session_locks.len().max(1) as u64) as usize
    };
    let _guard = match app.backend_session_locks.get(shard) {
        Some(m) => Some(m.lock().await),
        None => None,
    };
    if let Some(done) = settled() {
        return Ok(done);
    }
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": claims.protocol_version,
        "capabilities": declared_client_capabilities(claims),
        "clientInfo": identity::gateway_info(),
    }});
    let base = Addressing { backend_session: None, protocol_version: None, authorization: auth };
    let reply = exchange::request(app, server, &base, &init).await?;
    let result = reply.result()?;
    let version = result.get("protocolVersion").and_then(Value::as_str).unwrap_or(&claims.protocol_version).to_string();
    let addressing = Addressing { backend_session: reply.session_id.clone(), protocol_version: Some(version), authorization: base.authorization };
    exchange::notify(app, server, &addressing, &identity::initialized()).await;
    app.set_backend_session(&claims.id, &server.name, reply.session_id.clone().unwrap_or_default(), claims.expires_at);
    if replacing.is_some() {
        app.metrics.session_renewed(&server.name);
    } else {
        app.metrics.backend_session_opened(&server.name);
    }
    let level = app.log_level(&claims.id);
    let mut restored = false;
    if let Some(level) = &level {
        let set = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "logging/setLevel", "params": {"level": level}});
        restored = exchange::request(app, server, &addressing, &set).await.is_ok_and(|r| r.result().is_ok());
    }
    if replacing.is_none() {
        // The session's first use of the server: the log level it set before (if through
        // this broker) was applied above; nothing was lost.
        tracing::debug!(session = %claims.id, server = %server.name, "opened a backend session on first use");
        return Ok(reply.session_id);
    }
    tracing::info!(session = %claims.id, server = %server.name, restored_log_level = restored, "backend forgot the session (404): opened a replacement backend session");
    let lost = if restored {
        "resource subscriptions made on it were lost (the log level was set again)"
    } else {
        "state it kept for this session (log level, resource subscriptions) was lost"
    };
    let text = format!("server {:?} restarted: the gateway opened a new session with it; {lost}", server.name);
    app.tell_session(&claims.id, identity::warning(&text));
    Ok(reply.session_id)
}

/// How to address `server` for this session: its current backend session id (see
/// [`backend_sid`]) at the session's protocol version.
pub fn addressing(app: &App, claims: &SessionClaims, server: &Server, auth: Option<HeaderValue>) -> Addressing {
    Addressing { backend_session: backend_sid(app, claims, &server.name), protocol_version: Some(claims.protocol_version.clone()), authorization: auth }
}

/// One request to `server` in this session; when the backend answers that it forgot the
/// session (404: not processed), once more on a replacement backend session.
pub async fn request(app: &App, claims: &SessionClaims, server: &Server, auth: Option<HeaderValue>, body: &Value) -> Result<BackendReply, BackendError> {
    let first = addressing(app, claims, server, auth.clone());
    match exchange::request(app, server, &first, body).await {
        Err(e) if exchange::forgot_session(&e) => {
            let session = renew(app, claims, server, first.backend_session.as_deref(), auth).await?;
            exchange::request(app, server, &Addressing { backend_session: session, ..first }, body).await
        }
        other => other,
    }
}

/// One notification (or client answer), as the client sent it, to `server` in this session,
/// sent again on a replacement backend session when the backend forgot the session.
pub async fn notify(app: &App, claims: &SessionClaims, server: &Server, auth: Option<HeaderValue>, method: Option<&str>, body: bytes::Bytes) {
    let first = addressing(app, claims, server, auth.clone());
    if first.backend_session.is_none() {
        // A member that issued no session id: nothing to forget.
        exchange::send(app, server, &first, method, body).await;
        return;
    }
    if exchange::send(app, server, &first, method, body.clone()).await == Some(404) {
        if let Ok(session) = renew(app, claims, server, first.backend_session.as_deref(), auth).await {
            exchange::send(app, server, &Addressing { backend_session: session, ..first }, method, body).await;
        }
    }
}
