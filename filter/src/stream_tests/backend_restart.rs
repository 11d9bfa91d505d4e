//! Issue 12, part 1: a backend that restarted answers 404 for the backend session in the
//! token. The filter turns that 404 into a JSON-RPC error for that one call (never a 404: the
//! client would drop its whole gateway session), marks the backend session stale for every
//! worker of this Envoy, and sends the session's later calls for that server to the broker,
//! which holds the replacement backend session.

use std::cell::RefCell;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;
use crate::recording_host::SharedData;
use crate::revocation;

fn on(shared: &Rc<RefCell<SharedData>>, mut h: RecordingHost) -> RecordingHost {
    h.shared = Rc::clone(shared);
    h
}

/// A proxy's shared data where `sessions` learnt their backend sessions (`with_learned`).
fn learned_shared(sessions: &[&str]) -> Rc<RefCell<SharedData>> {
    let shared = Rc::new(RefCell::new(SharedData::default()));
    for s in sessions {
        let _ = with_learned(on(&shared, RecordingHost::default()), s);
    }
    shared
}

/// `h` with a backend answer: `status`, JSON, and `body`.
fn answered(mut h: RecordingHost, status: &str, body: &str) -> RecordingHost {
    h.response_headers = vec![
        (":status".into(), status.into()),
        ("content-type".into(), "application/json".into()),
        ("mcp-session-id".into(), "alpha-session-1".into()),
    ];
    h.response_body = body.as_bytes().to_vec();
    h
}

const FORGOT: &str = r#"{"jsonrpc":"2.0","id":"server-error","error":{"code":-32600,"message":"Session not found"}}"#;

fn assert_restarted_error(h: &RecordingHost, id: Value) {
    let (status, _) = h.local_reply.as_ref().expect("a local reply in place of the 404");
    assert_eq!(*status, 200, "never a 404: the client would drop its gateway session");
    let v = h.reply_json().unwrap();
    assert_eq!(v["id"], id);
    assert_eq!(v["error"]["code"], mcpgw_common::jsonrpc::BACKEND_RESTARTED);
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("\"alpha\"") && m.contains("not run") && m.contains("Retry"), "{m}");
    assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("backend_restarted"));
}

#[test]
fn a_404_for_the_backend_session_becomes_an_error_for_that_call_and_later_calls_go_to_the_broker() {
    let shared = learned_shared(&[SESSION, "99ee88dd77cc66bb"]);
    let (vm1, vm2) = (plugin(), plugin());
    let t = token(None, 5_000);

    // Before the restart: straight to alpha with alpha's own session id.
    let mut h = on(&shared, answered(post(&call("alpha_echo"), &[("mcp-session-id", &t)]), "200", "{}"));
    drive(&vm1, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));

    // alpha restarted: it answers 404 for "alpha-session-1".
    let mut h = on(&shared, answered(post(&call("alpha_echo"), &[("mcp-session-id", &t)]), "404", FORGOT));
    drive(&vm1, &mut h);
    assert_restarted_error(&h, json!(1));
    assert!(h.response_body == FORGOT.as_bytes(), "the backend's body is not touched: the local reply replaces it");

    // Every worker now sends this session's alpha calls to the broker, untouched (the broker
    // routes by the exposed name and uses its replacement backend session); the facts stay.
    for vm in [&vm2, &vm1] {
        let mut h = on(&shared, post(&call("alpha_echo"), &[("mcp-session-id", &t)]));
        assert_eq!(drive(vm, &mut h), Action::Continue);
        assert!(h.local_reply.is_none());
        assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
        assert_eq!(h.header("mcp-session-id"), Some(t.as_str()), "the broker gets the gateway token");
        assert_eq!(body_json(&h)["params"]["name"], "alpha_echo");
        assert_eq!(h.header("x-mcp-servername"), Some("alpha"));
        assert_eq!(h.header("x-mcp-toolname"), Some("echo"));
        assert!(h.header("x-mcp-gateway-auth").is_some());
        assert_eq!(h.shared_reads.get(), 1, "the stale mark comes with the revocation read");
    }

    // beta (another server of the same session) is not affected.
    let mut h = on(&shared, post(&call("beta_echo"), &[("mcp-session-id", &t)]));
    drive(&vm2, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));

    // Another session's alpha calls still go straight to alpha.
    let other = token_of("99ee88dd77cc66bb");
    let mut h = on(&shared, post(&call("alpha_echo"), &[("mcp-session-id", &other)]));
    drive(&vm2, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));

    // The mark is not a revocation.
    let probe = on(&shared, RecordingHost::default());
    assert!(!revocation::is_revoked(&probe, "00aa11bb22cc33dd"));
}

