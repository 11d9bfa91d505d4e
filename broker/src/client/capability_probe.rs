//! Probing what a backend speaks and offers: once per config generation with
//! `server/discover` (2026-07-28); a backend that does not answer it with a 2026-07-28
//! version speaks only the session protocol, and its capabilities are learnt from a
//! throwaway `initialize` instead. What a probe learns is kept in the per-server capability
//! cache (`state::capability_cache`).
//!
//! A client's `initialize` opens no backend session (issue 12, part 2): it is answered from
//! what the probe learnt about each server (capabilities, instructions). One probe per server
//! and config generation, at most one at a time (concurrent callers wait for it and share its
//! answer), refreshed in the background once older than `REFRESH_AFTER`, and again on the
//! next use after the broker saw the server fail (connect error or timeout,
//! `App::record_error`). A probe that fails is not cached: the next `initialize` probes again
//! and reports the server unavailable meanwhile.

use mcpgw_common::protocol::era::{is_stateless_or_later, STATELESS_VERSION};
use reqwest::header::HeaderValue;
use serde_json::{json, Value};

use crate::client::addressing::Addressing;
use crate::client::exchange::{self, BackendError};
use crate::client::{ephemeral, identity};
use crate::config::Server;
use crate::state::capability_cache::{view, ProbedServer, REFRESH_AFTER};
use crate::state::App;

/// What `server` answers to the caller holding `auth` (its `Authorization`, sent only to a
/// server with `forward_authorization`): from the cache for this caller's view, else probed
/// now with that credential.
pub async fn probe(app: &App, generation: u64, server: &Server, auth: Option<&HeaderValue>) -> Result<ProbedServer, BackendError> {
    let view = view(server, auth);
    if let Some(p) = app.capabilities.get(&server.name, view, generation) {
        return Ok(p);
    }
    // One probe at a time per server and view: a burst of initializes after a start or a
    // reload waits for the first one's answer.
    let shard = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (server.index, view).hash(&mut h);
        (h.finish() % app.probe_locks.len().max(1) as u64) as usize
    };
    let _guard = match app.probe_locks.get(shard) {
        Some(m) => Some(m.lock().await),
        None => None,
    };
    if let Some(p) = app.capabilities.get(&server.name, view, generation) {
        return Ok(p);
    }
    let probed = fresh(app, server, auth.filter(|_| view.is_some()).cloned()).await?;
    tracing::info!(server = %server.name, stateless = probed.speaks_stateless, per_credential = view.is_some(), "backend protocol era probed");
    app.remember_probe(&server.name, view, generation, probed.clone());
    Ok(probed)
}

/// Whether the cached probe of `server` for this caller is due for a refresh (older than
/// `REFRESH_AFTER`); the caller refreshes it with [`refresh`] in the background.
pub fn due(app: &App, server: &Server, auth: Option<&HeaderValue>) -> bool {
    app.capabilities.age(&server.name, view(server, auth)).is_some_and(|age| age >= REFRESH_AFTER)
}

/// Probes `server` again, with the same credential as the entry being refreshed (the
/// caller's, who found it due), and replaces the cached answer (kept when the probe fails).
pub async fn refresh(app: &App, generation: u64, server: &Server, auth: Option<HeaderValue>) {
    let view = view(server, auth.as_ref());
    app.capabilities.touch(&server.name, view);
    if let Ok(probed) = fresh(app, server, auth.filter(|_| view.is_some())).await {
        app.remember_probe(&server.name, view, generation, probed);
    }
}

async fn fresh(app: &App, server: &Server, auth: Option<HeaderValue>) -> Result<ProbedServer, BackendError> {
    let addressing = Addressing { backend_session: None, protocol_version: Some(STATELESS_VERSION.into()), authorization: auth.clone() };
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": identity::broker_meta()}});
    let probed = match exchange::request(app, server, &addressing, &body).await {
        Ok(reply) => match reply.result() {
            Ok(r) if speaks_stateless(r) => ProbedServer {
                speaks_stateless: true,
                capabilities: r.get("capabilities").cloned().unwrap_or_else(|| json!({})),
                instructions: r.get("instructions").and_then(Value::as_str).map(String::from),
            },
            _ => session_only(app, server, auth).await?,
        },
        Err(e) if matches!(e.kind, "status" | "protocol" | "rpc") => session_only(app, server, auth).await?,
        Err(e) => return Err(e),
    };
    Ok(probed)
}

fn speaks_stateless(result: &Value) -> bool {
    result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().filter_map(Value::as_str).any(is_stateless_or_later))
}

/// A backend that speaks the session protocol only: its capabilities from a throwaway
/// session.
async fn session_only(app: &App, server: &Server, auth: Option<HeaderValue>) -> Result<ProbedServer, BackendError> {
    let throwaway = ephemeral::open(app, server, None, auth).await?;
    let probed = ProbedServer { speaks_stateless: false, capabilities: throwaway.capabilities.clone(), instructions: throwaway.instructions.clone() };
    throwaway.close(app, server).await;
    Ok(probed)
}
