//! What the official conformance suite checks of the broker, with real servers: the
//! 2026-07-28 per-request checks and HTTP statuses (`server-stateless`), `Mcp-Param-*`
//! headers relayed to a 2026-07-28 backend (`http-custom-header-server-validation`), and a
//! tool call's SSE stream resumed through the broker's GET with `Last-Event-ID`
//! (`server-sse-polling`).

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use support::backend::RmcpServer;
use support::*;

fn discover(id: u64, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "server/discover", "params": params})
}

fn meta_without(key: &str) -> Value {
    let mut m = modern_meta();
    m.as_object_mut().unwrap().remove(key);
    m
}

#[tokio::test]
async fn modern_requests_are_checked_like_the_official_sdks_do() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let url = broker.url();
    let h = modern_headers("server/discover", None);

    // params._meta must carry the protocol version and the client capabilities: 400 -32602.
    for (id, params) in [
        (101, json!({})),
        (102, json!({"_meta": meta_without("io.modelcontextprotocol/protocolVersion")})),
        (104, json!({"_meta": meta_without("io.modelcontextprotocol/clientCapabilities")})),
    ] {
        let (status, _, msg) = rpc(&url, None, &h, discover(id, params)).await;
        assert_eq!((status, msg["error"]["code"].clone(), msg["id"].clone()), (400, json!(-32602), json!(id)), "{msg}");
    }
    // clientInfo is optional.
    let (status, _, msg) = rpc(&url, None, &h, discover(105, json!({"_meta": meta_without("io.modelcontextprotocol/clientInfo")}))).await;
    assert_eq!(status, 200, "{msg}");
    let supported = msg["result"]["supportedVersions"].clone();
    assert_eq!(supported, json!(["2026-07-28"]));

    // A version the gateway does not serve, in the header and the body: 400, and the error
    // lists what discover lists and echoes what was asked.
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    let v999 = [("mcp-protocol-version", "v999.0.0"), ("mcp-method", "server/discover")];
    let (status, _, msg) = rpc(&url, None, &v999, discover(301, json!({"_meta": meta.clone()}))).await;
    assert_eq!(status, 400, "{msg}");
    assert_eq!(msg["id"], 301);
    assert_eq!(msg["error"]["data"]["supported"], supported, "{msg}");
    assert_eq!(msg["error"]["data"]["requested"], "v999.0.0", "{msg}");
    // The header and the body disagree: 400 -32020.
    let (status, _, msg) = rpc(&url, None, &h, discover(302, json!({"_meta": meta}))).await;
    assert_eq!((status, msg["error"]["code"].clone()), (400, json!(-32020)), "{msg}");

    // Methods 2026-07-28 removed, and unknown ones: 404 -32601, with the request's id. The
    // removed resource (un)subscription needs no Mcp-Name (the suite sends no uri at all).
    for method in ["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "unknown/method"] {
        for uri in [None, Some("test://static-text")].into_iter().filter(|u| u.is_none() || method.starts_with("resources/")) {
            let mut params = json!({"_meta": modern_meta()});
            if let Some(u) = uri {
                params["uri"] = json!(u);
            }
            let body = json!({"jsonrpc": "2.0", "id": 500, "method": method, "params": params});
            let (status, _, msg) = rpc(&url, None, &modern_headers(method, uri), body).await;
            assert_eq!((status, msg["error"]["code"].clone(), msg["id"].clone()), (404, json!(-32601), json!(500)), "{method} {uri:?}: {msg}");
        }
    }

    // The session protocol keeps ping, with or without a session.
    let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"});
    let (status, _, msg) = rpc(&url, None, &[("mcp-protocol-version", "2025-11-25")], ping.clone()).await;
    assert_eq!((status, msg["result"].clone()), (200, json!({})), "{msg}");
    let token = raw_initialize(&url).await;
    let (status, _, msg) = rpc(&url, Some(&token), &[("mcp-protocol-version", "2025-11-25")], ping).await;
    assert_eq!((status, msg["result"].clone()), (200, json!({})), "{msg}");
}

