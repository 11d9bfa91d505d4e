//! What the MCP gateway's filter (in Envoy) and broker (beside it) must agree on.
//!
//! - [`protocol`]: the methods, eras, refusals and the one decision filter and broker take per message.
//! - [`message`]: the one-pass JSON-RPC/MCP envelope parser the filter runs on every request.
//! - [`jsonrpc`]: error codes and error bodies both sides answer with.
//! - [`names`]: prefix rules and the router that maps an exposed name or URI to its server.
//! - [`visibility`]: which of a server's items are exposed, under which names (per-server rules).
//! - [`scope`]: what one request may see: its virtual server and the caller's access rules.
//! - [`session`]: the gateway session token (XChaCha20-Poly1305 sealed claims).
//! - [`broker_auth`]: the credential Envoy's broker route carries, derived from the session keys.
//! - [`ids`]: how server-to-client request ids are namespaced by server.
//! - [`sse`]: the incremental, sans-IO server-sent events splitter and parser (filter and broker).
//! - [`ndjson`]: the incremental, sans-IO newline-delimited JSON line splitter (the other framing of notification streams).
//! - [`headers`]: the 2026-07-28 standard headers (`Mcp-Method`, `Mcp-Name`) and their value encoding.
//! - [`limits`]: duplicated MCP headers and the bounds on methods, names and URIs, refused alike by filter and broker.
//! - [`config`]: the filter's plugin configuration schema and its validation.
//! - [`tool_hints`]: tool annotations as policy facts (config overrides, learnt hints, defaults).
//! - [`gateway`]: the gateway's own config file (broker, CLI) and the filter config derived from it.
//! - `test_fixtures` (tests only, feature `test-fixtures`): the session key and tokens the workspace's tests share.
//!
//! This crate is on the filter's hot path, so it follows the filter's rules: no `unwrap`,
//! `expect`, `panic!` or unchecked indexing (see the workspace lints).

pub mod backend_session;
pub mod broker_auth;
pub mod config;
pub mod gateway;
pub mod headers;
pub mod ids;
pub mod jsonrpc;
pub mod limits;
pub mod message;
pub mod names;
pub mod scope;
pub mod visibility;
pub mod tool_hints;
pub mod ndjson;
pub mod protocol;
pub mod session;
pub mod sse;
#[cfg(any(test, feature = "test-fixtures"))]
pub mod test_fixtures;
