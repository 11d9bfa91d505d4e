//! Virtual servers and access rules (`mcpgw_common::scope`): a routed request outside the
//! request's scope is refused as an unknown name before any backend; a virtual server is chosen
//! by its path or by `X-Mcp-Virtualserver` (validated, never two, never against the path); a
//! session is refused on any virtual server but its own; the broker learns the validated
//! choice from the filter alone.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use mcpgw_common::session::SessionClaims;

use super::support::*;

fn scoped() -> Rc<Plugin> {
    plugin_with(json!({
        "virtual_servers": [{"name": "support", "tools": ["alpha_*"], "resources": ["alpha+*"]}],
        "identity": {"payload_header": "x-jwt-payload"},
        "access": [
            {"when": {"groups": "ops"}, "tools": ["*"], "prompts": ["*"], "resources": ["*"]},
            {"tools": ["alpha_echo", "beta_echo"]}
        ]
    }))
    .0
}

fn claims(json: &str) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

fn at(path: &str, body: &str, headers: &[(&str, &str)]) -> RecordingHost {
    let mut h = post(body, headers);
    h.set_request_header_for_test(":path", path);
    h
}

fn refused_as_unknown(h: &RecordingHost, name: &str) {
    let (status, _) = h.local_reply.as_ref().expect("refused");
    assert_eq!(*status, 200, "a session-era content fault is an in-band error");
    let reply = h.reply_json().unwrap();
    assert_eq!(reply["error"]["code"], -32602);
    assert_eq!(reply["error"]["message"], format!("Unknown tool: {name:?}"));
    assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("out_of_scope"));
    assert_eq!(h.route_cache_cleared, 0, "no route was chosen");
}

