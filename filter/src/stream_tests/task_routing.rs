//! Issue 14, item 4: an answer that may carry a task id goes through the broker, which
//! namespaces it by server, even for a `sessionless` server; every other 2026-07-28 call to
//! that server still goes straight to it.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

const V: (&str, &str) = ("mcp-protocol-version", "2026-07-28");

fn with_capabilities(method: &str, params: serde_json::Value, capabilities: serde_json::Value) -> String {
    let mut params = params;
    params["_meta"] = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": capabilities});
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
}

#[test]
fn calls_that_may_create_a_task_and_task_methods_go_through_the_broker() {
    let p = plugin();
    // beta is `sessionless`: a client without the tasks extension is sent straight to it.
    let plain = with_capabilities("tools/call", json!({"name": "beta_echo"}), json!({}));
    let mut h = post(&plain, &[V, ("mcp-method", "tools/call"), ("mcp-name", "beta_echo")]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none(), "{:?}", h.reply_json());
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    // A client that declared the extension may be answered with a task: the broker relays it.
    let tasks = json!({"extensions": {"io.modelcontextprotocol/tasks": {}}});
    let declared = with_capabilities("tools/call", json!({"name": "beta_echo"}), tasks.clone());
    let mut h = post(&declared, &[V, ("mcp-method", "tools/call"), ("mcp-name", "beta_echo")]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.header("x-mcp-servername"), Some("beta"));
    // A task method's answer echoes the task id: the broker too, body untouched.
    let get = with_capabilities("tasks/get", json!({"taskId": "beta:t-1"}), tasks);
    let mut h = post(&get, &[V, ("mcp-method", "tasks/get"), ("mcp-name", "beta:t-1")]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none(), "{:?}", h.reply_json());
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.body, get.as_bytes());
}
