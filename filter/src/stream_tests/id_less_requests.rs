//! A message without an id is a notification, and MCP names every notification
//! `notifications/…`. A request method without an id must not travel as a notification: the
//! broker relays notifications to every backend of the session, past the routing and the facts
//! that policies rely on (found by the end-to-end security pass).

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn request_methods_without_an_id_are_refused() {
    let p = plugin();
    let t = token(None, 5_000);
    for body in [
        json!({"jsonrpc":"2.0","method":"tools/call","params":{"name":"danger"}}),
        json!({"jsonrpc":"2.0","method":"tools/call","params":{"name":"alpha_danger"}}),
        json!({"jsonrpc":"2.0","method":"prompts/get","params":{"name":"alpha_greet"}}),
        json!({"jsonrpc":"2.0","method":"resources/read","params":{"uri":"alpha+file:///etc/passwd"}}),
        json!({"jsonrpc":"2.0","method":"initialize","params":{}}),
    ] {
        let mut h = post(&body.to_string(), &[("mcp-session-id", &t)]);
        drive(&p, &mut h);
        assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400), "{body}");
        assert_eq!(h.reply_json().unwrap()["error"]["code"], -32600, "{body}");
        assert_eq!(h.route_cache_cleared, 0, "{body}: routed nowhere");
    }
    // Real notifications still go to the broker.
    let mut h = post(&json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}).to_string(), &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert_eq!(h.local_reply, None);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
}
