//! The gateway session token: opened on every request (tampered, garbage, foreign, expired →
//! 404), bound to its subject when one is configured, still checked when cached, swapped for
//! the backend's own session id on the way to a backend and never shown back to the client.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn session_token_selects_the_backend_session_and_is_hidden_on_the_way_back() {
    let p = plugin();
    let t = token(None, 5_000);
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t)]);
    h.response_headers = vec![("mcp-session-id".into(), "alpha-session-1".into())];
    drive(&p, &mut h);
    assert_eq!(h.header("mcp-session-id"), Some("alpha-session-1"));
    assert_eq!(h.header("x-mcp-sessionid"), Some("00aa11bb22cc33dd"));
    assert!(h.response_headers.is_empty(), "backend session id must not reach the client");

    // Beta joined without issuing a session id: no header, and the token must not leak to it.
    let mut h = post(&call("beta_echo"), &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(h.header("mcp-session-id"), None);

    // The broker gets the token itself.
    let mut h = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, &[("mcp-session-id", &t)]);
    h.response_headers = vec![("mcp-session-id".into(), t.clone())];
    drive(&p, &mut h);
    assert_eq!(h.header("mcp-session-id"), Some(t.as_str()));
    assert_eq!(h.response_headers.len(), 1);
}

#[test]
fn bad_sessions_get_404() {
    let p = plugin();
    let good = token(None, 5_000);
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let foreign = test_fixtures::mint_under([9; 32], &test_fixtures::claims("x")).unwrap();
    for (t, why) in [(tampered.as_str(), "tampered"), ("garbage", "garbage"), (foreign.as_str(), "foreign"), (&token(None, 1_000), "expired")] {
        let mut h = post(&call("alpha_echo"), &[("mcp-session-id", t)]);
        assert_eq!(drive(&p, &mut h), Action::Pause, "{why}");
        assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404), "{why}");
        assert_eq!(h.reply_json().unwrap()["error"]["code"], -32001);
        // GET and DELETE too.
        let mut h = RecordingHost::request(&[(":method", "DELETE"), (":path", "/mcp"), ("mcp-session-id", t)], b"");
        drive(&p, &mut h);
        assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404), "{why} DELETE");
    }
}

#[test]
fn subject_bound_sessions_refuse_other_callers() {
    let (p, _) = plugin_with(json!({"session": {"keys": [KEY_BASE64], "subject_header": "x-jwt-sub"}}));
    let t = token(Some("alice"), 5_000);
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t), ("x-jwt-sub", "alice")]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    for caller in [Some("mallory"), None] {
        let mut headers = vec![("mcp-session-id", t.as_str())];
        if let Some(c) = caller {
            headers.push(("x-jwt-sub", c));
        }
        let mut h = post(&call("alpha_echo"), &headers);
        drive(&p, &mut h);
        assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404), "{caller:?}");
    }
    // Without a configured identity header a bound session cannot be checked: refused.
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t), ("x-jwt-sub", "alice")]);
    drive(&plugin(), &mut h);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404));
}

#[test]
fn cached_sessions_still_expire_and_still_check_the_subject() {
    let (p, _) = plugin_with(json!({"session": {"keys": [KEY_BASE64], "subject_header": "x-jwt-sub"}}));
    let t = token(Some("alice"), 5_000);
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t), ("x-jwt-sub", "alice")]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(p.sessions.len(), 1, "opened token is cached");
    // Same token, now another caller: refused although cached.
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t), ("x-jwt-sub", "mallory")]);
    drive(&p, &mut h);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404));
    // Same token, later than its expiry: refused although cached.
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t), ("x-jwt-sub", "alice")]);
    h.now = 5_000;
    drive(&p, &mut h);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404));
}
