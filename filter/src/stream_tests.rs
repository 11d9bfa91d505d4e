//! Native tests of the filter's decisions, through the same entry points Envoy calls.

use std::rc::Rc;

use mcpgw_common::session::{SessionClaims, SessionCodec, SessionKey};
use serde_json::{json, Value};

use crate::plugin::Plugin;
use crate::recording_host::{drive, RecordingHost, RecordingRoot};
use crate::stream::{Action, Stream};

// The same tests run natively and, compiled to wasm, under wasm-bindgen-test.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

const KEY: [u8; 32] = [7; 32];

fn config(extra: Value) -> Value {
    let mut base = json!({
        "broker": {"authority": "broker.mcp.internal"},
        "servers": [
            {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal", "path": "/a/mcp"},
            {"name": "beta", "prefix": "beta_", "authority": "beta.mcp.internal", "sessionless": true}
        ],
        "session": {"keys": [base64_key(&KEY)]},
        "max_body_bytes": 2048
    });
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

fn base64_key(k: &[u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(k)
}

fn plugin_with(extra: Value) -> (Rc<Plugin>, RecordingRoot) {
    let mut root = RecordingRoot::default();
    let p = Plugin::configure(&mut root, config(extra).to_string().as_bytes()).expect("config");
    (Rc::new(p), root)
}

fn plugin() -> Rc<Plugin> {
    plugin_with(json!({})).0
}

fn post(body: &str, extra_headers: &[(&str, &str)]) -> RecordingHost {
    let len = body.len().to_string();
    let mut headers = vec![
        (":method", "POST"),
        (":path", "/mcp"),
        (":authority", "gateway.example"),
        ("content-type", "application/json"),
        ("content-length", len.as_str()),
    ];
    headers.extend_from_slice(extra_headers);
    with_learned(RecordingHost::request(&headers, body.as_bytes()), SESSION)
}

/// The id of `token()`'s session.
const SESSION: &str = "00aa11bb22cc33dd";

/// `h` on a proxy whose shared data holds the backend sessions the broker opened for
/// `session` on its first calls (alpha issued "alpha-session-1", beta issues none), as the
/// filter learnt them from the broker's answers. Reads made here are not counted.
fn with_learned(mut h: RecordingHost, session: &str) -> RecordingHost {
    crate::revocation::learn(&mut h, session, "alpha", "alpha-session-1", 5_000, 0);
    crate::revocation::learn(&mut h, session, "beta", "", 5_000, 0);
    h.shared_reads.set(0);
    h
}

fn call(name: &str) -> String {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":{"name":"keep me","x":[1,2,3]}}}).to_string()
}

/// A 2026-07-28 `tools/call`: its `_meta` carries the protocol version and capabilities.
fn stateless_call(name: &str) -> String {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":{"x":1},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})
    .to_string()
}

fn token(subject: Option<&str>, expires_at: u64) -> String {
    token_of_client(subject, expires_at, true)
}

/// A token whose client did (`true`) or did not declare capabilities at initialize.
fn token_of_client(subject: Option<&str>, expires_at: u64, accepts_server_requests: bool) -> String {
    let codec = SessionCodec::new(&[SessionKey::from_bytes(KEY)]).unwrap();
    codec
        .mint(
            &SessionClaims {
                id: "00aa11bb22cc33dd".into(),
                issued_at: 10,
                expires_at,
                subject: subject.map(str::to_string),
                protocol_version: "2025-11-25".into(),
                accepts_server_requests,
            },
            [3; 24],
        )
        .unwrap()
}

fn body_json(h: &RecordingHost) -> Value {
    serde_json::from_slice(&h.body).unwrap()
}

#[test]
fn routes_prefixed_tool_calls_and_strips_the_prefix() {
    let p = plugin();
    let mut h = post(&call("alpha_echo"), &[]);
    assert_eq!(drive(&p, &mut h), Action::Continue);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(h.header(":path"), Some("/a/mcp"));
    let b = body_json(&h);
    assert_eq!(b["params"]["name"], "echo");
    assert_eq!(b["params"]["arguments"]["name"], "keep me", "only params.name is rewritten");
    assert_eq!(h.header("content-length"), Some(h.body.len().to_string().as_str()));
    assert_eq!(h.body.len(), call("alpha_echo").len(), "prefix replaced by JSON whitespace: same length");
    assert_eq!(h.header("x-mcp-method"), Some("tools/call"));
    assert_eq!(h.header("x-mcp-servername"), Some("alpha"));
    assert_eq!(h.header("x-mcp-toolname"), Some("echo"));
    assert_eq!(h.route_cache_cleared, 1);
    assert_eq!(h.filter_state.get("mcp_gateway.tool").map(String::as_str), Some("echo"));
    assert_eq!(h.filter_state.get("mcp_gateway.id").map(String::as_str), Some("1"));

    let mut h = post(&call("beta_echo"), &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(h.header(":path"), Some("/mcp"));
    assert_eq!(body_json(&h)["params"]["name"], "echo");
}

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

#[test]
fn spoofed_metadata_headers_are_removed_everywhere() {
    let p = plugin();
    let spoof = [("x-mcp-toolname", "forged"), ("x-mcp-servername", "forged"), ("x-mcp-sessionid", "forged")];
    // On a broker-bound request the filter sets x-mcp-method only: the rest must be gone.
    let mut h = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, &spoof);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.header("x-mcp-toolname"), None);
    assert_eq!(h.header("x-mcp-servername"), None);
    assert_eq!(h.header("x-mcp-sessionid"), None);
    assert_eq!(h.header("x-mcp-method"), Some("tools/list"));
    // A non-MCP path passes untouched apart from the stripping.
    let mut h = RecordingHost::request(&[(":method", "GET"), (":path", "/healthz"), ("x-mcp-toolname", "forged")], b"");
    assert_eq!(drive(&p, &mut h), Action::Continue);
    assert_eq!(h.header("x-mcp-toolname"), None);
    assert_eq!(h.header(":path"), Some("/healthz"));
    assert_eq!(h.route_cache_cleared, 0);
}

#[test]
fn everything_else_goes_to_the_broker() {
    let p = plugin();
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":"srv-1","result":{"action":"accept"}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
    ] {
        let mut h = post(body, &[]);
        assert_eq!(drive(&p, &mut h), Action::Continue, "{body}");
        assert_eq!(h.header(":authority"), Some("broker.mcp.internal"), "{body}");
        assert_eq!(h.body, body.as_bytes(), "broker bodies are untouched");
    }
    for method in ["GET", "DELETE"] {
        let mut h = RecordingHost::request(&[(":method", method), (":path", "/mcp")], b"");
        assert_eq!(drive(&p, &mut h), Action::Continue);
        assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    }
}

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
    let foreign = SessionCodec::new(&[SessionKey::from_bytes([9; 32])])
        .unwrap()
        .mint(&SessionClaims { id: "x".into(), issued_at: 0, expires_at: 5_000, subject: None, protocol_version: "v".into(), accepts_server_requests: false }, [1; 24])
        .unwrap();
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
    let (p, _) = plugin_with(json!({"session": {"keys": [base64_key(&KEY)], "subject_header": "x-jwt-sub"}}));
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
fn prompts_resources_and_completions_are_routed() {
    let p = plugin();
    let mut h = post(r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"beta_greet"}}"#, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(h.header("x-mcp-promptname"), Some("greet"));
    assert_eq!(body_json(&h)["params"]["name"], "greet");

    let mut h = post(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"alpha+file:///etc/motd"}}"#, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(h.header("x-mcp-resourceuri"), Some("file:///etc/motd"));
    assert_eq!(body_json(&h)["params"]["uri"], "file:///etc/motd");

    let mut h = post(
        r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"beta+test://t/{id}"},"argument":{"name":"id","value":"1"}}}"#,
        &[],
    );
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
    assert_eq!(body_json(&h)["params"]["ref"]["uri"], "test://t/{id}");
}

