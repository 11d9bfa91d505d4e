//! The MCP gateway's broker: everything that needs more than one backend at a time
//! (`initialize`, aggregated lists, notification streams, DELETE, 2026-07-28 discovery and
//! subscriptions), beside the in-proxy filter that routes single-backend calls.
//! See README.md for the design.

pub mod app;
pub mod backend;
pub mod cache;
pub mod config;
pub mod era;
pub mod http;
pub mod init;
pub mod lists;
pub mod metrics;
pub mod modern;
pub mod ops;
pub mod reload;
pub mod reply;
pub mod routed;
pub mod sessions;
pub mod sse;
pub mod stream;

use std::path::PathBuf;
use std::time::Duration;

pub use app::App;

/// Loads `path`, binds the configured (or given) address and serves until `shutdown`
/// resolves. Returns the bound address through `bound` before serving.
pub async fn run(
    path: PathBuf,
    listen_override: Option<String>,
    bound: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let rt = config::load(&path, 1)?;
    let listen = listen_override.unwrap_or_else(|| rt.config.broker.listen.clone());
    let app = App::new(rt, Some(path.clone()));
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    app.set_bound(addr);
    // Small SSE writes must not wait for delayed ACKs (Nagle).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tracing::info!(%addr, config = %path.display(), "broker listening");
    if let Some(b) = bound {
        let _ = b.send(addr);
    }
    let watcher = reload::spawn(app.clone(), path, Duration::from_secs(1));
    let served = axum::serve(listener, http::router(app)).with_graceful_shutdown(shutdown).await;
    watcher.abort();
    served.map_err(|e| e.to_string())
}
