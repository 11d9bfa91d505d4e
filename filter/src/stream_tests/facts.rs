//! The facts the filter publishes (`crate::metadata`): metadata headers a policy can trust
//! (only the filter sets them, only the configured ones), filter state for access logs, also on
//! a refusal, and counters.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn spoofed_metadata_headers_are_removed_everywhere() {
    let p = plugin();
    let spoof = [("x-mcp-toolname", "forged"), ("x-mcp-servername", "forged"), ("x-mcp-sessionid", "forged")];
    // On a broker-bound request the filter sets x-mcp-method only: the rest must be gone.
    let mut h = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, &spoof);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.header("x-mcp-toolname"), None);
    assert_eq!(h.header("x-mcp-servername"), None);
    assert_eq!(h.header("x-mcp-sessionid"), None);
    assert_eq!(h.header("x-mcp-method"), Some("tools/list"));
    // A non-MCP path passes untouched apart from the stripping.
    let mut h = RecordingHost::request(&[(":method", "GET"), (":path", "/healthz"), ("x-mcp-toolname", "forged")], b"");
    assert_eq!(drive(&p, &mut h), Action::Continue);
    assert_eq!(h.header("x-mcp-toolname"), None);
    assert_eq!(h.header(":path"), Some("/healthz"));
    assert_eq!(h.route_cache_cleared, 0);
}

#[test]
fn only_the_configured_metadata_headers_are_set_but_all_spoofed_ones_are_stripped() {
    let (p, _) = plugin_with(json!({"metadata_headers": ["server"]}));
    let mut h = post(&call("alpha_echo"), &[("x-mcp-toolname", "spoofed"), ("x-mcp-method", "spoofed")]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(h.header("x-mcp-servername"), Some("alpha"));
    assert_eq!(h.header("x-mcp-toolname"), None);
    assert_eq!(h.header("x-mcp-method"), None);
    assert_eq!(h.filter_state.get("mcp_gateway.tool").map(String::as_str), Some("echo"), "filter state unaffected");

    let (p, _) = plugin_with(json!({"metadata_headers": []}));
    let mut h = post(&call("alpha_echo"), &[]);
    drive(&p, &mut h);
    assert!(h.headers.iter().all(|(k, _)| !k.starts_with("x-mcp-")), "{:?}", h.headers);
}

#[test]
fn refusals_leave_their_kind_and_method_in_filter_state() {
    let p = plugin();
    let mut h = post(&call("gamma_echo"), &[]);
    drive(&p, &mut h);
    assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("unknown_name"));
    assert_eq!(h.filter_state.get("mcp_gateway.method").map(String::as_str), Some("tools/call"));
    let mut h = post("{", &[]);
    drive(&p, &mut h);
    assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("parse_error"));
}

#[test]
fn counters_count() {
    let (p, root) = plugin_with(json!({}));
    let mut h = post(&call("alpha_echo"), &[]);
    drive(&p, &mut h);
    let id = |n: &str| root.id(n).unwrap();
    assert_eq!(h.counters.get(&id("mcp_gateway.requests.tools_call")), Some(&1));
    assert_eq!(h.counters.get(&id("mcp_gateway.routed.alpha")), Some(&1));
    let mut h = post("nope", &[]);
    drive(&p, &mut h);
    assert_eq!(h.counters.get(&id("mcp_gateway.errors.parse_error")), Some(&1));
}
