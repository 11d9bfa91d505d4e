//! Issue 10, item 4: a session ended by DELETE is refused at once on every path, by every
//! worker VM of the Envoy that saw the DELETE (they share Envoy's shared data).

use std::cell::RefCell;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;
use crate::recording_host::SharedData;

fn on(shared: &Rc<RefCell<SharedData>>, mut h: RecordingHost) -> RecordingHost {
    h.shared = Rc::clone(shared);
    h
}

fn delete(token: &str) -> RecordingHost {
    RecordingHost::request(&[(":method", "DELETE"), (":path", "/mcp"), ("mcp-session-id", token)], b"")
}

fn assert_session_not_found(h: &RecordingHost, what: &str) {
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404), "{what}");
    assert_eq!(h.reply_json().unwrap()["error"]["code"], -32001, "{what}");
    assert!(!h.header(":authority").is_some_and(|a| a.ends_with(".mcp.internal")), "{what}: nothing forwarded");
}

#[test]
fn a_deleted_session_is_refused_on_every_path_and_every_worker() {
    let shared = Rc::new(RefCell::new(SharedData::default()));
    let _ = with_learned(on(&shared, RecordingHost::default()), SESSION);
    let _ = with_learned(on(&shared, RecordingHost::default()), "99ee88dd77cc66bb");
    // Two worker VMs of one Envoy: two plugins (two session caches), one shared store.
    let (vm1, vm2) = (plugin(), plugin());
    let t = token(None, 5_000);
    let other = token_of("99ee88dd77cc66bb");
    for vm in [&vm1, &vm2] {
        let mut h = on(&shared, post(&call("alpha_echo"), &[("mcp-session-id", &t)]));
        drive(vm, &mut h);
        assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"), "works before the DELETE (and is cached)");
    }
    assert_eq!(vm2.sessions.len(), 1);

    let mut d = on(&shared, delete(&t));
    assert_eq!(drive(&vm1, &mut d), Action::Continue);
    assert!(d.local_reply.is_none());
    assert_eq!(d.header(":authority"), Some("broker.mcp.internal"), "the broker still ends the backend sessions");
    assert!(vm1.sessions.is_empty(), "the deleting VM forgets the token");

    // Every path, on the other worker, whose cache still held the token.
    let modern = [("mcp-session-id", t.as_str()), ("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "beta_echo")];
    let cases: Vec<(&str, RecordingHost)> = vec![
        ("routed call", post(&call("alpha_echo"), &[("mcp-session-id", &t)])),
        ("call to a backend without a session id", post(&call("beta_echo"), &[("mcp-session-id", &t)])),
        ("2026-07-28 call", post(&call("beta_echo"), &modern)),
        ("broker request", post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, &[("mcp-session-id", &t)])),
        ("answer to a server request", post(r#"{"jsonrpc":"2.0","id":"alpha:0","result":{}}"#, &[("mcp-session-id", &t)])),
        ("GET stream", RecordingHost::request(&[(":method", "GET"), (":path", "/mcp"), ("mcp-session-id", &t)], b"")),
        ("DELETE again", delete(&t)),
    ];
    for (what, h) in cases {
        for vm in [&vm2, &vm1] {
            let mut h = on(&shared, h.clone());
            drive(vm, &mut h);
            assert_session_not_found(&h, what);
            assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("session_revoked"), "{what}");
        }
    }
    assert!(vm2.sessions.is_empty(), "a VM that meets a revoked token drops it");

    // Another session is unaffected.
    let mut h = on(&shared, post(&call("alpha_echo"), &[("mcp-session-id", &other)]));
    drive(&vm2, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
}

#[test]
fn another_envoy_does_not_see_the_revocation() {
    // Documented: shared data is per Envoy process; another replica accepts the token until
    // it expires (or the broker or backend refuses it).
    let p = plugin();
    let t = token(None, 5_000);
    let mut d = delete(&t);
    drive(&p, &mut d);
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t)]); // a fresh store
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
}

#[test]
fn one_shared_read_per_session_request_and_none_without_a_session() {
    let p = plugin();
    let t = token(None, 5_000);
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert_eq!(h.shared_reads.get(), 1);
    let mut h = post(&call("alpha_echo"), &[]);
    drive(&p, &mut h);
    assert_eq!(h.shared_reads.get(), 0);
    let mut h = RecordingHost::request(&[(":method", "GET"), (":path", "/other"), ("mcp-session-id", &t)], b"");
    drive(&p, &mut h);
    assert_eq!(h.shared_reads.get(), 0, "not on other paths");
}
