//! Issue 12, part 2: sessions cost what they use. `initialize` opens no backend session; the
//! broker opens one on a session's first call to a server and says so on its answer
//! (`x-mcp-backend-session`). The filter removes that header (a client never sees a backend
//! session id), keeps the id in shared data for every worker of this Envoy, and sends the
//! session's later calls for that server straight to the backend with it.

use std::cell::RefCell;

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;
use crate::recording_host::SharedData;
use crate::revocation;

/// A request on a proxy (`shared`) that learnt nothing yet about any session.
fn fresh(shared: &Rc<RefCell<SharedData>>, body: &str, headers: &[(&str, &str)]) -> RecordingHost {
    let mut h = post(body, headers);
    h.shared = Rc::clone(shared);
    h.shared_reads.set(0);
    h
}

/// The broker's answer to a call it relayed, teaching `pairs`.
fn broker_answer(mut h: RecordingHost, teaches: Option<&str>) -> RecordingHost {
    h.response_headers = vec![(":status".into(), "200".into()), ("content-type".into(), "application/json".into())];
    if let Some(v) = teaches {
        h.response_headers.push(("x-mcp-backend-session".into(), v.into()));
    }
    h.response_body = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#.to_vec();
    h
}

#[test]
fn the_first_call_goes_to_the_broker_which_teaches_the_backend_session_and_later_calls_go_straight() {
    let shared = Rc::new(RefCell::new(SharedData::default()));
    let (vm1, vm2) = (plugin(), plugin());
    let t = token(None, 5_000);

    // First call to alpha: this Envoy knows no backend session for it, so the broker serves
    // it (and opens one). The body goes untouched; no pairs to tell the broker yet.
    let mut h = broker_answer(fresh(&shared, &call("alpha_echo"), &[("mcp-session-id", &t)]), Some("alpha a-sid-9"));
    assert_eq!(drive(&vm1, &mut h), Action::Continue);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.header("mcp-session-id"), Some(t.as_str()));
    assert_eq!(h.header("x-mcp-backend-session"), None);
    assert_eq!(body_json(&h)["params"]["name"], "alpha_echo");
    // The answer's header is learnt and never reaches the client.
    assert!(h.response_headers.iter().all(|(k, _)| k != "x-mcp-backend-session"), "{:?}", h.response_headers);
    assert_eq!(revocation::lookup(&h, SESSION).learned("alpha"), Some("a-sid-9"));

    // Every worker now sends the session's alpha calls straight to alpha with that id, at
    // the cost of the one shared-data read the request makes anyway.
    for vm in [&vm2, &vm1] {
        let mut h = fresh(&shared, &call("alpha_echo"), &[("mcp-session-id", &t)]);
        h.response_headers = vec![(":status".into(), "200".into()), ("mcp-session-id".into(), "a-sid-9".into())];
        drive(vm, &mut h);
        assert!(h.local_reply.is_none());
        assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
        assert_eq!(h.header(":path"), Some("/a/mcp"));
        assert_eq!(h.header("mcp-session-id"), Some("a-sid-9"));
        assert_eq!(body_json(&h)["params"]["name"], "echo", "the prefix is stripped");
        assert!(h.response_headers.iter().all(|(k, _)| k != "mcp-session-id"), "the backend's id is hidden");
        assert_eq!(h.shared_reads.get(), 1);
    }

    // beta: not used yet, so the broker; the pairs learnt so far travel to it (a restarted
    // broker uses them for GET streams and notifications instead of opening new sessions).
    let mut h = broker_answer(fresh(&shared, &call("beta_echo"), &[("mcp-session-id", &t)]), Some("beta ~"));
    drive(&vm2, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.header("x-mcp-backend-session"), Some("alpha a-sid-9"));
    // beta issues no session ids ("~" is the empty id): later calls go straight, without one.
    let mut h = fresh(&shared, &call("beta_echo"), &[("mcp-session-id", &t)]);
    drive(&vm1, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(h.header("mcp-session-id"), None, "neither the token nor a backend id");

    // GET and lists go to the broker with both pairs.
    let mut g = RecordingHost::request(&[(":method", "GET"), (":path", "/mcp"), ("mcp-session-id", &t)], b"");
    g.shared = Rc::clone(&shared);
    drive(&vm1, &mut g);
    assert_eq!(g.header(":authority"), Some("broker.mcp.internal"));
    let pairs = mcpgw_common::backend_session::decode(g.header("x-mcp-backend-session").unwrap());
    assert_eq!(pairs, vec![("alpha".to_string(), "a-sid-9".to_string()), ("beta".to_string(), String::new())]);
}

