//! The 2026-07-28 standard headers (`Mcp-Method`, `Mcp-Name`): checked against the body,
//! decoded when `=?base64?…?=`-encoded, rewritten with the body when the call goes to a backend
//! that serves 2026-07-28, and left to the broker otherwise; the methods 2026-07-28 removed are
//! not found there. Older protocol versions do without the headers.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn standard_headers_of_2026_07_28_are_checked_and_rewritten() {
    let p = plugin();
    let v = ("mcp-protocol-version", "2026-07-28");
    // beta serves 2026-07-28 itself: routed straight to it, name rewritten in body and header.
    let ok = [v, ("mcp-method", "tools/call"), ("mcp-name", "beta_echo"), ("mcp-param-region", "eu")];
    let mut h = post(&stateless_call("beta_echo"), &ok);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(h.header("mcp-name"), Some("echo"));
    assert_eq!(h.header("mcp-param-region"), Some("eu"), "unknown Mcp-Param-* headers are forwarded");

    // alpha speaks only the session protocol: the call goes to the broker untouched, with facts.
    let ok = [v, ("mcp-method", "tools/call"), ("mcp-name", "alpha_echo")];
    let body = stateless_call("alpha_echo");
    let mut h = post(&body, &ok);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.body, body.as_bytes());
    assert_eq!(h.header("mcp-name"), Some("alpha_echo"));
    assert_eq!(h.header("x-mcp-servername"), Some("alpha"));
    assert_eq!(h.header("x-mcp-toolname"), Some("echo"));

    let encoded = [v, ("mcp-method", "tools/call"), ("mcp-name", "=?base64?YWxwaGFfZWNobw==?=")];
    let mut h = post(&stateless_call("alpha_echo"), &encoded);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none(), "{:?}", h.reply_json());

    let bad: &[&[(&str, &str)]] = &[
        &[v, ("mcp-name", "alpha_echo")],
        &[v, ("mcp-method", "tools/list"), ("mcp-name", "alpha_echo")],
        &[v, ("mcp-method", "tools/call")],
        &[v, ("mcp-method", "tools/call"), ("mcp-name", "beta_echo")],
        &[v, ("mcp-method", "tools/call"), ("mcp-name", "=?base64?!!!?=")],
    ];
    for headers in bad {
        let mut h = post(&stateless_call("alpha_echo"), headers);
        drive(&p, &mut h);
        assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400), "{headers:?}");
        assert_eq!(h.reply_json().unwrap()["error"]["code"], -32020);
    }
    // Older protocol versions do not need them.
    let mut h = post(&call("alpha_echo"), &[("mcp-protocol-version", "2025-11-25")]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
}

#[test]
fn encoded_mcp_method_goes_on_decoded() {
    let p = plugin();
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "=?base64?dG9vbHMvY2FsbA==?="), ("mcp-name", "alpha_echo")];
    let mut h = post(&stateless_call("alpha_echo"), &headers);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none(), "{:?}", h.reply_json());
    assert_eq!(h.header("mcp-method"), Some("tools/call"));
}

#[test]
fn methods_removed_in_2026_07_28_are_not_found_there() {
    let p = plugin();
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{{"uri":"alpha+file:///x",{meta}}}}}"#);
    // Answered as the broker would (one decision, `protocol::decide`): HTTP 404, -32601.
    let mut h = post(&body, &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "resources/subscribe")]);
    drive(&p, &mut h);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404));
    assert_eq!(h.reply_json().unwrap()["error"]["code"], -32601);
    // The session protocol still routes them to the backend.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"alpha+file:///x"}}"#;
    let mut h = post(body, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
}

#[test]
fn unknown_names_are_http_400_for_2026_07_28_clients() {
    let p = plugin();
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "gamma_echo")];
    let mut h = post(&call("gamma_echo"), &headers);
    drive(&p, &mut h);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400));
    assert_eq!(h.reply_json().unwrap()["error"]["code"], -32602);
}