#[test]
fn default_server_keeps_names_unchanged() {
    let (p, _) = plugin_with(json!({"servers": [
        {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal"},
        {"name": "plain", "prefix": "", "authority": "plain.mcp.internal"}
    ]}));
    let body = call("test_simple_text");
    let mut h = post(&body, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("plain.mcp.internal"));
    assert_eq!(h.body, body.as_bytes(), "unchanged names leave the body byte-exact");
    assert_eq!(h.header("content-length"), Some(body.len().to_string().as_str()));
}

#[test]
fn counters_count() {
    let (p, root) = plugin_with(json!({}));
    let mut h = post(&call("alpha_echo"), &[]);
    drive(&p, &mut h);
    let id = |n: &str| root.id(n).unwrap();
    assert_eq!(h.counters.get(&id("mcp_gateway.requests.tools_call")), Some(&1));
    assert_eq!(h.counters.get(&id("mcp_gateway.routed.alpha")), Some(&1));
    let mut h = post("nope", &[]);
    drive(&p, &mut h);
    assert_eq!(h.counters.get(&id("mcp_gateway.errors.parse_error")), Some(&1));
}

#[test]
fn invalid_configs_fail_with_a_reason() {
    let mut root = RecordingRoot::default();
    let err = Plugin::configure(&mut root, br#"{"broker":{"authority":"b"},"servers":[],"session":{"keys":[]}}"#).unwrap_err();
    assert!(err.contains("server"), "{err}");
    assert!(Plugin::configure(&mut root, b"\xff").is_err());
}

#[test]
fn cached_sessions_still_expire_and_still_check_the_subject() {
    let (p, _) = plugin_with(json!({"session": {"keys": [base64_key(&KEY)], "subject_header": "x-jwt-sub"}}));
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
fn refusals_leave_their_kind_and_method_in_filter_state() {
    let p = plugin();
    let mut h = post(&call("gamma_echo"), &[]);
    drive(&p, &mut h);
    assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("unknown_name"));
    assert_eq!(h.filter_state.get("mcp_gateway.method").map(String::as_str), Some("tools/call"));
    let mut h = post("{", &[]);
    drive(&p, &mut h);
    assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("parse_error"));
}

#[test]
fn servers_the_session_has_not_used_yet_are_served_by_the_broker() {
    let (p, _) = plugin_with(json!({"servers": [
        {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal"},
        {"name": "beta", "prefix": "beta_", "authority": "beta.mcp.internal"},
        {"name": "gamma", "prefix": "gamma_", "authority": "gamma.mcp.internal"}
    ]}));
    let t = token(None, 5_000); // has used alpha and beta only
    let mut h = post(&call("gamma_echo"), &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"), "the broker opens gamma's backend session");
    assert_eq!(h.header("mcp-session-id"), Some(t.as_str()));
    assert_eq!(body_json(&h)["params"]["name"], "gamma_echo", "untouched: the broker routes by the exposed name");
    // Without a session (a sessionless client) the server is reachable.
    let mut h = post(&call("gamma_echo"), &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("gamma.mcp.internal"));
}

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
fn only_the_configured_metadata_headers_are_set_but_all_spoofed_ones_are_stripped() {
    let (p, _) = plugin_with(json!({"metadata_headers": ["server"]}));
    let mut h = post(&call("alpha_echo"), &[("x-mcp-toolname", "spoofed"), ("x-mcp-method", "spoofed")]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    assert_eq!(h.header("x-mcp-servername"), Some("alpha"));
    assert_eq!(h.header("x-mcp-toolname"), None);
    assert_eq!(h.header("x-mcp-method"), None);
    assert_eq!(h.filter_state.get("mcp_gateway.tool").map(String::as_str), Some("echo"), "filter state unaffected");

    let (p, _) = plugin_with(json!({"metadata_headers": []}));
    let mut h = post(&call("alpha_echo"), &[]);
    drive(&p, &mut h);
    assert!(h.headers.iter().all(|(k, _)| !k.starts_with("x-mcp-")), "{:?}", h.headers);
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

#[test]
fn dns_rebinding_host_and_origin_checks() {
    let (p, _) = plugin_with(json!({"allowed_hosts": ["localhost", "127.0.0.1"], "allowed_origins": ["localhost", "127.0.0.1"]}));
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let mut evil = post(init, &[("origin", "http://evil.example.com")]);
    evil.set_request_header_for_test(":authority", "evil.example.com");
    drive(&p, &mut evil);
    assert_eq!(evil.local_reply.as_ref().map(|r| r.0), Some(403));
    let mut bad_origin = post(init, &[("origin", "http://evil.example.com")]);
    bad_origin.set_request_header_for_test(":authority", "localhost:8080");
    drive(&p, &mut bad_origin);
    assert_eq!(bad_origin.local_reply.as_ref().map(|r| r.0), Some(403));
    let mut good = post(init, &[("origin", "http://localhost:8080")]);
    good.set_request_header_for_test(":authority", "localhost:8080");
    drive(&p, &mut good);
    assert!(good.local_reply.is_none());
    let mut no_origin = post(init, &[]);
    no_origin.set_request_header_for_test(":authority", "127.0.0.1:8080");
    drive(&p, &mut no_origin);
    assert!(no_origin.local_reply.is_none());
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

// Issue 10 (security), one file per behaviour.
mod backend_restart;
mod lazy_sessions;
mod bounds;
mod broker_credential;
mod duplicate_headers;
mod id_less_requests;
mod reserved_headers;
mod response_ids;
mod revoked_sessions;
mod trailers;
