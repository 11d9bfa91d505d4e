//! Issue 10, item 9: a client's answer whose id looks like `"<server>:<id>"` but whose `<id>`
//! is not exactly one JSON number or string was never minted by the gateway: it must not be
//! spliced into the backend's body (where it would be invalid JSON).

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn ids_that_are_not_one_json_value_are_never_spliced() {
    let p = plugin();
    let t = token(None, 5_000);
    for id in ["alpha:01", "alpha:1.", "alpha:-.5", "alpha:1e", "alpha:+1", "alpha:0x1", "alpha:NaN", "alpha:1 2", "alpha:\"a\"x"] {
        let body = json!({"jsonrpc":"2.0","id":id,"result":{}}).to_string();
        let mut h = post(&body, &[("mcp-session-id", &t)]);
        drive(&p, &mut h);
        assert!(serde_json::from_slice::<Value>(&h.body).is_ok(), "{id}: forwarded body is not JSON: {}", String::from_utf8_lossy(&h.body));
        assert_eq!(h.body, body.as_bytes(), "{id}: not spliced");
        assert_ne!(h.header(":authority"), Some("alpha.mcp.internal"), "{id}: not sent to alpha");
        // Nor relayed by the broker to every backend: it names a request nobody made.
        assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400), "{id}");
        assert_eq!(h.reply_json().unwrap()["error"]["code"], -32600, "{id}");
    }
    // An id of another form is not ours to judge: the broker gets it.
    let mut h = post(&json!({"jsonrpc":"2.0","id":"gamma:01","result":{}}).to_string(), &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert_eq!(h.local_reply, None);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    // Real ones still go back to the server that asked, with its id.
    for (id, raw) in [("alpha:0", json!(0)), ("alpha:-1.5e3", json!(-1500.0)), ("alpha:\"q\"", json!("q"))] {
        let mut h = post(&json!({"jsonrpc":"2.0","id":id,"result":{}}).to_string(), &[("mcp-session-id", &t)]);
        drive(&p, &mut h);
        assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"), "{id}");
        assert_eq!(body_json(&h)["id"], raw, "{id}");
    }
}
