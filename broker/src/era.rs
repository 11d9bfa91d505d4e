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

use serde_json::{json, Value};

use crate::app::{App, Era};
use crate::backend::{self, BackendError, Ctx, MODERN_VERSION};
use crate::config::Server;

pub fn broker_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
        "io.modelcontextprotocol/clientInfo": {"name": "mcpgw-broker", "version": env!("CARGO_PKG_VERSION")},
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

/// A cached probe older than this is used once more and refreshed in the background.
pub const REFRESH_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

pub async fn probe(app: &App, generation: u64, server: &Server) -> Result<Era, BackendError> {
    probe_with(app, generation, server, None).await
}

/// [`probe`], with the client's `Authorization` for a server configured to receive it (the
/// probe is then made with the first such client's credentials; what it learns, the server's
/// capabilities, is shared by every session).
pub async fn probe_with(app: &App, generation: u64, server: &Server, auth: Option<&reqwest::header::HeaderValue>) -> Result<Era, BackendError> {
    if let Some(e) = app.era(&server.name, generation) {
        return Ok(e);
    }
    // One probe at a time per server: a burst of initializes after a start or a reload
    // waits for the first one's answer.
    let _guard = app.probing.get(server.index % app.probing.len().max(1)).map(|m| m.lock());
    let _guard = match _guard {
        Some(g) => Some(g.await),
        None => None,
    };
    if let Some(e) = app.era(&server.name, generation) {
        return Ok(e);
    }
    let era = fresh(app, server, auth.filter(|_| server.forward_authorization).cloned()).await?;
    tracing::info!(server = %server.name, modern = era.modern, "backend protocol era probed");
    app.set_era(&server.name, generation, era.clone());
    Ok(era)
}

/// Whether the cached probe of `server` is due for a refresh (older than [`REFRESH_AFTER`]);
/// the caller refreshes it with [`refresh`] in the background.
pub fn due(app: &App, server: &Server) -> bool {
    app.era_age(&server.name).is_some_and(|age| age >= REFRESH_AFTER)
}

/// Probes `server` again and replaces the cached answer (kept when the probe fails).
pub async fn refresh(app: &App, generation: u64, server: &Server) {
    app.touch_era(&server.name);
    if let Ok(era) = fresh(app, server, None).await {
        app.set_era(&server.name, generation, era);
    }
}

async fn fresh(app: &App, server: &Server, auth: Option<reqwest::header::HeaderValue>) -> Result<Era, BackendError> {
    let ctx = Ctx { session: None, protocol_version: Some(MODERN_VERSION.into()), authorization: auth.clone() };
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
        .is_some_and(|v| v.iter().filter_map(Value::as_str).any(mcpgw_common::headers::requires_standard_headers))
}

async fn legacy(app: &App, server: &Server, auth: Option<reqwest::header::HeaderValue>) -> Result<Era, BackendError> {
    let eph = backend::open_ephemeral(app, server, None, auth).await?;
    let era = Era { modern: false, capabilities: eph.capabilities.clone(), instructions: eph.instructions.clone() };
    eph.close(app, server).await;
    Ok(era)
}
