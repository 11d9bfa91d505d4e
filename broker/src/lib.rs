//! The MCP gateway's broker: everything that needs more than one backend at a time
//! (`initialize`, aggregated lists, notification streams, DELETE, 2026-07-28 discovery and
//! subscriptions), beside the in-proxy filter that routes single-backend calls.
//! See README.md for the design.
//!
//! In layers, each using only those below it: the HTTP surface ([`http`]: routes,
//! admission, POST parsed and decided by `mcpgw_common::protocol::decide`, the ops
//! endpoints, responses) → the [`handlers`] → the one outbound MCP [`client`] → the
//! [`state`] (with [`config`]); [`sse`] is the wire format of event streams.

// The layers, top to bottom: each uses only those below it (`tests/module_layers.rs`).
// The HTTP surface (and the config file watcher, the broker's other input).
pub mod http;
pub mod reload;
// What the broker does with each admitted message.
pub mod handlers;
// The one outbound MCP client.
pub mod client;
// The state: the shared `App`, caches, tables, metrics, and the config generation.
pub mod config;
pub mod state;
// The SSE wire format (backend streams are read with it, client streams written).
pub mod sse;

pub use state::App;

use std::path::PathBuf;
use std::time::Duration;

use mcpgw_common::gateway::ResolvedConfig;

/// How a broker is started, besides its configuration.
#[derive(Default)]
pub struct Start {
    /// The file the configuration was read from, watched for changes (`None`: never reloaded).
    pub config_path: Option<PathBuf>,
    /// Binds here instead of `broker.listen`.
    pub listen: Option<String>,
    /// Told the bound address before serving.
    pub bound: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
    /// Told of each configuration the reloader installs (`mcp-gateway up` follows it).
    pub reloads: Option<reload::Reloads>,
}

/// Serves `first` (read by the caller with the common loader) as generation 1: binds the
/// configured (or given) address and serves until `shutdown` resolves.
pub async fn run(
    first: ResolvedConfig,
    start: Start,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let rt = config::Runtime::new(&first, 1)?;
    let listen = start.listen.unwrap_or_else(|| rt.config.broker.listen.clone());
    let app = App::new(rt, start.config_path.clone());
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    app.set_bound(addr);
    // Small SSE writes must not wait for delayed ACKs (Nagle).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let shown = start.config_path.as_ref().map_or_else(|| "(in memory, not reloaded)".to_string(), |p| p.display().to_string());
    tracing::info!(%addr, config = %shown, "broker listening");
    if let Some(b) = start.bound {
        let _ = b.send(addr);
    }
    // Whoever listens for reloads learns that the broker stopped when the sender goes: it lives
    // in the reloader, or here when there is no file to watch.
    let (watcher, _reloads) = match start.config_path {
        Some(path) => (Some(reload::spawn(app.clone(), path, Duration::from_secs(1), start.reloads)), None),
        None => (None, start.reloads),
    };
    let served = axum::serve(listener, http::router(app)).with_graceful_shutdown(shutdown).await;
    if let Some(w) = watcher {
        w.abort();
    }
    served.map_err(|e| e.to_string())
}
