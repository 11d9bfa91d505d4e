//! The broker's state, the bottom layer: the shared [`App`] (the config generation in force,
//! per-server health, the open client streams), the per-server capability cache, the list
//! cache, the backend-session table, the gateway's session tokens, the metrics, and which
//! servers already answer 2026-07-28 clients with complete results, and the tool hints the
//! backends declared. It uses
//! no other layer of the broker (`tests/module_layers.rs` checks it).

pub mod app;
pub mod capability_cache;
pub mod confirmations;
pub mod expiring;
pub mod gateway_sessions;
pub mod list_cache;
pub mod metrics;
pub mod result_compliance;
pub mod tool_hints;

pub use app::App;
