//! The bundled demo MCP servers (official Rust SDK, rmcp): every instance has the same tools
//! (`echo`, `add`, `now`), so two of them behind the gateway show prefixing at work. Each
//! answer names the server that produced it.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rmcp::model::*;
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Demo {
    name: String,
}

fn schema(v: Value) -> Arc<Map<String, Value>> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::new(
            "echo",
            "Echo the text back, with the name of the server that answered.",
            schema(json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]})),
        ),
        Tool::new(
            "add",
            "Add two numbers.",
            schema(json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]})),
        ),
        Tool::new("now", "The current time (UTC), from this server.", schema(json!({"type": "object", "properties": {}}))),
    ]
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (civil-from-days, proleptic Gregorian).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

impl ServerHandler for Demo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions(format!("demo server {}: tools echo, add, now", self.name))
    }

    async fn list_tools(&self, _r: Option<PaginatedRequestParams>, _ctx: RequestContext<RoleServer>) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(&self, req: CallToolRequestParams, _ctx: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        let args = req.arguments.unwrap_or_default();
        let text = match req.name.as_ref() {
            "echo" => {
                let t = args.get("text").and_then(Value::as_str).unwrap_or_default();
                format!("{}: {t}", self.name)
            }
            "add" => {
                let num = |k: &str| args.get(k).and_then(Value::as_f64);
                match (num("a"), num("b")) {
                    (Some(a), Some(b)) => format!("{}: {}", self.name, a + b),
                    _ => return Err(ErrorData::invalid_params("add needs numbers a and b", None)),
                }
            }
            "now" => {
                let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                format!("{}: {}", self.name, utc(secs))
            }
            other => return Err(ErrorData::invalid_params(format!("no tool {other}"), None)),
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

/// Where a demo server listens on `listener`'s address.
const PATH: &str = "/mcp";

/// The URL of a demo server bound to `addr`.
pub fn url(addr: std::net::SocketAddr) -> String {
    format!("http://{addr}{PATH}")
}

/// Serves demo server `name` on `listener` (at [`url`]) until `stop` is cancelled.
pub async fn serve(name: &str, listener: tokio::net::TcpListener, stop: CancellationToken) -> std::io::Result<()> {
    let handler = Demo { name: name.to_string() };
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = stop.child_token();
    let service = StreamableHttpService::new(move || Ok(handler.clone()), Arc::new(LocalSessionManager::default()), config);
    let router = axum::Router::new().nest_service(PATH, service);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await }).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc(1_785_000_000), "2026-07-25T17:20:00Z");
    }
}
