//! A 2026-07-28 client's call that asks for progress (`_meta.progressToken`), served through
//! a throwaway session of a backend that speaks only the session protocol (the conformance
//! suite's legacy backend on the MCP Python SDK's last 1.x release,
//! tests/conformance/legacy_py/server.py): the backend's progress reaches the client on the
//! call's SSE answer, before the response (which still gets `resultType`).

mod support;

use serde_json::{json, Value};
use support::*;
use tokio::process::Command;

#[tokio::test]
async fn progress_from_a_session_protocol_backend_reaches_a_2026_07_28_client() {
    let python = repo_root().join(".venv-mcp1/bin/python");
    if !python.exists() {
        eprintln!("SKIP: {} is missing (run the project's setup)", python.display());
        return;
    }
    let port = free_port();
    let _backend = Command::new(python)
        .arg(repo_root().join("tests/conformance/legacy_py/server.py"))
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let backend_url = format!("http://127.0.0.1:{port}/mcp");
    wait_answers(&backend_url).await;
    let broker = Broker::start(&[("legacy", &backend_url, "l_", 20000)]).await;
    let url = broker.url();
    let meta = modern_meta();
    let (status, _, msg) = rpc(&url, None, &modern_headers("tools/list", None), json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}})).await;
    assert_eq!(status, 200, "{msg}");

    let name = "l_test_tool_with_progress";
    let mut call_meta = modern_meta();
    call_meta["progressToken"] = json!("tok-1");
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": {}, "_meta": call_meta}});
    let mut req = http().post(&url).header("content-type", "application/json").header("accept", "application/json, text/event-stream");
    for (k, v) in modern_headers("tools/call", Some(name)) {
        req = req.header(k, v);
    }
    let resp = req.body(call.to_string()).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let text = resp.text().await.unwrap();
    let messages: Vec<Value> = text.lines().filter_map(|l| l.strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect();
    let (last, before) = messages.split_last().expect("messages");
    assert_eq!(last["id"], 2, "{text}");
    assert_eq!(last["result"]["resultType"], "complete", "{text}");
    assert!(!before.is_empty(), "no progress came: {text}");
    for m in before {
        assert_eq!(m["method"], "notifications/progress", "{text}");
        assert_eq!(m["params"]["progressToken"], "tok-1", "{text}");
    }

    // Without a progress token the answer stays one JSON message.
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name, "arguments": {}, "_meta": modern_meta()}});
    let (status, _, msg) = rpc(&url, None, &modern_headers("tools/call", Some(name)), call).await;
    assert_eq!(status, 200, "{msg}");
    assert_eq!(msg["result"]["resultType"], "complete", "{msg}");
}

/// Polls until the backend answers HTTP at all (bounded: 30 s).
async fn wait_answers(url: &str) {
    for _ in 0..300 {
        if reqwest::get(url).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{url} did not start");
}
