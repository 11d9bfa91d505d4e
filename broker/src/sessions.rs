//! Minting and opening gateway session tokens (all state lives in the token).

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use mcpgw_common::jsonrpc;
use mcpgw_common::session::SessionClaims;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::app::{now, App};
use crate::backend::{self, BackendError, Ctx};
use crate::config::{Runtime, Server};
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
pub fn open(app: &App, rt: &Runtime, headers: &HeaderMap, id: Option<&RawValue>) -> Result<SessionClaims, Response> {
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
        app.adopt_replacement(&claims.id, &server, id, claims.expires_at);
    }
}

// ---- backend sessions, opened on first use (issue 12) --------------------------------------

/// At most this many backend sessions (and remembered log levels) are held; a full map first
/// drops expired entries, then the one whose token expires soonest (that session's next
/// broker path to the server opens another; its calls keep the one the filter learnt).
pub const MAX_REPLACEMENTS: usize = 100_000;

/// A bounded map whose entries expire with the gateway session they belong to.
#[derive(Debug)]
pub struct Expiring<K, V> {
    entries: HashMap<K, (V, u64)>,
    capacity: usize,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Expiring<K, V> {
    pub fn new(capacity: usize) -> Expiring<K, V> {
        Expiring { entries: HashMap::new(), capacity: capacity.max(1) }
    }

    pub fn get(&self, key: &K, now: u64) -> Option<V> {
        self.entries.get(key).filter(|(_, exp)| *exp > now).map(|(v, _)| v.clone())
    }

    pub fn insert(&mut self, key: K, value: V, expires_at: u64, now: u64) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, (_, exp)| *exp > now);
            while self.entries.len() >= self.capacity {
                let soonest = self.entries.iter().min_by_key(|(_, (_, exp))| *exp).map(|(k, _)| k.clone());
                match soonest {
                    Some(k) => self.entries.remove(&k),
                    None => break,
                };
            }
        }
        self.entries.insert(key, (value, expires_at));
    }

    /// [`Expiring::insert`] unless `key` holds an unexpired value; whether it inserted.
    pub fn insert_missing(&mut self, key: K, value: V, expires_at: u64, now: u64) -> bool {
        if self.get(&key, now).is_some() {
            return false;
        }
        self.insert(key, value, expires_at, now);
        true
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.entries.retain(|k, _| keep(k));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `(gateway session id, server name)`.
pub type SessionServer = (String, String);

/// The backend session this broker holds for the gateway session with `server`: `None`
/// when it holds none (the session has not used the server through this broker, and the
/// filter told of none), `Some(None)` when the backend issued no session id. The one place
/// that answers this: every broker path (routed calls, lists, GET streams, notifications,
/// answers, `logging/setLevel`, DELETE) asks here. `initialize` opens none: the token carries
/// no backend session ids (since token version 3); see [`ensure`].
pub fn known(app: &App, claims: &SessionClaims, server: &str) -> Option<Option<String>> {
    app.replacement(&claims.id, server).map(|id| (!id.is_empty()).then_some(id))
}

/// The backend session id this gateway session uses for `server` on this broker, if it holds
/// one with an id (see [`known`]).
pub fn backend_sid(app: &App, claims: &SessionClaims, server: &str) -> Option<String> {
    known(app, claims, server).flatten()
}

/// The backend session for `(claims, server)`, opened now if this broker holds none: the
/// session's first use of the server (`initialize` + `notifications/initialized` at the
/// session's protocol version and with its capabilities, see [`replacement_capabilities`]).
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
pub fn replacement_capabilities(claims: &SessionClaims) -> Value {
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
        (h.finish() % app.renewing.len().max(1) as u64) as usize
    };
    let _guard = match app.renewing.get(shard) {
        Some(m) => Some(m.lock().await),
        None => None,
    };
    if let Some(done) = settled() {
        return Ok(done);
    }
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": claims.protocol_version,
        "capabilities": replacement_capabilities(claims),
        "clientInfo": crate::init::server_info(),
    }});
    let base = Ctx { session: None, protocol_version: None, authorization: auth };
    let reply = backend::request(app, server, &base, &init).await?;
    let result = reply.result()?;
    let version = result.get("protocolVersion").and_then(Value::as_str).unwrap_or(&claims.protocol_version).to_string();
    let ctx = Ctx { session: reply.session_id.clone(), protocol_version: Some(version), authorization: base.authorization };
    backend::notify(app, server, &ctx, &serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    app.set_replacement(&claims.id, &server.name, reply.session_id.clone().unwrap_or_default(), claims.expires_at);
    if replacing.is_some() {
        app.metrics.session_renewed(&server.name);
    } else {
        app.metrics.backend_session_opened(&server.name);
    }
    let level = app.log_level(&claims.id);
    let mut restored = false;
    if let Some(level) = &level {
        let set = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "logging/setLevel", "params": {"level": level}});
        restored = backend::request(app, server, &ctx, &set).await.is_ok_and(|r| r.result().is_ok());
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
    app.tell_session(&claims.id, crate::stream::warning(&text));
    Ok(reply.session_id)
}

/// How to address `server` for this session: its current backend session id (see
/// [`backend_sid`]) at the session's protocol version.
pub fn ctx(app: &App, claims: &SessionClaims, server: &Server, auth: Option<HeaderValue>) -> Ctx {
    Ctx { session: backend_sid(app, claims, &server.name), protocol_version: Some(claims.protocol_version.clone()), authorization: auth }
}

/// One request to `server` in this session; when the backend answers that it forgot the
/// session (404: not processed), once more on a replacement backend session.
pub async fn request(app: &App, claims: &SessionClaims, server: &Server, auth: Option<HeaderValue>, body: &Value) -> Result<backend::Reply, BackendError> {
    let first = ctx(app, claims, server, auth.clone());
    match backend::request(app, server, &first, body).await {
        Err(e) if backend::forgot_session(&e) => {
            let session = renew(app, claims, server, first.session.as_deref(), auth).await?;
            backend::request(app, server, &Ctx { session, ..first }, body).await
        }
        other => other,
    }
}

/// One notification (or client answer), as the client sent it, to `server` in this session,
/// sent again on a replacement backend session when the backend forgot the session.
pub async fn notify(app: &App, claims: &SessionClaims, server: &Server, auth: Option<HeaderValue>, method: Option<&str>, body: bytes::Bytes) {
    let first = ctx(app, claims, server, auth.clone());
    if first.session.is_none() {
        // A member that issued no session id: nothing to forget.
        backend::send(app, server, &first, method, body).await;
        return;
    }
    if backend::send(app, server, &first, method, body.clone()).await == Some(404) {
        if let Ok(session) = renew(app, claims, server, first.session.as_deref(), auth).await {
            backend::send(app, server, &Ctx { session, ..first }, method, body).await;
        }
    }
}
