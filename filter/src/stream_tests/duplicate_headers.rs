//! Issue 10, item 6: a repeated MCP header is refused (HTTP 400, JSON-RPC -32600) before the
//! filter decides anything, so no component can read the first where another reads the last.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn repeated_mcp_headers_are_refused_before_anything_is_decided() {
    let p = plugin();
    let t = token(None, 5_000);
    let modern = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "beta_echo")];
    for (name, value, display) in [
        ("mcp-session-id", t.as_str(), "Mcp-Session-Id"),
        ("mcp-protocol-version", "2026-07-28", "MCP-Protocol-Version"),
        ("mcp-method", "tools/call", "Mcp-Method"),
        ("mcp-name", "beta_echo", "Mcp-Name"),
    ] {
        // The same value twice, and the same name in another case: both refused.
        let upper = name.to_ascii_uppercase();
        for second in [name, upper.as_str()] {
            let mut headers: Vec<(&str, &str)> = modern.iter().copied().filter(|(n, _)| *n != name).collect();
            headers.push((name, value));
            headers.push((second, value));
            let mut h = post(&stateless_call("beta_echo"), &headers);
            assert_eq!(drive(&p, &mut h), Action::Pause, "{second}");
            assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400), "{second}");
            let r = h.reply_json().unwrap();
            assert_eq!(r["error"]["code"], -32600);
            assert!(r["error"]["message"].as_str().unwrap().contains(display), "{r}");
            assert_eq!(h.header(":authority"), Some("gateway.example"), "nothing forwarded");
            assert_eq!(h.route_cache_cleared, 0);
            assert!(!h.filter_state.contains_key("mcp_gateway.route"));
            assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("duplicate_header"));
        }
    }
    // GET and DELETE carry session ids too.
    for method in ["GET", "DELETE"] {
        let mut h = RecordingHost::request(&[(":method", method), (":path", "/mcp"), ("mcp-session-id", &t), ("mcp-session-id", &t)], b"");
        drive(&p, &mut h);
        assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400), "{method}");
    }
    // Each once: served.
    let mut h = post(&stateless_call("beta_echo"), &modern);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none(), "{:?}", h.reply_json());
}