#[test]
fn a_404_without_a_body_and_for_a_client_without_capabilities_is_caught_too() {
    // end_of_stream at the headers: nothing to rewrite in the body, the local reply covers it;
    // and a client that declared no capabilities (whose answers pass through unread) too.
    let p = plugin();
    let t = token_of_client(None, 5_000, false);
    let mut h = answered(post(&call("alpha_echo").replace("\"id\":1", "\"id\":\"abc\""), &[("mcp-session-id", &t)]), "404", "");
    drive(&p, &mut h);
    assert_restarted_error(&h, json!("abc"));
}

#[test]
fn other_answers_pass_and_a_404_without_a_backend_session_is_left_alone() {
    let p = plugin();
    let t = token(None, 5_000);
    for status in ["200", "202", "400", "500"] {
        let mut h = answered(post(&call("alpha_echo"), &[("mcp-session-id", &t)]), status, "{}");
        let before = h.shared.borrow().values.clone();
        drive(&p, &mut h);
        assert!(h.local_reply.is_none(), "{status}");
        assert_eq!(h.shared.borrow().values, before, "{status}: nothing written");
        assert_eq!(h.shared_reads.get(), 1, "{status}: only the request's read");
    }
    // beta joined without a session id: its 404 says nothing about a session.
    let mut h = answered(post(&call("beta_echo"), &[("mcp-session-id", &t)]), "404", "{}");
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    // Without a gateway session (2026-07-28 to a sessionless backend): nothing to mark.
    let modern = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "beta_echo")];
    let mut h = answered(post(&stateless_call("beta_echo"), &modern), "404", "{}");
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.shared_reads.get(), 0);
}

#[test]
fn an_answer_to_a_server_request_is_accepted_and_later_ones_go_to_the_broker() {
    let p = plugin();
    let t = token(None, 5_000);
    let answer = r#"{"jsonrpc":"2.0","id":"alpha:7","result":{}}"#;
    let mut h = answered(post(answer, &[("mcp-session-id", &t)]), "404", "");
    drive(&p, &mut h);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(202), "never a 404");
    let shared = Rc::clone(&h.shared);
    let mut h = on(&shared, post(answer, &[("mcp-session-id", &t)]));
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
}

#[test]
fn stale_marks_are_bounded_and_expire_with_the_token() {
    let mut h = RecordingHost::default();
    assert!(revocation::mark_stale(&mut h, "00aa11bb22cc33dd", "alpha", 2_000, 1_000));
    let marks = revocation::lookup(&h, "00aa11bb22cc33dd");
    assert!(marks.is_stale("alpha") && !marks.is_stale("beta") && !marks.revoked);
    assert!(!revocation::lookup(&h, "00aa11bb22cc33d").is_stale("alpha"), "a prefix of the id has no mark");
    // A later write to the bucket after the token expired drops the mark.
    assert!(revocation::revoke(&mut h, "00aa11bb22cc33dd", 9_000, 2_000));
    let marks = revocation::lookup(&h, "00aa11bb22cc33dd");
    assert!(marks.revoked && !marks.is_stale("alpha"));
}