#[tokio::test]
async fn mcp_param_headers_reach_a_2026_07_28_backend() {
    let Some(fixture) = Fixture::start().await else { return };
    let broker = Broker::start(&[("fx", &fixture.url, "fx_", 10000)]).await;
    let url = broker.url();
    let call = |region: &str| {
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "fx_test_x_mcp_header", "arguments": {"region": region}, "_meta": modern_meta()}})
    };
    let mut h = modern_headers("tools/call", Some("fx_test_x_mcp_header"));
    // Without the header the backend itself refuses the call: it does check.
    let (status, _, msg) = rpc(&url, None, &h, call("us-east")).await;
    assert_eq!((status, msg["error"]["code"].clone()), (400, json!(-32020)), "{msg}");
    h.push(("mcp-param-region", "us-east"));
    let (status, _, msg) = rpc(&url, None, &h, call("us-east")).await;
    assert_eq!(status, 200, "{msg}");
    assert_eq!(msg["result"]["content"][0]["text"], "region=us-east", "{msg}");
}

/// Reads SSE events (id, JSON data) until `stop` says so or the stream ends (bounded: 20 s).
async fn read_events(resp: reqwest::Response, stop: impl Fn(&Value) -> bool) -> Vec<(Option<String>, Value)> {
    let mut out = Vec::new();
    let fut = async {
        let mut stream = resp.bytes_stream();
        let mut buf = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
            while let Some(end) = buf.find("\n\n") {
                let ev: String = buf.drain(..end + 2).collect();
                let id = ev.lines().find_map(|l| l.strip_prefix("id:")).map(|i| i.trim().to_string());
                let data = ev.lines().find_map(|l| l.strip_prefix("data:")).map(str::trim).unwrap_or("");
                let msg = serde_json::from_str::<Value>(data).unwrap_or(Value::Null);
                let done = stop(&msg);
                out.push((id, msg));
                if done {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(20), fut).await;
    out
}

#[tokio::test]
async fn a_tool_calls_stream_resumes_through_the_brokers_get() {
    let Some(fixture) = Fixture::start().await else { return };
    // A second backend that never saw the event id: it must not spoil the resumption.
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("fx", &fixture.url, "", 10000), ("alpha", &alpha.url, "a_", 5000)]).await;
    let url = broker.url();
    let token = raw_initialize(&url).await;
    let http = http();

    // The call's SSE answer (relayed byte for byte, as the filter does) closes before the result.
    let resp = http
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &token)
        .header("mcp-protocol-version", "2025-11-25")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "test_reconnection", "arguments": {}}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let first = read_events(resp, |_| false).await;
    assert!(first.iter().all(|(_, m)| m.get("result").is_none()), "{first:?}");
    let last_id = first.iter().rev().find_map(|(id, _)| id.clone()).expect("the backend numbers its events");

    // GET with the backend's own event id: the result arrives, on an event id the broker minted.
    let resume = |last: String| {
        http.get(&url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &token)
            .header("mcp-protocol-version", "2025-11-25")
            .header("last-event-id", last)
            .send()
    };
    let is_result = |m: &Value| m["id"] == 1 && m.get("result").is_some();
    let resp = resume(last_id.clone()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let events = read_events(resp, is_result).await;
    let (result_id, result) = events.iter().find(|(_, m)| is_result(m)).expect("the tool's result after resuming").clone();
    assert_eq!(result["result"]["content"][0]["text"], "Reconnection test completed", "{result}");
    let result_id = result_id.expect("an event id");
    assert!(result_id.starts_with("fx:"), "{result_id}");

    // Resuming from an id the broker minted goes to that backend alone, after its own id.
    let resp = resume(format!("fx:{last_id}")).await.unwrap();
    let again = read_events(resp, is_result).await;
    assert!(again.iter().any(|(_, m)| is_result(m)), "{again:?}");
}
