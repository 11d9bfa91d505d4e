//! `mcpgw-bench-backend`: the load benchmark's MCP server. Built with the official Rust SDK
//! (rmcp) so that what the proxies talk to is a real MCP server, and kept to near-zero service
//! time so that the proxies, not the backend, are what is measured.
//!
//! ```text
//! mcpgw-bench-backend --listen 127.0.0.1:18101 [--listen 127.0.0.1:18102 ...]
//!                     [--filler 19] [--stateless]
//! ```
//!
//! Every `--listen` address is one independent MCP server (own session store) on `/mcp`, all
//! served by one single-threaded tokio runtime (one process for ten backends keeps the
//! 2-core machine's scheduler out of the figures). Tools: `echo` (returns its `text` argument
//! as text content) plus `--filler` tools `filler_NN` (for `tools/list` size).
//!
//! - default: the session protocol (`initialize` issues `Mcp-Session-Id`; answers are SSE), as
//!   rmcp serves by default;
//! - `--stateless`: rmcp's stateless mode with `json_response` (no session id, plain JSON
//!   answers); 2026-07-28 requests are served statelessly in both modes.
//!
//! `GET /stats` on every server answers `{"sessions_opened": N, "sessions_live": M}`: the
//! `initialize` requests that server has answered since it started (in session mode, one per
//! backend session opened) and the sessions rmcp holds now (scalebench.py counts backend
//! sessions with it).
//!
//! `Host` validation is off: proxies forward their own authority. Binds what it is told
//! (the benchmark uses 127.0.0.1 only). Stops on SIGINT/SIGTERM.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rmcp::model::*;
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Bench {
    tools: Arc<Vec<Tool>>,
    /// `initialize` requests answered by this server (one per session in session mode).
    initialized: Arc<AtomicU64>,
}

fn tools(filler: usize) -> Vec<Tool> {
    let schema = serde_json::json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]});
    let schema = schema.as_object().cloned().unwrap_or_default();
    let mut v = vec![Tool::new("echo", "Returns its `text` argument.", schema.clone())];
    for i in 0..filler {
        v.push(Tool::new(format!("filler_{i:02}"), format!("Filler tool number {i}, for list sizes."), schema.clone()));
    }
    v
}

impl ServerHandler for Bench {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn initialize(&self, request: InitializeRequestParams, context: RequestContext<RoleServer>) -> Result<InitializeResult, ErrorData> {
        self.initialized.fetch_add(1, Ordering::Relaxed);
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_tools(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(&self, req: CallToolRequestParams, _c: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        if !self.tools.iter().any(|t| t.name == req.name) {
            return Err(ErrorData::invalid_params(format!("no tool {}", req.name), None));
        }
        let text = match req.arguments.as_ref().and_then(|a| a.get("text")) {
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

fn usage() -> ! {
    eprintln!("usage: mcpgw-bench-backend --listen HOST:PORT [--listen ...] [--filler N] [--stateless]");
    std::process::exit(2)
}

fn main() {
    let mut listen = Vec::new();
    let (mut filler, mut stateless) = (19usize, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen.push(args.next().unwrap_or_else(|| usage())),
            "--filler" => filler = args.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| usage()),
            "--stateless" => stateless = true,
            _ => usage(),
        }
    }
    if listen.is_empty() {
        usage();
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio: {e}");
            std::process::exit(1)
        }
    };
    rt.block_on(serve(listen, filler, stateless));
}

async fn serve(listen: Vec<String>, filler: usize, stateless: bool) {
    let ct = CancellationToken::new();
    let tools = Arc::new(tools(filler));
    let mut tasks = Vec::new();
    for addr in &listen {
        let config = StreamableHttpServerConfig::default()
            .disable_allowed_hosts()
            .with_legacy_session_mode(!stateless)
            .with_json_response(stateless)
            .with_sse_keep_alive(None)
            .with_cancellation_token(ct.child_token());
        // One counter per server (address), shared by its sessions.
        let h = Bench { tools: tools.clone(), initialized: Arc::new(AtomicU64::new(0)) };
        let manager = Arc::new(LocalSessionManager::default());
        let stats = {
            let (opened, manager) = (h.initialized.clone(), manager.clone());
            move || async move {
                let live = manager.sessions.read().await.len();
                format!("{{\"sessions_opened\":{},\"sessions_live\":{live}}}", opened.load(Ordering::Relaxed))
            }
        };
        let service = StreamableHttpService::new(move || Ok(h.clone()), manager, config);
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bind {addr}: {e}");
                std::process::exit(1)
            }
        };
        let router = axum::Router::new().nest_service("/mcp", service).route("/stats", axum::routing::get(stats));
        // Small SSE writes + Nagle + delayed ACK would add ~40 ms per answer.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let stop = ct.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await }).await;
        }));
    }
    eprintln!("mcpgw-bench-backend: {} server(s), {} tools each, {}", listen.len(), filler + 1, if stateless { "stateless/json" } else { "session" });
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("signal: {e}");
            std::process::exit(1)
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    ct.cancel();
    for t in tasks {
        let _ = t.await;
    }
}
