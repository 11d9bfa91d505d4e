//! Shared fixtures for the benchmarks: a filter configuration, a session token and
//! `tools/call` bodies of a chosen size.

use std::rc::Rc;

use base64::Engine;
use mcpgw_common::session::{SessionClaims, SessionCodec, SessionKey};
use mcpgw_filter::plugin::Plugin;
use mcpgw_filter::recording_host::RecordingRoot;

pub const KEY: [u8; 32] = [42; 32];

/// A plugin with ten servers, as a mid-sized gateway has.
pub fn plugin() -> Result<Rc<Plugin>, String> {
    plugin_with(serde_json::json!({}), |_| serde_json::json!({}))
}

/// The same gateway with `extra` top-level fields and `per_server(i)` merged into each server
/// (the governance benches: rules, virtual servers, access).
pub fn plugin_with(extra: serde_json::Value, per_server: impl Fn(usize) -> serde_json::Value) -> Result<Rc<Plugin>, String> {
    let servers: Vec<serde_json::Value> = (0..10)
        .map(|i| {
            let mut s = serde_json::json!({"name": format!("srv{i}"), "prefix": format!("srv{i}_"), "authority": format!("srv{i}.mcp.internal")});
            merge(&mut s, per_server(i));
            s
        })
        .collect();
    let mut cfg = serde_json::json!({
        "broker": {"authority": "broker.mcp.internal"},
        "servers": servers,
        "session": {"keys": [base64::engine::general_purpose::STANDARD.encode(KEY)]},
        "max_body_bytes": 4 * 1024 * 1024
    });
    merge(&mut cfg, extra);
    Plugin::configure(&mut RecordingRoot::default(), cfg.to_string().as_bytes()).map(Rc::new)
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    if let (Some(into), serde_json::Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

/// A session token (whose backend sessions [`learn_all`] puts in a host's shared data).
pub fn token() -> Result<String, String> {
    let codec = SessionCodec::new(&[SessionKey::from_bytes(KEY)])?;
    let claims = SessionClaims {
        id: "0123456789abcdef".into(),
        issued_at: 0,
        expires_at: u64::MAX,
        // Unbound: the bench plugin configures no subject header, and a bound session would
        // be refused (fail closed) before the body is even read.
        subject: None,
        protocol_version: "2025-11-25".into(),
        accepts_server_requests: true,
        virtual_server: None,
        elicitation: false,
    };
    codec.mint(&claims, [7; 24])
}

/// Writes into `host`'s shared data the backend session of [`token`]'s session with every
/// server, as the filter learns them from the broker on the session's first calls: calls then
/// go straight to the backends (the hot path).
pub fn learn_all(host: &mut mcpgw_filter::recording_host::RecordingHost) {
    for i in 0..10 {
        mcpgw_filter::revocation::learn(host, "0123456789abcdef", &format!("srv{i}"), &format!("{i:08}-5f0c-4d7e-9c1a-0b6a2d9e4f11"), u64::MAX, 0);
    }
}

/// A `tools/call` body of about `size` bytes: a realistic argument object padded with text.
pub fn tools_call(size: usize) -> Vec<u8> {
    let base = serde_json::json!({
        "jsonrpc": "2.0", "id": 4711, "method": "tools/call",
        "params": {"name": "srv7_search", "arguments": {"query": "weather in Lisbon", "limit": 10, "text": ""},
                   "_meta": {"progressToken": "p-1"}}
    });
    let overhead = base.to_string().len();
    let mut v = base;
    v["params"]["arguments"]["text"] = serde_json::Value::String("lorem ipsum ".repeat(size.saturating_sub(overhead) / 12 + 1));
    // Valid JSON of about `size` bytes (rounded up to the 12-byte padding unit).
    v.to_string().into_bytes()
}
