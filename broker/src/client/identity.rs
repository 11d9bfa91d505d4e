//! Who the gateway is on the wire: the `serverInfo` it answers clients with (also its
//! `clientInfo` on a backend session it opens for a client), the broker's own client identity
//! and `_meta` envelope when it asks a backend for itself, and the messages it makes.

use mcpgw_common::protocol::era::{meta, STATELESS_VERSION};
use serde_json::{json, Value};

/// The gateway's `serverInfo`.
pub fn gateway_info() -> Value {
    json!({"name": "mcp-gateway", "title": "MCP gateway", "version": env!("CARGO_PKG_VERSION")})
}

/// The broker's `clientInfo` when it asks a backend on its own behalf (probes, throwaway
/// sessions without a client's `_meta`).
pub fn broker_client_info() -> Value {
    json!({"name": "mcpgw-broker", "version": env!("CARGO_PKG_VERSION")})
}

/// The 2026-07-28 `_meta` envelope of a request the broker makes on its own behalf.
pub fn broker_meta() -> Value {
    json!({
        meta::PROTOCOL_VERSION: STATELESS_VERSION,
        meta::CLIENT_INFO: broker_client_info(),
        meta::CLIENT_CAPABILITIES: {},
    })
}

/// `notifications/initialized`, which ends the opening of every backend session.
pub fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

/// A gateway-made `notifications/message` at level `warning`.
pub fn warning(text: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "warning", "logger": "mcp-gateway", "data": text}})
}
