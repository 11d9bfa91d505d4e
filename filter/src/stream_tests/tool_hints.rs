//! Tool annotations as policy facts (issue 16): every `tools/call` carries its tool's hints
//! (`x-mcp-toolhints`, filter state `mcp_gateway.tool_hints`), on the direct route and via the
//! broker alike: the config's annotations over what the backend declared (learnt), over the
//! MCP defaults; nothing else carries them, and no client can.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

const DEFAULTS: &str = "destructive,open-world,source=default";

fn hinted() -> Rc<Plugin> {
    plugin_with(json!({"servers": [
        {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal",
         "tools": {"overrides": {
             "wipe": {"annotations": {"destructiveHint": true}},
             "whoami": {"name": "who", "annotations": {"readOnlyHint": true, "openWorldHint": false}}}},
         "tool_hints": {
             "wipe": {"readOnlyHint": true},
             "read": {"readOnlyHint": true, "openWorldHint": false},
             "append": {"destructiveHint": false, "idempotentHint": true}}},
        {"name": "beta", "prefix": "beta_", "authority": "beta.mcp.internal", "sessionless": true}
    ]}))
    .0
}

fn hints(h: &RecordingHost) -> (Option<&str>, Option<&str>) {
    (h.header("x-mcp-toolhints"), h.filter_state.get("mcp_gateway.tool_hints").map(String::as_str))
}

#[test]
fn a_call_carries_the_learnt_hints_the_configured_ones_or_the_defaults() {
    let p = hinted();
    for (tool, want) in [
        ("alpha_read", "read-only,idempotent,source=backend"),
        ("alpha_append", "idempotent,open-world,source=backend"),
        // The backend calls it read-only; the config says otherwise, and wins.
        ("alpha_wipe", "destructive,open-world,source=config"),
        ("alpha_unknown", DEFAULTS),
        ("beta_read", DEFAULTS),
    ] {
        let mut h = post(&call(tool), &[]);
        assert_eq!(drive(&p, &mut h), Action::Continue);
        assert_eq!(hints(&h), (Some(want), Some(want)), "{tool}");
    }
}

#[test]
fn a_renamed_tool_is_known_by_its_own_name() {
    let mut h = post(&call("alpha_who"), &[]);
    drive(&hinted(), &mut h);
    assert_eq!(h.header("x-mcp-toolname"), Some("whoami"));
    assert_eq!(hints(&h).0, Some("read-only,idempotent,source=config"));
}

#[test]
fn calls_the_broker_serves_carry_them_too() {
    let p = hinted();
    // A session's first call to alpha goes through the broker (it opens the backend session).
    let fresh = token_of("ffee00112233aabb");
    let mut h = post(&call("alpha_read"), &[("mcp-session-id", &fresh)]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(hints(&h), (Some("read-only,idempotent,source=backend"), Some("read-only,idempotent,source=backend")));
    // A 2026-07-28 call to a session-protocol backend too.
    let mut h = post(&stateless_call("alpha_wipe"), &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "alpha_wipe")]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("broker.mcp.internal"));
    assert_eq!(hints(&h).0, Some("destructive,open-world,source=config"));
}

#[test]
fn only_tool_calls_carry_hints_and_no_client_can_forge_them() {
    let p = hinted();
    for body in [
        json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}).to_string(),
        json!({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"alpha_read"}}).to_string(),
    ] {
        let mut h = post(&body, &[("x-mcp-toolhints", "read-only,idempotent,source=config")]);
        drive(&p, &mut h);
        assert_eq!(hints(&h), (None, None), "{body}");
    }
    let mut h = post(&call("alpha_unknown"), &[("x-mcp-toolhints", "read-only,source=config")]);
    drive(&p, &mut h);
    assert_eq!(hints(&h).0, Some(DEFAULTS));
}

#[test]
fn the_header_is_optional_the_filter_state_is_not() {
    let (p, _) = plugin_with(json!({"metadata_headers": ["server", "tool"]}));
    let mut h = post(&call("alpha_echo"), &[]);
    drive(&p, &mut h);
    assert_eq!(hints(&h), (None, Some(DEFAULTS)));
}
