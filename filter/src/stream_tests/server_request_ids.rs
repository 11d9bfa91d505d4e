//! Server requests (sampling, elicitation, roots) on a call's SSE stream get ids namespaced by
//! their server, so the client's answer finds its way back to that server with its own id;
//! a client that declared no capabilities gets the stream unread.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn server_requests_on_a_call_stream_are_namespaced_and_answers_go_back() {
    let p = plugin();
    let t = token(None, 5_000);
    let mut h = post(&call("alpha_ask"), &[("mcp-session-id", &t)]);
    h.response_headers = vec![("content-type".into(), "text/event-stream".into()), ("content-length".into(), "999".into())];
    h.response_body = b"data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"elicitation/create\",\"params\":{}}\n\n".to_vec();
    drive(&p, &mut h);
    let out = String::from_utf8(h.response_body.clone()).unwrap();
    assert!(out.contains(r#""id":"alpha:0""#), "{out}");
    assert!(h.response_headers.iter().all(|(k, _)| k != "content-length"));

    // The client's answer reaches alpha with alpha's own id and session.
    let mut h = post(r#"{"jsonrpc":"2.0","id":"alpha:0","result":{"action":"accept","content":{}}}"#, &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(h.header("mcp-session-id"), Some("alpha-session-1"));
    assert_eq!(body_json(&h)["id"], 0);
    assert_eq!(h.header("content-length"), Some(h.body.len().to_string().as_str()));

    // String ids come back as strings; ids that are not ours go to the broker unchanged.
    let mut h = post(r#"{"jsonrpc":"2.0","id":"beta:\"q-1\"","result":{}}"#, &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(body_json(&h)["id"], "q-1");
    let mut h = post(r#"{"jsonrpc":"2.0","id":"other:1","result":{}}"#, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
}

#[test]
fn answers_to_clients_without_capabilities_pass_through_unread() {
    let p = plugin();
    let t = token_of_client(None, 5_000, false);
    let mut h = post(&call("alpha_ask"), &[("mcp-session-id", &t)]);
    h.response_headers = vec![
        ("content-type".into(), "text/event-stream".into()),
        ("content-length".into(), "77".into()),
        ("mcp-session-id".into(), "alpha-session-1".into()),
    ];
    let sent = b"data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}\n\n".to_vec();
    h.response_body = sent.clone();
    drive(&p, &mut h);
    assert_eq!(h.response_body, sent, "not rewritten");
    assert_eq!(h.response_headers, vec![("content-type".to_string(), "text/event-stream".to_string()), ("content-length".to_string(), "77".to_string())]);
}
