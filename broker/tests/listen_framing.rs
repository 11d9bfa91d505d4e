//! `subscriptions/listen` through the broker from backends that frame their listen stream
//! differently: newline-delimited JSON under `Content-Type: application/json` (the
//! conformance suite's TypeScript SDK 1.29 backend, tests/conformance/legacy_ts/server.mjs, as
//! the suite's reference server writes it) and SSE (the same backend with `--listen-sse`, and
//! the official Python SDK's own listen stream in tests/conformance/fixture_server.py). Each
//! backend's `list_changed` must reach the client's listen stream, tagged with its
//! subscription.

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use support::*;
use tokio::process::{Child, Command};

/// tests/conformance/legacy_ts/server.mjs, on a free port; `None` (skip) without its npm
/// packages.
struct LegacyTs {
    url: String,
    _child: Child,
}

impl LegacyTs {
    async fn start(extra: &[&str]) -> Option<LegacyTs> {
        let dir = repo_root().join("tests/conformance/legacy_ts");
        if !dir.join("node_modules/@modelcontextprotocol/sdk").exists() {
            eprintln!("SKIP: {} has no node_modules (run the project's setup)", dir.display());
            return None;
        }
        let port = free_port();
        let child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .arg(port.to_string())
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let url = format!("http://127.0.0.1:{port}/mcp");
        for _ in 0..300 {
            if reqwest::get(&url).await.is_ok() {
                return Some(LegacyTs { url, _child: child });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("legacy_ts did not start");
    }
}

fn modern(method: &str, id: u64, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = modern_meta();
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The messages of the broker's SSE answer, as they come.
struct Events {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl Events {
    /// The next message within `wait`, if one came.
    async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let fut = async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let ev: String = self.buf.drain(..end + 2).collect();
                    if let Some(d) = ev.lines().find_map(|l| l.strip_prefix("data: ")) {
                        return serde_json::from_str::<Value>(d).unwrap();
                    }
                    continue;
                }
                let chunk = self.stream.next().await.expect("stream ended").unwrap();
                self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        };
        tokio::time::timeout(wait, fut).await.ok()
    }
}

/// Opens a listen stream for tools list changes through a broker in front of `backend_url`,
/// changes the backend's tool list (its `test_trigger_tool_change` tool, called through the
/// broker) until the change arrives, and checks how it arrived.
async fn list_change_reaches_the_listen_stream(backend_url: &str) {
    let broker = Broker::start(&[("conf", backend_url, "c_", 10000)]).await;
    let url = broker.url();
    let (status, _, msg) = rpc(&url, None, &modern_headers("tools/list", None), modern("tools/list", 1, json!({}))).await;
    assert_eq!(status, 200, "{msg}");

    let body = modern("subscriptions/listen", 77, json!({"notifications": {"toolsListChanged": true}}));
    let mut req = http().post(&url).header("content-type", "application/json").header("accept", "application/json, text/event-stream");
    for (k, v) in modern_headers("subscriptions/listen", None) {
        req = req.header(k, v);
    }
    let resp = req.body(body.to_string()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut events = Events { stream: Box::pin(resp.bytes_stream()), buf: String::new() };
    let ack = events.next_within(Duration::from_secs(20)).await.expect("an acknowledgement");
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged", "{ack}");

    // The broker opens the backend's listen stream after acknowledging: a change made before
    // it is open is missed, so the change is made again until one arrives (bounded).
    let name = "c_test_trigger_tool_change";
    for attempt in 0..20 {
        let call = modern("tools/call", 100 + attempt, json!({"name": name, "arguments": {}}));
        let (status, _, msg) = rpc(&url, None, &modern_headers("tools/call", Some(name)), call).await;
        assert_eq!(status, 200, "{msg}");
        assert!(msg.get("result").is_some(), "{msg}");
        if let Some(ev) = events.next_within(Duration::from_millis(1000)).await {
            assert_eq!(ev["method"], "notifications/tools/list_changed", "{ev}");
            assert_eq!(ev["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 77, "{ev}");
            return;
        }
    }
    panic!("no notifications/tools/list_changed reached the listen stream");
}

#[tokio::test]
async fn listen_stream_written_as_newline_delimited_json() {
    let Some(backend) = LegacyTs::start(&[]).await else { return };
    // The backend does write NDJSON (else this test would prove nothing new).
    let body = modern("subscriptions/listen", 1, json!({"notifications": {"toolsListChanged": true}}));
    let resp = reqwest::Client::new()
        .post(&backend.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    drop(resp);
    list_change_reaches_the_listen_stream(&backend.url).await;
}

#[tokio::test]
async fn listen_stream_written_as_sse() {
    let Some(backend) = LegacyTs::start(&["--listen-sse"]).await else { return };
    list_change_reaches_the_listen_stream(&backend.url).await;
}

#[tokio::test]
async fn listen_stream_of_the_python_sdk() {
    let Some(backend) = Fixture::start().await else { return };
    list_change_reaches_the_listen_stream(&backend.url).await;
}
