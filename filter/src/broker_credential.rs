//! The broker credential (`mcpgw_common::broker_auth`): the header that tells the broker a
//! request comes through Envoy's broker route on the filter's decision. The broker refuses
//! its MCP endpoint without it; the filter adds it to every request it routes to the broker
//! ([`crate::stream::Stream::set_broker_credential`]) and never to a backend. A client cannot
//! send it through Envoy: the name is in the `x-mcp-` family the filter strips
//! ([`crate::header_hygiene`]).
//!
//! The value is derived from the session keys the plugin configuration names (inline
//! `session.keys`, or the VM environment variable `session.keys_env`), once per
//! configuration, by the shim. Cost: one request-header write (~2.8 µs of Envoy CPU) on
//! broker-bound requests only; calls routed to a backend pay nothing.

use mcpgw_common::broker_auth;
use mcpgw_common::config::{split_keys, FilterConfig};

/// The credential for a plugin configuration, `None` when its keys cannot be read (the
/// configuration is then refused anyway, with the reason, by `Plugin::configure`).
pub fn from_plugin_config(json: &[u8]) -> Option<String> {
    let cfg: FilterConfig = serde_json::from_slice(json).ok()?;
    let from_env;
    let texts: Vec<&str> = match &cfg.session.keys_env {
        Some(var) => {
            from_env = std::env::var(var).ok()?;
            split_keys(&from_env)
        }
        None => cfg.session.keys.iter().map(String::as_str).collect(),
    };
    broker_auth::credential(&texts).ok()
}