#[test]
fn access_rules_follow_the_verified_claims() {
    let p = scoped();
    let ops = claims(r#"{"sub":"alice","groups":["ops"]}"#);
    let mut h = at("/mcp", &call("beta_whoami"), &[("x-jwt-payload", &ops)]);
    drive(&p, &mut h);
    assert!(h.local_reply.is_none(), "ops may call anything");
    for who in [None, Some(claims(r#"{"groups":["dev"]}"#)), Some("garbage".to_string())] {
        let headers: Vec<(&str, &str)> = who.iter().map(|v| ("x-jwt-payload", v.as_str())).collect();
        let mut h = at("/mcp", &call("beta_whoami"), &headers);
        drive(&p, &mut h);
        refused_as_unknown(&h, "beta_whoami");
        let mut ok = at("/mcp", &call("beta_echo"), &headers);
        drive(&p, &mut ok);
        assert!(ok.local_reply.is_none(), "the rule without `when` is everyone's");
    }
}

#[test]
fn a_virtual_server_exposes_only_its_subset() {
    let p = scoped();
    let ops = claims(r#"{"groups":"ops"}"#);
    let mut inside = at("/mcp/support", &call("alpha_whoami"), &[("x-jwt-payload", &ops)]);
    drive(&p, &mut inside);
    assert!(inside.local_reply.is_none());
    assert_eq!(inside.filter_state.get("mcp_gateway.virtual_server").map(String::as_str), Some("support"));
    let mut outside = at("/mcp/support", &call("beta_whoami"), &[("x-jwt-payload", &ops)]);
    drive(&p, &mut outside);
    refused_as_unknown(&outside, "beta_whoami");
    // The same by header on the gateway's own path.
    let mut by_header = at("/mcp", &call("beta_whoami"), &[("x-jwt-payload", &ops), ("x-mcp-virtualserver", "support")]);
    drive(&p, &mut by_header);
    refused_as_unknown(&by_header, "beta_whoami");
    // Prompts: the virtual server lists none.
    let get = r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"alpha_greet"}}"#;
    let mut prompt = at("/mcp/support", get, &[("x-jwt-payload", &ops)]);
    drive(&p, &mut prompt);
    assert_eq!(prompt.reply_json().unwrap()["error"]["message"], "Unknown prompt: \"alpha_greet\"");
}

#[test]
fn the_virtual_server_header_is_validated_and_never_reaches_anyone_as_sent() {
    let p = scoped();
    let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let mut chosen = at("/mcp", list, &[("x-mcp-virtualserver", "support")]);
    drive(&p, &mut chosen);
    assert!(chosen.local_reply.is_none());
    assert_eq!(chosen.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(chosen.header("x-mcp-virtualserver"), Some("support"), "the filter's validated copy, for the broker");
    let mut none = at("/mcp", list, &[]);
    drive(&p, &mut none);
    assert_eq!(none.header("x-mcp-virtualserver"), None);
    for (path, headers, status) in [
        ("/mcp", vec![("x-mcp-virtualserver", "nope")], 404),
        ("/mcp", vec![("x-mcp-virtualserver", "support"), ("x-mcp-virtualserver", "support")], 400),
        ("/mcp/support", vec![("x-mcp-virtualserver", "other")], 404),
    ] {
        let mut h = at(path, list, &headers);
        drive(&p, &mut h);
        assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(status), "{path} {headers:?}");
        assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("virtual_server"));
    }
    // An unknown virtual server's path, or an encoded or dotted spelling of a known one, is
    // no MCP endpoint: left alone (Envoy's routes answer it 404), never routed.
    for path in ["/mcp/nope", "/mcp/%73upport", "/mcp/support/", "/mcp/./support", "/mcpsupport"] {
        let mut h = at(path, &call("alpha_echo"), &[]);
        drive(&p, &mut h);
        assert!(h.local_reply.is_none() && h.route_cache_cleared == 0, "{path}");
        assert_eq!(h.header(":authority"), Some("gateway.example"), "{path}");
    }
    // The query is not part of the path.
    let mut q = at("/mcp/support?x=1", list, &[]);
    drive(&p, &mut q);
    assert_eq!(q.header("x-mcp-virtualserver"), Some("support"));
}

#[test]
fn a_session_belongs_to_its_virtual_server() {
    let p = scoped();
    let ops = claims(r#"{"groups":"ops"}"#);
    let of = |vs: Option<&str>| test_fixtures::mint(&SessionClaims { virtual_server: vs.map(String::from), ..test_fixtures::claims(SESSION) }).unwrap();
    for (token, path, ok) in [
        (of(Some("support")), "/mcp/support", true),
        (of(Some("support")), "/mcp", false),
        (of(None), "/mcp/support", false),
        (of(None), "/mcp", true),
    ] {
        let mut h = at(path, &call("alpha_echo"), &[("mcp-session-id", &token), ("x-jwt-payload", &ops)]);
        drive(&p, &mut h);
        match ok {
            true => assert!(h.local_reply.is_none(), "{path}"),
            false => {
                assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(404), "{path}");
                assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("session_scope"));
            }
        }
    }
    // The header choice counts as the path's.
    let mut by_header = at("/mcp", &call("alpha_echo"), &[("mcp-session-id", &of(Some("support"))), ("x-mcp-virtualserver", "support"), ("x-jwt-payload", &ops)]);
    drive(&p, &mut by_header);
    assert!(by_header.local_reply.is_none());
}

#[test]
fn without_scope_rules_nothing_changes() {
    let p = plugin();
    let mut h = at("/mcp/support", &call("alpha_echo"), &[]);
    drive(&p, &mut h);
    assert!(h.route_cache_cleared == 0 && h.local_reply.is_none(), "no virtual servers: not an MCP path");
    let mut plain = at("/mcp", &call("alpha_echo"), &[("x-jwt-payload", "anything")]);
    drive(&p, &mut plain);
    assert!(plain.local_reply.is_none());
    assert_eq!(plain.header(":authority"), Some("alpha.mcp.internal"));
}
