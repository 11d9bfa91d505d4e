//! Issue 10, item 2: the broker answers only requests that carry the broker credential; the
//! filter adds it to everything it routes to the broker, never to a backend, and a client's
//! own copy never survives.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use mcpgw_common::broker_auth;

use super::support::*;

fn run(p: &Rc<Plugin>, h: &mut RecordingHost) {
    let mut s = Stream::new(Rc::clone(p));
    let len = h.body.len();
    if s.on_request_headers(h, len == 0) == Action::Pause && h.local_reply.is_none() {
        s.on_request_body(h, len, true);
    }
}

#[test]
fn the_credential_goes_to_the_broker_only() {
    let p = plugin();
    let credential = p.config.broker_credential.clone();
    assert_eq!(credential, broker_auth::credential(&[KEY_BASE64]).unwrap(), "derived from the configured keys");
    let t = token(None, 5_000);
    let forged = [(broker_auth::HEADER, "forged")];
    let modern = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "alpha_echo"), (broker_auth::HEADER, "forged")];
    let to_broker = vec![
        post(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#, &forged),
        post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, &forged),
        post(&stateless_call("alpha_echo"), &modern),
        RecordingHost::request(&[(":method", "GET"), (":path", "/mcp"), ("mcp-session-id", &t), (broker_auth::HEADER, "forged")], b""),
        RecordingHost::request(&[(":method", "DELETE"), (":path", "/mcp"), ("mcp-session-id", &t)], b""),
    ];
    for mut h in to_broker {
        run(&p, &mut h);
        assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
        assert_eq!(h.header(broker_auth::HEADER), Some(credential.as_str()));
        assert_eq!(h.headers.iter().filter(|(k, _)| k == broker_auth::HEADER).count(), 1);
    }
    for body in [call("alpha_echo"), call("beta_echo")] {
        let mut h = post(&body, &forged);
        run(&p, &mut h);
        assert!(h.header(":authority").unwrap().ends_with(".mcp.internal") && h.header(":authority") != Some("broker.mcp.internal"));
        assert_eq!(h.header(broker_auth::HEADER), None, "never to a backend");
    }
    // Refused and non-MCP requests: no credential, and no client copy.
    let mut h = RecordingHost::request(&[(":method", "GET"), (":path", "/other"), (broker_auth::HEADER, "forged")], b"");
    run(&p, &mut h);
    assert_eq!(h.header(broker_auth::HEADER), None);
    let mut h = post("{", &forged);
    run(&p, &mut h);
    assert_eq!(h.header(broker_auth::HEADER), None);
}
