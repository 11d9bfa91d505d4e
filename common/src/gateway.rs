//! The gateway configuration file (YAML), its validation, the one loader the broker, the CLI
//! and gateway-facts read it with (secrets resolved once), and the derivation of the filter's
//! plugin configuration ([`crate::config::FilterConfig`] JSON) from it.
//!
//! ```yaml
//! listen: 127.0.0.1:8080          # where Envoy listens (used by the CLI)
//! mcp_path: /mcp
//! broker: { listen: 127.0.0.1:9000 }
//! servers:
//!   - name: alpha
//!     url: http://127.0.0.1:3001/mcp
//!     prefix: alpha_
//!     timeout_ms: 5000
//! session:
//!   key_env: MCPGW_SESSION_KEY     # or key_file: /etc/mcpgw/session.key
//!   lifetime_secs: 86400
//! ```
//!
//! Conventions shared with the CLI that renders Envoy's configuration: the virtual host of
//! server `<name>` answers `:authority` `<name>.mcp.internal`, the broker's answers
//! `broker.mcp.internal`, and the upstream `:path` is the path of the server's URL.
//!
//! The file's types (`gateway/file.rs`), its checks (`validate.rs`), the filter configuration
//! derived from it (`filter_config.rs`), the URL rules (`address.rs`) and the loader
//! (`load.rs`) each have their own file; this one keeps the names the filter shares.

// The file and everything that reads it are for the host-side tools (broker, CLI,
// gateway-facts): the filter only shares the names below, and its .wasm stays free of the
// parsers the file needs (cargo feature `host`).
#[cfg(feature = "host")]
mod address;
#[cfg(feature = "host")]
mod confirmation;
#[cfg(feature = "host")]
mod file;
#[cfg(feature = "host")]
mod filter_config;
#[cfg(feature = "host")]
mod load;
#[cfg(feature = "host")]
mod validate;

#[cfg(feature = "host")]
pub use address::{parse_url, HostPort, UrlParts};
#[cfg(feature = "host")]
pub use confirmation::{Confirmation, WithoutElicitation};
#[cfg(feature = "host")]
pub use file::*;
#[cfg(feature = "host")]
pub use load::{parse_yaml, CheckedConfig, ResolvedConfig, ResolvedCredential, SessionKeys};

pub const BROKER_AUTHORITY: &str = "broker.mcp.internal";
/// The filter's route decision for the broker (filter state `wasm.mcp_gateway.route`); a
/// backend's decision is its server name. `broker` is a reserved server name.
pub const BROKER_ROUTE: &str = "broker";
/// Envoy's name for the filter state key the filter writes its route decision to.
pub const ROUTE_FILTER_STATE: &str = "wasm.mcp_gateway.route";
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Five minutes of silence: tools that compute for minutes without reporting progress
/// (builds, searches, sampling loops) finish, while a hung backend still ends in an error a
/// person waits for; any response bytes or progress notification restart the bound.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 300_000;

/// The environment variable Envoy's wasm VM reads the session keys from when the gateway
/// config takes them from a file (`session.key_file`).
pub const SESSION_KEYS_ENV: &str = "MCPGW_SESSION_KEYS";

/// Envoy's virtual-host authority for server `name`.
pub fn server_authority(name: &str) -> String {
    format!("{name}.mcp.internal")
}
