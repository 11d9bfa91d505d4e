//! Issue 10, item 1: a request whose body ends in trailers (HTTP/2, or headers straight to
//! trailers with no DATA) never ends its body, so the filter's body phase never ran and the
//! request went on undecided. While the body is awaited, trailers are refused: HTTP 400,
//! JSON-RPC -32600.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

fn assert_refused_undecided(h: &RecordingHost) {
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400));
    let r = h.reply_json().unwrap();
    assert_eq!(r["error"]["code"], -32600);
    assert!(r["error"]["message"].as_str().unwrap().contains("trailers"), "{r}");
    assert!(!h.header(":authority").is_some_and(|a| a.ends_with(".mcp.internal")), "not routed");
    assert!(!h.filter_state.contains_key("mcp_gateway.route"));
    assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("request_trailers"));
}

#[test]
fn headers_then_trailers_without_data_are_refused() {
    let p = plugin();
    let mut h = post(&call("alpha_echo"), &[]);
    let mut s = Stream::new(Rc::clone(&p));
    assert_eq!(s.on_request_headers(&mut h, false), Action::Pause);
    assert_eq!(s.on_request_trailers(&mut h), Action::Pause);
    assert_refused_undecided(&h);
}

#[test]
fn data_then_trailers_are_refused() {
    let p = plugin();
    let body = call("alpha_echo");
    // With a content-length, and chunked (none).
    for mut h in [post(&body, &[]), RecordingHost::request(&[(":method", "POST"), (":path", "/mcp")], body.as_bytes())] {
        let mut s = Stream::new(Rc::clone(&p));
        assert_eq!(s.on_request_headers(&mut h, false), Action::Pause);
        assert_eq!(s.on_request_body(&mut h, body.len(), false), Action::Pause);
        assert!(h.local_reply.is_none());
        assert_eq!(s.on_request_trailers(&mut h), Action::Pause);
        assert_refused_undecided(&h);
        // Nothing later undoes it.
        assert_eq!(s.on_request_body(&mut h, body.len(), true), Action::Continue);
        assert!(!h.header(":authority").is_some_and(|a| a.ends_with(".mcp.internal")), "not routed");
    }
}

#[test]
fn trailers_after_a_decision_change_nothing() {
    let p = plugin();
    // GET is routed at headers time.
    let mut h = RecordingHost::request(&[(":method", "GET"), (":path", "/mcp")], b"");
    let mut s = Stream::new(Rc::clone(&p));
    assert_eq!(s.on_request_headers(&mut h, false), Action::Continue);
    assert_eq!(s.on_request_trailers(&mut h), Action::Continue);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    // Not the MCP endpoint.
    let mut h = RecordingHost::request(&[(":method", "POST"), (":path", "/other")], b"x");
    let mut s = Stream::new(Rc::clone(&p));
    assert_eq!(s.on_request_headers(&mut h, false), Action::Continue);
    assert_eq!(s.on_request_trailers(&mut h), Action::Continue);
    assert!(h.local_reply.is_none());
    // Already refused: one reply only.
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", "garbage")]);
    let mut s = Stream::new(Rc::clone(&p));
    assert_eq!(s.on_request_headers(&mut h, false), Action::Pause);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404));
    assert_eq!(s.on_request_trailers(&mut h), Action::Continue);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404));
}
