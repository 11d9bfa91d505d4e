//! What the filter leaves to the broker: every message that is not a routable call (initialize,
//! notifications, answers it did not namespace, lists, GET and DELETE), and calls for a server
//! the session has not used yet (the broker opens that backend session first), untouched.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn everything_else_goes_to_the_broker() {
    let p = plugin();
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":"srv-1","result":{"action":"accept"}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
    ] {
        let mut h = post(body, &[]);
        assert_eq!(drive(&p, &mut h), Action::Continue, "{body}");
        assert_eq!(h.header(":authority"), Some("broker.mcp.internal"), "{body}");
        assert_eq!(h.body, body.as_bytes(), "broker bodies are untouched");
    }
    for method in ["GET", "DELETE"] {
        let mut h = RecordingHost::request(&[(":method", method), (":path", "/mcp")], b"");
        assert_eq!(drive(&p, &mut h), Action::Continue);
        assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    }
}

#[test]
fn servers_the_session_has_not_used_yet_are_served_by_the_broker() {
    let (p, _) = plugin_with(json!({"servers": [
        {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal"},
        {"name": "beta", "prefix": "beta_", "authority": "beta.mcp.internal"},
        {"name": "gamma", "prefix": "gamma_", "authority": "gamma.mcp.internal"}
    ]}));
    let t = token(None, 5_000); // has used alpha and beta only
    let mut h = post(&call("gamma_echo"), &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"), "the broker opens gamma's backend session");
    assert_eq!(h.header("mcp-session-id"), Some(t.as_str()));
    assert_eq!(body_json(&h)["params"]["name"], "gamma_echo", "untouched: the broker routes by the exposed name");
    // Without a session (a sessionless client) the server is reachable.
    let mut h = post(&call("gamma_echo"), &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("gamma.mcp.internal"));
}
