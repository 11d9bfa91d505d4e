//! A real MCP server built with the official Rust SDK (rmcp), served over streamable HTTP on
//! 127.0.0.1, for the broker's tests. Tools answer `<server>:<tool>:<arguments>`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::*;
use rmcp::service::{Peer, RequestContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Handler {
    name: String,
    tools: Arc<Mutex<Vec<String>>>,
    list_delay: Duration,
    peers: Arc<Mutex<Vec<Peer<RoleServer>>>>,
    /// A backend that tells each token holder something of its own: its `instructions` name
    /// the `Authorization` it was sent, and it refuses `initialize`/`server/discover` without.
    personal: bool,
}

/// The `Authorization` a request carried, as the personal backend reads it.
fn authorization(ctx: &RequestContext<RoleServer>) -> Option<String> {
    let parts = ctx.extensions.get::<axum::http::request::Parts>()?;
    parts.headers.get("authorization").and_then(|v| v.to_str().ok()).map(String::from)
}

impl Handler {
    fn personal_instructions(&self, ctx: &RequestContext<RoleServer>) -> Result<Option<String>, ErrorData> {
        if !self.personal {
            return Ok(None);
        }
        match authorization(ctx) {
            Some(a) => Ok(Some(format!("test server {} for {a}", self.name))),
            None => Err(ErrorData::invalid_request("authorization required", None)),
        }
    }
}

fn tool(name: &str) -> Tool {
    let schema = serde_json::json!({"type": "object", "properties": {"text": {"type": "string"}}});
    let mut t = Tool::new(name.to_string(), format!("the {name} tool"), schema.as_object().cloned().unwrap_or_default());
    // Fields the gateway must keep intact.
    t.output_schema = Some(Arc::new(
        serde_json::json!({"type": "object", "properties": {"echoed": {"type": "string"}}}).as_object().cloned().unwrap_or_default(),
    ));
    t.annotations = Some(ToolAnnotations::new().read_only(true));
    t
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build())
            .with_instructions(format!("test server {}", self.name))
    }

    async fn initialize(&self, request: InitializeRequestParams, ctx: RequestContext<RoleServer>) -> Result<InitializeResult, ErrorData> {
        ctx.peer.set_peer_info(request.clone());
        let mut r = self.negotiate_initialize(&request)?;
        if let Some(i) = self.personal_instructions(&ctx)? {
            r.instructions = Some(i);
        }
        Ok(r)
    }

    async fn discover(&self, ctx: RequestContext<RoleServer>) -> Result<DiscoverResult, ErrorData> {
        let mut r = DiscoverResult::from_server_info(self.supported_protocol_versions().into_owned(), self.get_info());
        if let Some(i) = self.personal_instructions(&ctx)? {
            r.instructions = Some(i);
        }
        Ok(r)
    }

    async fn list_tools(&self, _r: Option<PaginatedRequestParams>, ctx: RequestContext<RoleServer>) -> Result<ListToolsResult, ErrorData> {
        self.peers.lock().unwrap().push(ctx.peer.clone());
        if !self.list_delay.is_zero() {
            tokio::time::sleep(self.list_delay).await;
        }
        let tools = self.tools.lock().unwrap().iter().map(|n| tool(n)).collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(&self, req: CallToolRequestParams, ctx: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        // A session that called a tool is told about list changes too (a gateway session's
        // list may come from the broker's cache, through another backend session).
        self.peers.lock().unwrap().push(ctx.peer.clone());
        if !self.tools.lock().unwrap().iter().any(|t| *t == req.name) {
            return Err(ErrorData::invalid_params(format!("no tool {}", req.name), None));
        }
        let args = serde_json::Value::Object(req.arguments.unwrap_or_default());
        let text = format!("{}:{}:{}", self.name, req.name, args);
        let mut result = CallToolResult::success(vec![ContentBlock::text(text.clone())]);
        // The tools declare an outputSchema, so they return structured content too.
        result.structured_content = Some(serde_json::json!({"echoed": text}));
        Ok(result.into())
    }
}

/// A running test server; stops when dropped.
pub struct RmcpServer {
    pub url: String,
    tools: Arc<Mutex<Vec<String>>>,
    peers: Arc<Mutex<Vec<Peer<RoleServer>>>>,
    ct: CancellationToken,
}

impl RmcpServer {
    pub async fn start(name: &str, tools: &[&str]) -> RmcpServer {
        Self::start_with_delay(name, tools, Duration::ZERO).await
    }

    /// `list_delay`: how long `tools/list` takes (a slow backend).
    pub async fn start_with_delay(name: &str, tools: &[&str], list_delay: Duration) -> RmcpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(name, tools, list_delay, listener, false)
    }

    /// A backend whose `instructions` name the caller's `Authorization` (and that refuses
    /// `initialize` and `server/discover` without one).
    pub async fn start_personal(name: &str, tools: &[&str]) -> RmcpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(name, tools, Duration::ZERO, listener, true)
    }

    /// A server on `url`'s port: a backend restarted where the last one was (fresh memory, so
    /// every session it had is forgotten). Binding is retried while the old one lets go.
    pub async fn start_at(name: &str, tools: &[&str], url: &str) -> RmcpServer {
        let addr = url.trim_start_matches("http://").trim_end_matches("/mcp").to_string();
        for _ in 0..100 {
            if let Ok(listener) = tokio::net::TcpListener::bind(&addr).await {
                return Self::serve(name, tools, Duration::ZERO, listener, false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{addr} never became free");
    }

    fn serve(name: &str, tools: &[&str], list_delay: Duration, listener: tokio::net::TcpListener, personal: bool) -> RmcpServer {
        let ct = CancellationToken::new();
        let handler = Handler {
            name: name.to_string(),
            tools: Arc::new(Mutex::new(tools.iter().map(|s| s.to_string()).collect())),
            list_delay,
            peers: Arc::new(Mutex::new(Vec::new())),
            personal,
        };
        let (tools, peers) = (handler.tools.clone(), handler.peers.clone());
        let mut config = StreamableHttpServerConfig::default();
        config.cancellation_token = ct.child_token();
        let service = StreamableHttpService::new(move || Ok(handler.clone()), Arc::new(LocalSessionManager::default()), config);
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let router = axum::Router::new().nest_service("/mcp", service);
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let stop = ct.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await }).await;
        });
        RmcpServer { url, tools, peers, ct }
    }

    /// Adds a tool and sends `notifications/tools/list_changed` to every session that listed or called.
    pub async fn add_tool_and_notify(&self, name: &str) {
        self.tools.lock().unwrap().push(name.to_string());
        let peers: Vec<_> = self.peers.lock().unwrap().clone();
        for p in peers {
            let _ = p.notify_tool_list_changed().await;
        }
    }
}

impl Drop for RmcpServer {
    fn drop(&mut self) {
        self.ct.cancel();
    }
}
