//! Input the filter can judge alone is answered by the filter, before anything is forwarded:
//! bodies that do not parse or are not one JSON-RPC request (HTTP 400), names no server owns
//! (a JSON-RPC error), and bodies beyond `max_body_bytes`, declared or grown (HTTP 413).

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn unknown_tool_is_answered_immediately() {
    let p = plugin();
    let mut h = post(&call("gamma_echo"), &[]);
    assert_eq!(drive(&p, &mut h), Action::Pause);
    let (status, _) = h.local_reply.clone().unwrap();
    assert_eq!(status, 200);
    let r = h.reply_json().unwrap();
    assert_eq!(r["error"]["code"], -32602);
    assert_eq!(r["id"], 1);
    assert!(r["error"]["message"].as_str().unwrap().contains("gamma_echo"));
    assert_eq!(h.header(":authority"), Some("gateway.example"), "nothing forwarded");
}

#[test]
fn bad_input_is_answered_locally() {
    let p = plugin();
    let cases: &[(&str, u32, i64)] = &[
        ("{not json", 400, -32700),
        (r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, 400, -32600),
        (r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, 400, -32600),
        (r#"{"jsonrpc":"2.0","id":1}"#, 400, -32600),
        (r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#, 200, -32602),
        (r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"gamma+x://y"}}"#, 200, -32002),
        (r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/nope"}}}"#, 200, -32602),
    ];
    for (body, status, code) in cases {
        let mut h = post(body, &[]);
        drive(&p, &mut h);
        let (got, _) = h.local_reply.clone().unwrap_or_else(|| panic!("{body}: forwarded"));
        assert_eq!(got, *status, "{body}");
        assert_eq!(h.reply_json().unwrap()["error"]["code"], *code, "{body}");
    }
    let mut h = post("{not json", &[]);
    drive(&p, &mut h);
    assert!(h.reply_json().unwrap()["id"].is_null());
}

#[test]
fn oversized_bodies_get_413_from_content_length_or_growth() {
    let p = plugin();
    let big = call(&format!("alpha_{}", "x".repeat(3000)));
    let mut h = post(&big, &[]);
    drive(&p, &mut h);
    assert_eq!(h.local_reply.as_ref().unwrap().0, 413);
    assert_eq!(h.reply_json().unwrap()["error"]["code"], -32010);

    // Chunked: no content-length, the body grows past the limit.
    let mut h = RecordingHost::request(&[(":method", "POST"), (":path", "/mcp")], big.as_bytes());
    let mut s = Stream::new(Rc::clone(&p));
    assert_eq!(s.on_request_headers(&mut h, false), Action::Pause);
    assert_eq!(s.on_request_body(&mut h, 1000, false), Action::Pause);
    assert!(h.local_reply.is_none());
    assert_eq!(s.on_request_body(&mut h, 3000, false), Action::Pause);
    assert_eq!(h.local_reply.as_ref().unwrap().0, 413);
}
