//! The MCP gateway's filter as a native Envoy dynamic module (`libmcpgw_native.so`): the same
//! logic as the proxy-wasm build (`mcpgw_filter::stream`), loaded in Envoy's own process by
//! Envoy 1.40's `envoy.extensions.filters.http.dynamic_modules` filter.
//!
//! - [`abi`]: our own declarations of the ABI (Envoy 1.40, ABI `v0.2.0`), written from the
//!   documentation in Envoy's `abi.h`; only what the module calls is linked.
//! - [`hooks`]: the exported event hooks, each a `catch_unwind`-guarded adapter.
//! - [`envoy`]: [`mcpgw_filter::host::Host`] over the callbacks.
//! - [`plugins`]: one plugin per worker thread and configuration, as wasm has one per VM.
//! - [`shared_data`]: the process-wide store that proxy-wasm's shared data is in the wasm build.
//!
//! Build: `cargo build --profile native -p mcpgw-native` (unwinding; `make native`). Envoy
//! finds it through `ENVOY_DYNAMIC_MODULES_SEARCH_PATH` (`mcp-gateway up` sets it).

#[cfg(not(test))]
#[allow(clippy::missing_safety_doc)]
pub mod abi;
#[cfg(not(test))]
pub mod envoy;
#[cfg(not(test))]
pub mod hooks;
#[cfg(not(test))]
pub mod log;
pub mod plugins;
pub mod shared_data;

// Built with `panic = "abort"` (the release profile), `catch_unwind` could not catch anything
// and a panic would take Envoy down.
#[cfg(all(panic = "abort", not(test)))]
compile_error!("build the native module with unwinding: cargo build --profile native -p mcpgw-native");
