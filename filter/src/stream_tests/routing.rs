//! Calls for a backend's tools, prompts and resources go straight to that backend, their
//! prefix stripped from the one field that carries it: the rest of the body stays as the
//! client wrote it, and the server with the empty prefix gets its names byte-exact.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn routes_prefixed_tool_calls_and_strips_the_prefix() {
    let p = plugin();
    let mut h = post(&call("alpha_echo"), &[]);
    assert_eq!(drive(&p, &mut h), Action::Continue);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(h.header(":path"), Some("/a/mcp"));
    let b = body_json(&h);
    assert_eq!(b["params"]["name"], "echo");
    assert_eq!(b["params"]["arguments"]["name"], "keep me", "only params.name is rewritten");
    assert_eq!(h.header("content-length"), Some(h.body.len().to_string().as_str()));
    assert_eq!(h.body.len(), call("alpha_echo").len(), "prefix replaced by JSON whitespace: same length");
    assert_eq!(h.header("x-mcp-method"), Some("tools/call"));
    assert_eq!(h.header("x-mcp-servername"), Some("alpha"));
    assert_eq!(h.header("x-mcp-toolname"), Some("echo"));
    assert_eq!(h.route_cache_cleared, 1);
    assert_eq!(h.filter_state.get("mcp_gateway.tool").map(String::as_str), Some("echo"));
    assert_eq!(h.filter_state.get("mcp_gateway.id").map(String::as_str), Some("1"));

    let mut h = post(&call("beta_echo"), &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(h.header(":path"), Some("/mcp"));
    assert_eq!(body_json(&h)["params"]["name"], "echo");
}

#[test]
fn prompts_resources_and_completions_are_routed() {
    let p = plugin();
    let mut h = post(r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"beta_greet"}}"#, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(h.header("x-mcp-promptname"), Some("greet"));
    assert_eq!(body_json(&h)["params"]["name"], "greet");

    let mut h = post(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"alpha+file:///etc/motd"}}"#, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(h.header("x-mcp-resourceuri"), Some("file:///etc/motd"));
    assert_eq!(body_json(&h)["params"]["uri"], "file:///etc/motd");

    let mut h = post(
        r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"beta+test://t/{id}"},"argument":{"name":"id","value":"1"}}}"#,
        &[],
    );
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(body_json(&h)["params"]["ref"]["uri"], "test://t/{id}");
}

#[test]
fn default_server_keeps_names_unchanged() {
    let (p, _) = plugin_with(json!({"servers": [
        {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal"},
        {"name": "plain", "prefix": "", "authority": "plain.mcp.internal"}
    ]}));
    let body = call("test_simple_text");
    let mut h = post(&body, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("plain.mcp.internal"));
    assert_eq!(h.body, body.as_bytes(), "unchanged names leave the body byte-exact");
    assert_eq!(h.header("content-length"), Some(body.len().to_string().as_str()));
}
