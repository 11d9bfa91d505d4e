//! Issue 10, item 7: no client-sent `x-mcp-*` (any name) or `x-envoy-*` header survives the
//! filter, on the MCP endpoint or elsewhere; the filter's own facts are set after the strip.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

const SPOOFED: [(&str, &str); 7] = [
    ("x-mcp-server", "forged"),
    ("x-mcp-foo", "forged"),
    ("x-mcp-gateway-auth", "forged"),
    ("x-mcp-toolname", "forged"),
    ("X-MCP-Servername", "forged"),
    ("x-envoy-original-path", "/looks/harmless"),
    ("x-envoy-retry-on", "5xx"),
];

fn assert_no_client_copy(h: &RecordingHost) {
    for (name, value) in &h.headers {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("x-mcp-") || lower.starts_with("x-envoy-") {
            assert_ne!(value, "forged", "{name} survived");
            assert!(!lower.starts_with("x-envoy-"), "{name} survived");
        }
    }
}

#[test]
fn the_whole_family_is_stripped_and_the_filter_sets_its_own_after() {
    let p = plugin();
    let mut h = post(&call("alpha_echo"), &SPOOFED);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_no_client_copy(&h);
    assert_eq!(h.header("x-mcp-toolname"), Some("echo"), "set by the filter after the strip");
    assert_eq!(h.header("x-mcp-servername"), Some("alpha"));
    assert_eq!(h.header("x-mcp-foo"), None);
    assert_eq!(h.header("x-envoy-original-path"), None);

    // To the broker.
    let mut h = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, &SPOOFED);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_no_client_copy(&h);
}

#[test]
fn non_mcp_paths_and_refused_requests_are_stripped_too() {
    let p = plugin();
    let mut headers = vec![(":method", "GET"), (":path", "/healthz")];
    headers.extend_from_slice(&SPOOFED);
    // Repeated: every copy goes.
    headers.push(("x-mcp-foo", "forged"));
    let mut h = RecordingHost::request(&headers, b"");
    assert_eq!(drive(&p, &mut h), Action::Continue);
    assert_no_client_copy(&h);
    assert!(h.headers.iter().all(|(k, _)| !k.to_ascii_lowercase().starts_with("x-mcp-")), "{:?}", h.headers);
    assert_eq!(h.header(":path"), Some("/healthz"));
    assert_eq!(h.route_cache_cleared, 0);

    let mut h = post("{not json", &SPOOFED);
    drive(&p, &mut h);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400));
    assert_no_client_copy(&h);
}

#[test]
fn look_alikes_are_left_alone() {
    let p = plugin();
    let keep = [("x-mcpx", "1"), ("x-envoyish", "1"), ("mcp-param-region", "eu"), ("x-request-id", "abc")];
    let mut headers = vec![(":method", "GET"), (":path", "/healthz")];
    headers.extend_from_slice(&keep);
    let mut h = RecordingHost::request(&headers, b"");
    drive(&p, &mut h);
    for (name, value) in keep {
        assert_eq!(h.header(name), Some(value), "{name}");
    }
}
