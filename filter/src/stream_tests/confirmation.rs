//! Issue 16, item 5: a tool call the human must confirm first never goes straight to its
//! backend, in either era, even when this Envoy learnt the session's backend session: the
//! broker asks the client and forwards it only when accepted. The broker's own question on
//! that call's stream keeps its id (its answer is the broker's); the backend's questions on
//! the same stream are namespaced as usual.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

const V: (&str, &str) = ("mcp-protocol-version", "2026-07-28");

/// alpha confirms `delete_*` and `wipe`; beta (sessionless) confirms every destructive tool
/// (the broker knows which).
fn confirming() -> Rc<Plugin> {
    plugin_with(json!({"servers": [
        {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal", "path": "/a/mcp",
         "tools": {"confirm": ["delete_*", "wipe"], "overrides": {"wipe": {"name": "clear"}}}},
        {"name": "beta", "prefix": "beta_", "authority": "beta.mcp.internal", "sessionless": true, "confirm_destructive": true}
    ]}))
    .0
}

#[test]
fn confirmed_tools_go_to_the_broker_untouched_and_others_straight() {
    let p = confirming();
    let t = token(None, 5_000);
    // This proxy learnt alpha's backend session: an unconfirmed tool goes straight to it.
    let mut h = post(&call("alpha_echo"), &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
    // A confirmed one, by its own name (a renamed tool by the name the backend knows), does not.
    for exposed in ["alpha_delete_user", "alpha_clear"] {
        let body = call(exposed);
        let mut h = post(&body, &[("mcp-session-id", &t)]);
        drive(&p, &mut h);
        assert!(h.local_reply.is_none(), "{exposed}: {:?}", h.reply_json());
        assert_eq!(h.header(":authority"), Some("broker.mcp.internal"), "{exposed}");
        assert_eq!(h.header("mcp-session-id"), Some(t.as_str()), "{exposed}: the broker needs the gateway session");
        assert_eq!(h.body, body.as_bytes(), "{exposed}: the broker routes by the exposed name");
        assert!(h.header("x-mcp-gateway-auth").is_some());
    }
    // Prompts are never confirmed.
    let prompt = json!({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"alpha_delete_x"}}).to_string();
    let mut h = post(&prompt, &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"));
}

#[test]
fn at_2026_07_28_confirmed_tools_of_a_sessionless_server_go_to_the_broker_too() {
    let p = confirming();
    for (name, to) in [("beta_echo", "broker.mcp.internal"), ("alpha_delete_user", "broker.mcp.internal")] {
        let body = stateless_call(name);
        let mut h = post(&body, &[V, ("mcp-method", "tools/call"), ("mcp-name", name)]);
        drive(&p, &mut h);
        assert!(h.local_reply.is_none(), "{name}: {:?}", h.reply_json());
        assert_eq!(h.header(":authority"), Some(to), "{name}");
        assert_eq!(h.body, body.as_bytes());
    }
    // Without confirmation, beta's calls go straight to it (the default test config).
    let body = stateless_call("beta_echo");
    let mut h = post(&body, &[V, ("mcp-method", "tools/call"), ("mcp-name", "beta_echo")]);
    drive(&plugin(), &mut h);
    assert_eq!(h.header(":authority"), Some("beta.mcp.internal"));
}

#[test]
fn the_gateways_question_keeps_its_id_and_its_answer_goes_to_the_broker() {
    let p = confirming();
    let t = token(None, 5_000);
    let mut h = post(&call("alpha_delete_user"), &[("mcp-session-id", &t)]);
    h.response_headers = vec![(":status".into(), "200".into()), ("content-type".into(), "text/event-stream".into())];
    let ask = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"mcpgw-confirm-00ff\",\"method\":\"elicitation/create\",\"params\":{}}\n\n";
    let backend = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"roots/list\"}\n\n";
    h.response_body = format!("{ask}{backend}").into_bytes();
    drive(&p, &mut h);
    let out = String::from_utf8(h.response_body.clone()).unwrap();
    assert!(out.starts_with(ask), "{out}");
    assert!(out.contains(r#""id":"alpha:4""#), "the backend's own question is namespaced: {out}");

    let answer = r#"{"jsonrpc":"2.0","id":"mcpgw-confirm-00ff","result":{"action":"accept","content":{}}}"#;
    let mut h = post(answer, &[("mcp-session-id", &t)]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none());
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(h.body, answer.as_bytes());
}
