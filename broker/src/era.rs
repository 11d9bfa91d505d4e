//! Which protocol era a backend speaks: probed once per config generation with
//! `server/discover` (2026-07-28); a backend that does not answer it with a modern version
//! speaks only the session protocol, and its capabilities are learnt from a throwaway
//! `initialize` instead.
//!
//! This is also the gateway's **per-server capability cache** (issue 12, part 2): a client's
//! `initialize` opens no backend session, it is answered from what the probe learnt about each
//! server (capabilities, instructions). One probe per server and config generation, at most
//! one at a time (concurrent callers wait for it and share its answer), refreshed in the
//! background once older than [`REFRESH_AFTER`], and again on the next use after the broker
//! saw the server fail (connect error or timeout, `App::record_error`). A probe that fails is
//! not cached: the next `initialize` probes again and reports the server unavailable meanwhile.
//!
//! A server with `forward_authorization` is probed with the caller's own `Authorization`, and
//! that answer is cached for that credential alone (see [`View`]): what a backend tells one
//! token holder is never shown to another.

use mcpgw_common::protocol::era::{is_stateless_or_later, meta, STATELESS_VERSION};
use reqwest::header::HeaderValue;
use serde_json::{json, Value};

use crate::app::{App, Era};
use crate::backend::{self, BackendError, Ctx};
use crate::config::Server;

pub fn broker_meta() -> Value {
    json!({
        meta::PROTOCOL_VERSION: STATELESS_VERSION,
        meta::CLIENT_INFO: {"name": "mcpgw-broker", "version": env!("CARGO_PKG_VERSION")},
        meta::CLIENT_CAPABILITIES: {},
    })
}

/// A cached probe older than this is used once more and refreshed in the background.
pub const REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

/// Whose view of a server a cached probe is: `None`, the view shared by every caller (a server
/// that is not sent the client's `Authorization`, or a caller that sent none); `Some`, the
/// SHA-256 of the `Authorization` a `forward_authorization` server was probed with. A backend
/// may answer each credential differently (capabilities, personalised `instructions`), so one
/// caller's answer is never given to another, and an entry is only ever probed (and
/// refreshed) with its own credential. A digest, not the value, so that no bearer token is
/// kept beyond the request that carried it.
pub type View = Option<[u8; 32]>;

/// The view `auth` gets of `server` (see [`View`]).
pub fn view(server: &Server, auth: Option<&HeaderValue>) -> View {
    use sha2::Digest;
    let auth = auth.filter(|_| server.forward_authorization)?;
    Some(sha2::Sha256::digest(auth.as_bytes()).into())
}

/// At most this many probe answers are kept (all servers and views together); a full cache
/// first drops the per-credential ones due for a refresh, then the oldest per-credential one. Each is the answer to one
/// request, so a dropped one costs its caller's next `initialize` one probe.
pub const MAX_CREDENTIAL_VIEWS: usize = 10_000;

/// What `server` answers to the caller holding `auth` (its `Authorization`, sent only to a
/// server with `forward_authorization`): from the cache for this caller's [`View`], else
/// probed now with that credential.
pub async fn probe(app: &App, generation: u64, server: &Server, auth: Option<&HeaderValue>) -> Result<Era, BackendError> {
    let view = view(server, auth);
    if let Some(e) = app.era(&server.name, view, generation) {
        return Ok(e);
    }
    // One probe at a time per server and view: a burst of initializes after a start or a
    // reload waits for the first one's answer.
    let shard = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (server.index, view).hash(&mut h);
        (h.finish() % app.probing.len().max(1) as u64) as usize
    };
    let _guard = match app.probing.get(shard) {
        Some(m) => Some(m.lock().await),
        None => None,
    };
    if let Some(e) = app.era(&server.name, view, generation) {
        return Ok(e);
    }
    let era = fresh(app, server, auth.filter(|_| view.is_some()).cloned()).await?;
    tracing::info!(server = %server.name, modern = era.modern, per_credential = view.is_some(), "backend protocol era probed");
    app.set_era(&server.name, view, generation, era.clone());
    Ok(era)
}

/// Whether the cached probe of `server` for this caller is due for a refresh (older than
/// [`REFRESH_AFTER`]); the caller refreshes it with [`refresh`] in the background.
pub fn due(app: &App, server: &Server, auth: Option<&HeaderValue>) -> bool {
    app.era_age(&server.name, view(server, auth)).is_some_and(|age| age >= REFRESH_AFTER)
}

/// Probes `server` again, with the same credential as the entry being refreshed (the
/// caller's, who found it due), and replaces the cached answer (kept when the probe fails).
pub async fn refresh(app: &App, generation: u64, server: &Server, auth: Option<HeaderValue>) {
    let view = view(server, auth.as_ref());
    app.touch_era(&server.name, view);
    if let Ok(era) = fresh(app, server, auth.filter(|_| view.is_some())).await {
        app.set_era(&server.name, view, generation, era);
    }
}

async fn fresh(app: &App, server: &Server, auth: Option<HeaderValue>) -> Result<Era, BackendError> {
    let ctx = Ctx { session: None, protocol_version: Some(STATELESS_VERSION.into()), authorization: auth.clone() };
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": broker_meta()}});
    let era = match backend::request(app, server, &ctx, &body).await {
        Ok(reply) => match reply.result() {
            Ok(r) if speaks_modern(r) => Era {
                modern: true,
                capabilities: r.get("capabilities").cloned().unwrap_or_else(|| json!({})),
                instructions: r.get("instructions").and_then(Value::as_str).map(String::from),
            },
            _ => legacy(app, server, auth).await?,
        },
        Err(e) if matches!(e.kind, "status" | "protocol" | "rpc") => legacy(app, server, auth).await?,
        Err(e) => return Err(e),
    };
    Ok(era)
}

fn speaks_modern(result: &Value) -> bool {
    result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().filter_map(Value::as_str).any(is_stateless_or_later))
}

async fn legacy(app: &App, server: &Server, auth: Option<HeaderValue>) -> Result<Era, BackendError> {
    let eph = backend::open_ephemeral(app, server, None, auth).await?;
    let era = Era { modern: false, capabilities: eph.capabilities.clone(), instructions: eph.instructions.clone() };
    eph.close(app, server).await;
    Ok(era)
}
