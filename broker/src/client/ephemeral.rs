//! Throwaway backend sessions, opened by the broker itself for a 2026-07-28 client in front of
//! a backend that only speaks the session protocol (and for probing one). Each is used for
//! one client request or one listen stream and then deleted, so nothing one client did is
//! seen by another.

use mcpgw_common::protocol::era::{self, meta};
use reqwest::header::HeaderValue;
use serde_json::{json, Value};

use crate::client::addressing::Addressing;
use crate::client::exchange::{self, BackendError};
use crate::client::identity;
use crate::config::Server;
use crate::state::App;

/// A throwaway backend session, and what the backend said when it was opened.
pub struct Ephemeral {
    pub addressing: Addressing,
    pub capabilities: Value,
    pub instructions: Option<String>,
}

/// `initialize` + `notifications/initialized` on behalf of `client_meta` (the 2026-07-28
/// request's `_meta`, which carries client info and capabilities; the broker's own without).
pub async fn open(app: &App, server: &Server, client_meta: Option<&Value>, authorization: Option<HeaderValue>) -> Result<Ephemeral, BackendError> {
    let caps = client_meta
        .and_then(|m| m.get(meta::CLIENT_CAPABILITIES))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let info = client_meta.and_then(|m| m.get(meta::CLIENT_INFO)).cloned().unwrap_or_else(identity::broker_client_info);
    // The newest session-protocol version the gateway speaks.
    let newest = era::negotiate(None);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": newest, "capabilities": caps, "clientInfo": info }});
    let base = Addressing { backend_session: None, protocol_version: None, authorization };
    let reply = exchange::request(app, server, &base, &init).await?;
    let result = reply.result()?.clone();
    let version = result.get("protocolVersion").and_then(Value::as_str).unwrap_or(newest).to_string();
    let addressing = Addressing { backend_session: reply.session_id.clone(), protocol_version: Some(version), authorization: base.authorization };
    exchange::notify(app, server, &addressing, &identity::initialized()).await;
    Ok(Ephemeral {
        addressing,
        capabilities: result.get("capabilities").cloned().unwrap_or_else(|| json!({})),
        instructions: result.get("instructions").and_then(Value::as_str).map(String::from),
    })
}

impl Ephemeral {
    /// Ends the session (DELETE), when the backend issued one.
    pub async fn close(self, app: &App, server: &Server) {
        if self.addressing.backend_session.is_some() {
            exchange::delete_session(app, server, &self.addressing).await;
        }
    }
}
