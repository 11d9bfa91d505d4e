//! `initialize` (session protocol): version negotiation, the merged capabilities, and the
//! gateway session token.
//!
//! It opens **no backend session** (issue 12, part 2: sessions cost what they use). The
//! answer comes from what the broker already knows about each server: the per-server probe
//! cache (`era`: capabilities and instructions, learnt by one throwaway session per server
//! and config generation, refreshed in the background; for a server with
//! `forward_authorization`, per caller credential, probed with the caller's own). Only a server not probed yet (the
//! broker just started or reloaded, or the server failed since) is probed now, once for all
//! concurrent initializes; a server whose probe fails is reported in
//! `_meta["dev.mcpgw/unavailable"]` as before. A backend session is opened on the session's
//! first use of a server (`sessions::ensure`).

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use futures::future::join_all;
use mcpgw_common::jsonrpc;
use mcpgw_common::protocol::era::negotiate;
use mcpgw_common::session::SessionClaims;
use serde_json::{json, Map, Value};

use crate::app::{now, App};
use crate::config::Runtime;
use crate::http::Posted;
use crate::{reply, sessions};

pub fn server_info() -> Value {
    json!({"name": "mcp-gateway", "title": "MCP gateway", "version": env!("CARGO_PKG_VERSION")})
}

/// Capabilities the backends together offer. The gateway can always announce list changes
/// (its own server set changes on reload), so `listChanged` is set wherever the family exists.
pub fn merge_capabilities<'a>(all: impl IntoIterator<Item = &'a Value>) -> Value {
    let mut out = Map::new();
    let mut subscribe = false;
    for caps in all {
        let Some(obj) = caps.as_object() else { continue };
        for (k, v) in obj {
            match k.as_str() {
                "tools" | "prompts" | "resources" => {
                    out.insert(k.clone(), json!({"listChanged": true}));
                    if k == "resources" && v.get("subscribe").and_then(Value::as_bool) == Some(true) {
                        subscribe = true;
                    }
                }
                "logging" | "completions" => {
                    out.insert(k.clone(), json!({}));
                }
                _ => {}
            }
        }
    }
    if subscribe {
        if let Some(r) = out.get_mut("resources").and_then(Value::as_object_mut) {
            r.insert("subscribe".into(), Value::Bool(true));
        }
    }
    Value::Object(out)
}

/// Whether an `initialize` request's client declared any capability (sampling, elicitation,
/// roots, experimental, …). One that declared none is sent no server requests, which lets the
/// filter skip reading the backends' answers (`SessionClaims::accepts_server_requests`). Any
/// key counts, known or not, so a capability added by a later protocol version keeps the
/// namespacing on.
pub fn declares_capabilities(params: &Value) -> bool {
    match params.get("capabilities") {
        Some(Value::Object(caps)) => !caps.is_empty(),
        None | Some(Value::Null) => false,
        // Not an object: not understood, so assume the worst.
        Some(_) => true,
    }
}

pub fn merge_instructions<'a>(parts: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let text: Vec<String> = parts.into_iter().map(|(server, i)| format!("[{server}] {i}")).collect();
    (!text.is_empty()).then(|| text.join("\n\n"))
}

pub async fn initialize(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>) -> Response {
    let id = posted.id();
    let params = posted.tree().get_mut("params").map(Value::take).unwrap_or_else(|| json!({}));
    let version = negotiate(params.get("protocolVersion").and_then(Value::as_str));
    let authorization = posted.authorization();
    let authorization = &authorization;
    let probes = rt.servers.iter().map(|s| async move {
        if crate::era::due(app, s, authorization.as_ref()) {
            // Stale but usable: answered from it, refreshed behind this answer (with this
            // caller's credential when the entry is that credential's own, see `era::View`).
            let (app, rt, s, auth) = (Arc::clone(app), Arc::clone(rt), Arc::clone(s), authorization.clone());
            tokio::spawn(async move { crate::era::refresh(&app, rt.generation, &s, auth).await });
        }
        crate::era::probe(app, rt.generation, s, authorization.as_ref()).await
    });
    let outcomes = join_all(probes).await;
    let mut caps = Vec::new();
    let mut instructions = Vec::new();
    let mut failed = Vec::new();
    for (s, out) in rt.servers.iter().zip(outcomes) {
        match out {
            Ok(era) => {
                caps.push(era.capabilities);
                if let Some(i) = era.instructions {
                    instructions.push((s.name.clone(), i));
                }
            }
            Err(e) => failed.push(crate::backend::unavailable_entry(&s.name, e.reason())),
        }
    }
    let t = now();
    let claims = SessionClaims {
        id: sessions::new_id(),
        issued_at: t,
        expires_at: t + rt.config.session.lifetime_secs,
        subject: sessions::subject(rt, posted.headers),
        protocol_version: version.to_string(),
        accepts_server_requests: declares_capabilities(&params),
    };
    let token = match sessions::mint(rt, &claims) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "minting a session failed");
            return reply::error(StatusCode::INTERNAL_SERVER_ERROR, id, jsonrpc::INTERNAL_ERROR, "could not create a session");
        }
    };
    app.metrics.session_minted();
    tracing::debug!(session = %claims.id, version, failed = failed.len(), "session created");
    let mut result = json!({
        "protocolVersion": version,
        "capabilities": merge_capabilities(caps.iter()),
        "serverInfo": server_info(),
    });
    if let Some(i) = merge_instructions(instructions.iter().map(|(a, b)| (a.as_str(), b.as_str()))) {
        result["instructions"] = Value::String(i);
    }
    if !failed.is_empty() {
        result["_meta"] = json!({ crate::lists::UNAVAILABLE_META: failed });
    }
    let mut resp = reply::result(id, result);
    if let Ok(v) = HeaderValue::from_str(&token) {
        resp.headers_mut().insert(mcpgw_common::headers::SESSION_ID, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_declared_client_capability_counts() {
        assert!(!declares_capabilities(&json!({"capabilities": {}})));
        assert!(!declares_capabilities(&json!({})));
        assert!(!declares_capabilities(&json!({"capabilities": null})));
        assert!(declares_capabilities(&json!({"capabilities": {"roots": {"listChanged": true}}})));
        assert!(declares_capabilities(&json!({"capabilities": {"sampling": {}}})));
        assert!(declares_capabilities(&json!({"capabilities": {"someFutureThing": {}}})));
        assert!(declares_capabilities(&json!({"capabilities": "odd"})));
    }

    #[test]
    fn capabilities_union() {
        let a = json!({"tools": {}, "logging": {}});
        let b = json!({"resources": {"subscribe": true}, "prompts": {"listChanged": false}});
        let m = merge_capabilities([&a, &b]);
        assert_eq!(m["tools"]["listChanged"], true);
        assert_eq!(m["resources"]["subscribe"], true);
        assert!(m.get("completions").is_none());
        assert!(m.get("logging").is_some());
    }
}
