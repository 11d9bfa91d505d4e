//! The MCP gateway's in-proxy filter.
//!
//! The logic ([`stream`], [`plugin`]) is plain Rust behind the small [`host::Host`] trait, so
//! it runs in native unit tests and benchmarks; [`shim`] is the thin proxy-wasm layer that
//! Envoy loads (built only for wasm32-wasip1). The other host is `native/`, the same logic as
//! an Envoy dynamic module.
//!
//! What it does on the MCP endpoint, per request:
//! 1. strips the client-sent `x-mcp-*` and `x-envoy-*` headers ([`header_hygiene`]), on every
//!    path, and refuses duplicated MCP headers;
//! 2. opens the gateway session token (tampered, expired, foreign, revoked → 404; a DELETE
//!    revokes it on every worker of this Envoy, [`revocation`]);
//! 3. buffers and parses POST bodies (bounded, no trailers), answering bad input locally;
//! 4. refuses a routed request outside its virtual server or its caller's access rules
//!    (`mcpgw_common::scope`; matched rules per verified payload kept in [`claims_cache`]);
//! 5. routes prefixed calls to their backend (prefix stripped, backend session id set) and
//!    everything else to the broker (with the broker credential, derived from the session keys
//!    with the configuration: `mcpgw_common::broker_auth`; never to a backend);
//! 6. writes metadata headers and filter state that Envoy policies can trust;
//! 7. keeps backend session ids out of responses.

pub mod claims_cache;
pub mod header_hygiene;
pub mod host;
pub mod metadata;
pub mod plugin;
pub mod recording_host;
pub mod revocation;
pub mod session_cache;
pub mod sse_ids;
pub mod stats;
pub mod stream;

#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
mod shim;

#[cfg(test)]
mod stream_tests;
