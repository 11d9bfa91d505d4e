//! Which protocol era a backend speaks: probed once per config generation with
//! `server/discover` (2026-07-28); a backend that does not answer it with a modern version
//! speaks only the session protocol, and its capabilities are learnt from a throwaway
//! `initialize` instead.

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

pub async fn probe(app: &App, generation: u64, server: &Server) -> Result<Era, BackendError> {
    if let Some(e) = app.era(&server.name, generation) {
        return Ok(e);
    }
    let ctx = Ctx { session: None, protocol_version: Some(MODERN_VERSION.into()), authorization: None };
    let body = json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": broker_meta()}});
    let era = match backend::request(app, server, &ctx, &body).await {
        Ok(reply) => match reply.result() {
            Ok(r) if speaks_modern(r) => Era {
                modern: true,
                capabilities: r.get("capabilities").cloned().unwrap_or_else(|| json!({})),
                instructions: r.get("instructions").and_then(Value::as_str).map(String::from),
            },
            _ => legacy(app, server).await?,
        },
        Err(e) if matches!(e.kind, "status" | "protocol" | "rpc") => legacy(app, server).await?,
        Err(e) => return Err(e),
    };
    tracing::info!(server = %server.name, modern = era.modern, "backend protocol era probed");
    app.set_era(&server.name, generation, era.clone());
    Ok(era)
}

fn speaks_modern(result: &Value) -> bool {
    result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().filter_map(Value::as_str).any(mcpgw_common::headers::requires_standard_headers))
}

async fn legacy(app: &App, server: &Server) -> Result<Era, BackendError> {
    let eph = backend::open_ephemeral(app, server, None, None).await?;
    let era = Era { modern: false, capabilities: eph.capabilities.clone(), instructions: eph.instructions.clone() };
    eph.close(app, server).await;
    Ok(era)
}