#[test]
fn a_client_can_neither_send_nor_see_the_header_and_only_the_brokers_answer_teaches() {
    let shared = Rc::new(RefCell::new(SharedData::default()));
    let p = plugin();
    let t = token(None, 5_000);
    // A client-sent header is removed before anything is decided.
    let spoof = [("mcp-session-id", t.as_str()), ("x-mcp-backend-session", "alpha stolen")];
    let mut h = broker_answer(fresh(&shared, &call("alpha_echo"), &spoof), None);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.header("x-mcp-backend-session"), None);
    assert_eq!(revocation::lookup(&h, SESSION).learned("alpha"), None);

    // Unknown servers, over-long or undecodable ids are not learnt (and still removed).
    let long = format!("alpha {}", "x".repeat(mcpgw_common::limits::MAX_BACKEND_SESSION_ID_BYTES + 1));
    for teaches in ["nosuch a-1", long.as_str(), "alpha ~zz", "garbage"] {
        let mut h = broker_answer(fresh(&shared, &call("alpha_echo"), &[("mcp-session-id", &t)]), Some(teaches));
        drive(&p, &mut h);
        assert!(h.response_headers.iter().all(|(k, _)| k != "x-mcp-backend-session"), "{teaches}");
        let marks = revocation::lookup(&h, SESSION);
        assert_eq!((marks.learned("alpha"), marks.learned("nosuch")), (None, None), "{teaches}");
    }

    // A backend's answer teaches nothing: only answers the filter routed to the broker do.
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t)]);
    h.response_headers = vec![(":status".into(), "200".into()), ("x-mcp-backend-session".into(), "beta evil".into())];
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(revocation::lookup(&h, SESSION).learned("beta"), Some(""), "unchanged");

    // Without a session (initialize) nothing is read or learnt.
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let mut h = broker_answer(fresh(&shared, init, &[]), Some("alpha a-1"));
    drive(&p, &mut h);
    assert!(shared.borrow().values.is_empty());
}

#[test]
fn a_404_on_a_learnt_id_marks_it_stale_and_the_brokers_replacement_is_learnt_in_turn() {
    let shared = Rc::new(RefCell::new(SharedData::default()));
    let p = plugin();
    let t = token(None, 5_000);
    let mut h = broker_answer(fresh(&shared, &call("alpha_echo"), &[("mcp-session-id", &t)]), Some("alpha a-1"));
    drive(&p, &mut h);

    // alpha restarted: a 404 for a-1 becomes a retryable error, and the pair is stale.
    let mut h = fresh(&shared, &call("alpha_echo"), &[("mcp-session-id", &t)]);
    h.response_headers = vec![(":status".into(), "404".into())];
    drive(&p, &mut h);
    assert_eq!(h.header("mcp-session-id"), Some("a-1"));
    assert_eq!(h.reply_json().unwrap()["error"]["code"], mcpgw_common::jsonrpc::BACKEND_RESTARTED);
    let marks = revocation::lookup(&h, SESSION);
    assert!(marks.is_stale("alpha") && marks.learned("alpha").is_none());

    // The retry goes to the broker (without the stale pair), which teaches the replacement.
    let mut h = broker_answer(fresh(&shared, &call("alpha_echo"), &[("mcp-session-id", &t)]), Some("alpha a-2"));
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.header("x-mcp-backend-session"), None);
    let marks = revocation::lookup(&h, SESSION);
    assert!(!marks.is_stale("alpha"));
    assert_eq!(marks.learned("alpha"), Some("a-2"));
    let mut h = fresh(&shared, &call("alpha_echo"), &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert_eq!(h.header("mcp-session-id"), Some("a-2"));
    // One line for the pair, whatever happened to it.
    let (bucket, _) = crate::host::Host::shared_data(&h, &revocation::bucket_key(SESSION));
    let text = String::from_utf8(bucket.unwrap()).unwrap();
    assert_eq!(text.matches("/alpha").count(), 1, "{text}");
}

#[test]
fn a_full_bucket_gives_up_learnt_ids_before_revocations() {
    let mut h = RecordingHost::default();
    let key = revocation::bucket_key("s0");
    let same: Vec<String> = (0..1_000_000).map(|i| format!("s{i}")).filter(|id| revocation::bucket_key(id) == key).take(revocation::BUCKET_CAPACITY + 1).collect();
    assert!(revocation::revoke(&mut h, &same[0], 1_500, 1_000), "expires first");
    for id in &same[1..revocation::BUCKET_CAPACITY] {
        assert!(revocation::learn(&mut h, id, "alpha", "x", 9_000, 1_000));
    }
    assert!(revocation::revoke(&mut h, &same[revocation::BUCKET_CAPACITY], 9_000, 1_000));
    assert!(revocation::is_revoked(&h, &same[0]), "the revocation that expires soonest stays");
    assert!(revocation::lookup(&h, &same[1]).learned("alpha").is_none(), "a learnt id went instead");
}

#[test]
fn server_requests_on_a_first_call_relayed_by_the_broker_are_namespaced_too() {
    // The first call of a session to alpha goes through the broker, which relays alpha's SSE
    // answer as it is: an elicitation on it must come out as "alpha:0", as on the direct
    // path, so that the client's answer goes back to alpha (now straight, the id learnt).
    let shared = Rc::new(RefCell::new(SharedData::default()));
    let p = plugin();
    let t = token(None, 5_000);
    let mut h = fresh(&shared, &call("alpha_ask"), &[("mcp-session-id", &t)]);
    h.response_headers = vec![("content-type".into(), "text/event-stream".into()), ("x-mcp-backend-session".into(), "alpha a-7".into())];
    h.response_body = b"data: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"elicitation/create\",\"params\":{}}\n\n".to_vec();
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    let out = String::from_utf8(h.response_body.clone()).unwrap();
    assert!(out.contains(r#""id":"alpha:0""#), "{out}");
    assert!(h.response_headers.iter().all(|(k, _)| k != "x-mcp-backend-session"));

    let mut h = fresh(&shared, r#"{"jsonrpc":"2.0","id":"alpha:0","result":{"action":"accept","content":{}}}"#, &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(h.header("mcp-session-id"), Some("a-7"));
    assert_eq!(body_json(&h)["id"], 0);
}
