//! A `sessionless` server's results reach a 2026-07-28 client complete (`resultType`, the
//! caching keys): completed on the way back until the server is seen answering complete, then
//! passed unread; session-protocol calls and other servers are never read for it.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;
use crate::host::Host;

const MODERN: [(&str, &str); 3] = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "beta_echo")];

fn answered(mut h: RecordingHost, content_type: &str, body: &str) -> RecordingHost {
    h.response_headers = vec![
        (":status".into(), "200".into()),
        ("content-type".into(), content_type.into()),
        ("content-length".into(), body.len().to_string()),
    ];
    h.response_body = body.as_bytes().to_vec();
    h
}

/// Runs the request, then the response headers and body, returning the headers' action.
fn run(p: &Rc<Plugin>, h: &mut RecordingHost) -> Action {
    let mut s = Stream::new(Rc::clone(p));
    assert_eq!(s.on_request_headers(h, false), Action::Pause);
    let len = h.body.len();
    assert_eq!(s.on_request_body(h, len, true), Action::Continue);
    assert!(h.local_reply.is_none(), "{:?}", h.reply_json());
    let headers = s.on_response_headers(h);
    let len = h.response_body.len();
    assert_eq!(s.on_response_body(h, len, true), Action::Continue);
    headers
}

const BARE: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
const COMPLETE: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"complete"}}"#;

#[test]
fn a_bare_json_result_is_completed_until_the_server_answers_complete() {
    let p = plugin();
    for _ in 0..2 {
        let mut h = answered(post(&stateless_call("beta_echo"), &MODERN), "application/json", BARE);
        assert_eq!(run(&p, &mut h), Action::Pause, "headers wait for the body");
        assert_eq!(String::from_utf8(h.response_body.clone()).unwrap(), r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"resultType":"complete"}}"#);
        assert!(h.response_header("content-length").is_none(), "the length changed");
    }
    // A complete answer goes on as it is, length and all, and teaches that beta complies.
    let mut h = answered(post(&stateless_call("beta_echo"), &MODERN), "application/json", COMPLETE);
    assert_eq!(run(&p, &mut h), Action::Pause);
    assert_eq!(h.response_body, COMPLETE.as_bytes());
    assert_eq!(h.response_header("content-length"), Some(COMPLETE.len().to_string()));
    // From then on its answers pass unread (a bare one too: it is not looked at).
    let mut h = answered(post(&stateless_call("beta_echo"), &MODERN), "application/json", BARE);
    assert_eq!(run(&p, &mut h), Action::Continue);
    assert_eq!(h.response_body, BARE.as_bytes());
}

#[test]
fn input_required_and_errors_teach_nothing() {
    let p = plugin();
    let ir = r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","inputRequests":{}}}"#;
    let err = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no"}}"#;
    for body in [ir, err] {
        let mut h = answered(post(&stateless_call("beta_echo"), &MODERN), "application/json", body);
        run(&p, &mut h);
        assert_eq!(h.response_body, body.as_bytes());
        assert_eq!(h.response_header("content-length"), Some(body.len().to_string()));
    }
    let mut h = answered(post(&stateless_call("beta_echo"), &MODERN), "application/json", BARE);
    assert_eq!(run(&p, &mut h), Action::Pause, "still checked");
}

#[test]
fn the_response_event_of_an_sse_answer_is_completed() {
    let p = plugin();
    let progress = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1}}\n\n";
    let body = format!("{progress}event: message\ndata: {BARE}\n\n");
    let mut h = answered(post(&stateless_call("beta_echo"), &MODERN), "text/event-stream", &body);
    assert_eq!(run(&p, &mut h), Action::Continue, "SSE streams on");
    let out = String::from_utf8(h.response_body.clone()).unwrap();
    assert!(out.starts_with(progress), "{out}");
    assert!(out.ends_with(",\"resultType\":\"complete\"}}\n\n"), "{out}");

    // Cut anywhere, the stream comes out the same.
    let mut s = Stream::new(Rc::clone(&p));
    let mut h = answered(post(&stateless_call("beta_echo"), &MODERN), "text/event-stream", "");
    s.on_request_headers(&mut h, false);
    let len = h.body.len();
    s.on_request_body(&mut h, len, true);
    s.on_response_headers(&mut h);
    let mut got = Vec::new();
    for (i, piece) in body.as_bytes().chunks(7).enumerate() {
        h.response_body = piece.to_vec();
        let last = (i + 1) * 7 >= body.len();
        s.on_response_body(&mut h, piece.len(), last);
        got.extend_from_slice(&h.response_body);
    }
    assert_eq!(String::from_utf8(got).unwrap(), out);
}

#[test]
fn session_protocol_calls_are_not_read() {
    let p = plugin();
    let t = token(None, 5_000);
    let mut h = answered(post(&call("beta_echo"), &[("mcp-session-id", &t)]), "application/json", BARE);
    assert_eq!(run(&p, &mut h), Action::Continue);
    assert_eq!(h.response_body, BARE.as_bytes());
}
