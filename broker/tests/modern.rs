//! 2026-07-28 (sessionless) clients: server/discover, lists with ttlMs/cacheScope,
//! routed calls to a backend that speaks 2026-07-28 (rmcp) and to one that only speaks the
//! session protocol (npm server-everything), subscriptions/listen, and the official Python
//! client in auto mode.

mod support;

use futures::StreamExt;
use serde_json::{json, Value};
use support::backend::RmcpServer;
use support::*;

fn modern(method: &str, id: u64, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = modern_meta();
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

#[tokio::test]
async fn modern_client_against_modern_and_session_only_backends() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let Some(everything) = Everything::start().await else { return };
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("everything", &everything.url, "ev_", 10000)]).await;
    let url = broker.url();

    let (status, sid, msg) = rpc(&url, None, &modern_headers("server/discover", None), modern("server/discover", 1, json!({}))).await;
    assert_eq!(status, 200, "{msg}");
    assert!(sid.is_none(), "2026-07-28 has no sessions");
    let r = &msg["result"];
    assert_eq!(r["supportedVersions"], json!(["2026-07-28"]));
    assert!(r["capabilities"]["tools"].is_object(), "{msg}");
    assert_eq!(r["resultType"], "complete");

    let (_, _, msg) = rpc(&url, None, &modern_headers("tools/list", None), modern("tools/list", 2, json!({}))).await;
    let r = &msg["result"];
    let names: Vec<&str> = r["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"a_echo") && names.contains(&"ev_echo"), "{names:?}");
    assert!(r["ttlMs"].is_u64(), "{r}");
    assert!(r["cacheScope"] == "private" || r["cacheScope"] == "public", "{r}");
    assert_eq!(r["resultType"], "complete");

    // Straight through to the backend that speaks 2026-07-28.
    let call = modern("tools/call", 3, json!({"name": "a_echo", "arguments": {"text": "m"}}));
    let (status, _, msg) = rpc(&url, None, &modern_headers("tools/call", Some("a_echo")), call).await;
    assert_eq!(status, 200, "{msg}");
    assert_eq!(msg["result"]["content"][0]["text"], r#"alpha:echo:{"text":"m"}"#, "{msg}");
    // Through a throwaway session to the one that does not.
    let call = modern("tools/call", 4, json!({"name": "ev_echo", "arguments": {"message": "legacy ok"}}));
    let (status, _, msg) = rpc(&url, None, &modern_headers("tools/call", Some("ev_echo")), call).await;
    assert_eq!(status, 200, "{msg}");
    assert!(msg["result"]["content"][0]["text"].as_str().unwrap().contains("legacy ok"), "{msg}");
    assert_eq!(msg["result"]["resultType"], "complete");

    // Headers that disagree with the body, and a modern initialize.
    let call = modern("tools/call", 5, json!({"name": "a_echo", "arguments": {}}));
    let (status, _, msg) = rpc(&url, None, &modern_headers("tools/call", Some("b_echo")), call).await;
    assert_eq!((status, msg["error"]["code"].clone()), (400, json!(-32020)));
    let (status, _, msg) = rpc(&url, None, &modern_headers("initialize", None), modern("initialize", 6, json!({}))).await;
    assert_eq!((status, msg["error"]["code"].clone()), (404, json!(-32601)), "{msg}");
}

struct SseReader {
    stream: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl SseReader {
    /// The next event's JSON (bounded wait: 20 s).
    async fn next(&mut self) -> Value {
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
        tokio::time::timeout(std::time::Duration::from_secs(20), fut).await.expect("no event")
    }
}

#[tokio::test]
async fn subscriptions_listen_acknowledges_then_tags_every_message() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let beta = RmcpServer::start("beta", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let body = modern("subscriptions/listen", 77, json!({"notifications": {"toolsListChanged": true}}));
    let mut req = http().post(broker.url()).header("content-type", "application/json").header("accept", "text/event-stream");
    for (k, v) in modern_headers("subscriptions/listen", None) {
        req = req.header(k, v);
    }
    let resp = req.body(body.to_string()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let mut events = SseReader { stream: Box::pin(resp.bytes_stream()), buf: String::new() };
    let ack = events.next().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(ack["params"]["notifications"]["toolsListChanged"], true);
    assert_eq!(ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 77);

    // The gateway's own change (a server added) reaches the stream, tagged.
    broker.write_config(&config_yaml(broker.port, &[("alpha", &alpha.url, "a_", 5000), ("beta", &beta.url, "b_", 5000)]));
    let ev = events.next().await;
    assert_eq!(ev["method"], "notifications/tools/list_changed", "{ev}");
    assert_eq!(ev["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 77);
}

#[tokio::test]
async fn official_python_client_speaks_2026_07_28_through_the_broker() {
    let python = repo_root().join(".venv/bin/python");
    if !python.exists() {
        eprintln!("SKIP: {} is missing (run the project's setup)", python.display());
        return;
    }
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let beta = RmcpServer::start("beta", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("beta", &beta.url, "b_", 5000)]).await;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/py_client.py");
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg(broker.url())
        .arg("b_echo")
        .arg(r#"{"text": "py"}"#)
        .env("MCPGW_BROKER_AUTH", auth())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen["version"], "2026-07-28", "{seen}");
    assert_eq!(seen["tools"], json!(["a_echo", "b_echo"]));
    assert_eq!(seen["text"], r#"beta:echo:{"text":"py"}"#);
}
