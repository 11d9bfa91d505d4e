//! The reachability probe behind `Ready` and `discoveredTools`: an MCP client's first steps
//! against the backend (initialize, notifications/initialized, tools/list, following
//! `nextCursor`), then the session is closed. This is I/O, kept out of the reconcile: its
//! result is one of the reconcile's inputs.
//!
//! The controller holds no Secret values, so the probe goes without the server's credential:
//! a backend answering 401/403 is reachable, and its tools are not counted.

use std::time::Duration;

use serde_json::{json, Value};

use crate::reconcile::Probe;

const PROTOCOL: &str = "2025-06-18";
const MAX_PAGES: usize = 20;

fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder().timeout(timeout).build().map_err(|e| e.to_string())
}

/// The JSON-RPC response with `id` in a JSON or SSE body.
fn response_for(content_type: &str, body: &str, id: i64) -> Option<Value> {
    if content_type.starts_with("text/event-stream") {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("id").and_then(Value::as_i64) == Some(id))
    } else {
        serde_json::from_str::<Value>(body).ok().filter(|v| v.get("id").and_then(Value::as_i64) == Some(id))
    }
}

struct Call {
    status: u16,
    session: Option<String>,
    response: Option<Value>,
}

async fn post(http: &reqwest::Client, url: &str, session: Option<&str>, body: Value) -> Result<Call, String> {
    let id = body.get("id").and_then(Value::as_i64);
    let mut req = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", PROTOCOL)
        .body(body.to_string());
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    let session = resp.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(String::from);
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = resp.text().await.map_err(|e| format!("{url}: {e}"))?;
    let response = id.and_then(|id| response_for(&content_type, &text, id));
    Ok(Call { status, session, response })
}

/// Probes one backend.
pub async fn probe(url: &str, timeout: Duration) -> Probe {
    match run(url, timeout).await {
        Ok(p) => p,
        Err(e) => Probe::Unreachable(e),
    }
}

async fn run(url: &str, timeout: Duration) -> Result<Probe, String> {
    let http = client(timeout)?;
    let init = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": { "name": "mcpgw-controller-probe", "version": env!("CARGO_PKG_VERSION") } } });
    let first = post(&http, url, None, init).await?;
    if matches!(first.status, 401 | 403) {
        return Ok(Probe::Answered(format!("the backend answers {} without the credential (tools not counted)", first.status)));
    }
    if first.response.as_ref().and_then(|r| r.get("result")).is_none() {
        return Err(format!("{url}: initialize answered HTTP {} without a result", first.status));
    }
    let session = first.session;
    post(&http, url, session.as_deref(), json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).await?;
    let mut tools = 0u32;
    let mut cursor: Option<String> = None;
    for page in 0..MAX_PAGES {
        let id = 2 + i64::try_from(page).unwrap_or(0);
        let params = cursor.as_ref().map_or_else(|| json!({}), |c| json!({ "cursor": c }));
        let call = post(&http, url, session.as_deref(), json!({ "jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params })).await?;
        let result = call.response.as_ref().and_then(|r| r.get("result")).ok_or_else(|| format!("{url}: tools/list answered HTTP {} without a result", call.status))?;
        let n = result.get("tools").and_then(Value::as_array).map_or(0, Vec::len);
        tools = tools.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        cursor = result.get("nextCursor").and_then(Value::as_str).filter(|c| !c.is_empty()).map(String::from);
        if cursor.is_none() {
            break;
        }
    }
    if let Some(s) = &session {
        // Best effort: a backend keeping the session until it expires is no failure of the probe.
        let _ = http.delete(url).header("mcp-session-id", s).header("mcp-protocol-version", PROTOCOL).send().await;
    }
    Ok(Probe::Tools(tools))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_response_in_either_framing() {
        let sse = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[]}}\n\n";
        assert!(response_for("text/event-stream", sse, 2).is_some());
        assert!(response_for("text/event-stream", sse, 3).is_none());
        assert!(response_for("application/json", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", 1).is_some());
    }

    #[tokio::test]
    async fn nothing_listening_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let p = probe(&format!("http://127.0.0.1:{port}/mcp"), Duration::from_secs(5)).await;
        assert!(matches!(p, Probe::Unreachable(_)), "{p:?}");
    }
}
