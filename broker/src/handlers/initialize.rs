//! `initialize` (session protocol): version negotiation, the merged capabilities, and the
//! gateway session token.
//!
//! It opens **no backend session** (issue 12, part 2: sessions cost what they use). The
//! answer comes from what the broker already knows about each server: the per-server
//! capability cache (`state::capability_cache`: capabilities and instructions, learnt by
//! `client::capability_probe` once per server and config generation, refreshed in the
//! background; for a server with `forward_authorization`, per caller credential, probed with
//! the caller's own). Only a server not probed yet (the broker just started or reloaded, or
//! the server failed since) is probed now, once for all concurrent initializes; a server
//! whose probe fails is reported in `_meta["dev.mcpgw/unavailable"]`. A backend session is
//! opened on the session's first use of a server (`client::backend_sessions::ensure`).

use std::sync::Arc;

use mcpgw_common::jsonrpc;
use mcpgw_common::protocol::era::negotiate;
use mcpgw_common::session::SessionClaims;
use reqwest::header::HeaderValue;
use serde_json::{json, Value};

use crate::client::identity;
use crate::config::Runtime;
use crate::handlers::capabilities::offered;
use crate::handlers::unavailable::UNAVAILABLE_META;
use crate::handlers::{Posted, Reply};
use crate::state::app::now;
use crate::state::gateway_sessions::{mint, new_id, subject};
use crate::state::App;

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

/// Whether an `initialize` request's client can answer a form elicitation: it declared
/// `capabilities.elicitation` as `{}` (form mode, the 2025-06-18 shape) or with a `form` key
/// (2025-11-25 lists the modes). URL mode alone cannot ask a yes/no question.
pub fn declares_elicitation(params: &Value) -> bool {
    match params.get("capabilities").and_then(|c| c.get("elicitation")) {
        Some(Value::Object(modes)) => modes.is_empty() || modes.contains_key("form"),
        _ => false,
    }
}

pub async fn initialize(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>) -> Reply {
    let id = posted.id();
    let mut request = posted.tree();
    let params = request.get_mut("params").map(Value::take).unwrap_or_else(|| json!({}));
    let version = negotiate(params.get("protocolVersion").and_then(Value::as_str));
    let offered = offered(app, rt, posted.authorization().as_ref()).await;
    let t = now();
    let claims = SessionClaims {
        id: new_id(),
        issued_at: t,
        expires_at: t + rt.config.session.lifetime_secs,
        subject: subject(rt, posted.headers),
        protocol_version: version.to_string(),
        accepts_server_requests: declares_capabilities(&params),
        // Scoped to the virtual server it is opened on: the filter and the broker refuse it on
        // any other.
        virtual_server: posted.caller.virtual_server.and_then(|i| rt.scope.virtual_server_name(i)).map(String::from),
        elicitation: declares_elicitation(&params),
    };
    let token = match mint(rt, &claims) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "minting a session failed");
            return Reply::error(500, id, jsonrpc::INTERNAL_ERROR, "could not create a session");
        }
    };
    app.metrics.session_minted();
    tracing::debug!(session = %claims.id, version, unavailable = offered.unavailable.len(), "session created");
    let mut result = json!({
        "protocolVersion": version,
        "capabilities": offered.capabilities,
        "serverInfo": identity::gateway_info(),
    });
    if let Some(i) = offered.instructions {
        result["instructions"] = Value::String(i);
    }
    if !offered.unavailable.is_empty() {
        result["_meta"] = json!({ UNAVAILABLE_META: offered.unavailable });
    }
    let mut reply = Reply::result(id, result);
    if let Ok(v) = HeaderValue::from_str(&token) {
        reply.headers.insert(mcpgw_common::headers::SESSION_ID, v);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_declared_client_capability_counts() {
        assert!(!declares_capabilities(&json!({"capabilities": {}})));
        assert!(declares_elicitation(&json!({"capabilities": {"elicitation": {}}})));
        assert!(declares_elicitation(&json!({"capabilities": {"elicitation": {"form": {}, "url": {}}}})));
        assert!(!declares_elicitation(&json!({"capabilities": {"elicitation": {"url": {}}}})));
        assert!(!declares_elicitation(&json!({"capabilities": {"sampling": {}}})));
        assert!(!declares_capabilities(&json!({})));
        assert!(!declares_capabilities(&json!({"capabilities": null})));
        assert!(declares_capabilities(&json!({"capabilities": {"roots": {"listChanged": true}}})));
        assert!(declares_capabilities(&json!({"capabilities": {"sampling": {}}})));
        assert!(declares_capabilities(&json!({"capabilities": {"someFutureThing": {}}})));
        assert!(declares_capabilities(&json!({"capabilities": "odd"})));
    }
}
