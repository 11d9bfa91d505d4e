//! Issue 10, item 8: methods, tool and prompt names and resource URIs beyond the documented
//! bounds (`mcpgw_common::limits`) are refused before any header is written or the body is
//! rewritten: a 4 MB name must not become a 4 MB header.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

fn roomy() -> Rc<Plugin> {
    plugin_with(json!({"max_body_bytes": 65536})).0
}

fn refused_untouched(h: &RecordingHost, body: &str, status: u32, code: i64) {
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(status), "{}", &body[..80.min(body.len())]);
    let r = h.reply_json().unwrap();
    assert_eq!(r["error"]["code"], code);
    assert!(r["error"]["message"].as_str().unwrap().len() < 200, "the value is not echoed");
    assert_eq!(h.header(":authority"), Some("gateway.example"));
    assert_eq!(h.body, body.as_bytes(), "body not rewritten");
    for fact in ["x-mcp-toolname", "x-mcp-promptname", "x-mcp-resourceuri", "x-mcp-servername"] {
        assert_eq!(h.header(fact), None, "{fact}");
    }
    assert!(h.headers.iter().all(|(_, v)| v.len() < 200), "no long header written");
}

#[test]
fn names_beyond_128_characters_are_refused() {
    let p = roomy();
    let at_bound = format!("alpha_{}", "x".repeat(128 - 6));
    let mut h = post(&call(&at_bound), &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"), "128 characters pass");

    let long = format!("alpha_{}", "x".repeat(4000));
    for body in [
        call(&long),
        json!({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":long}}).to_string(),
        json!({"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":long},"argument":{"name":"a","value":"v"}}}).to_string(),
        // Characters, not bytes: 129 two-byte characters.
        call(&format!("alpha_{}", "é".repeat(123))),
    ] {
        let mut h = post(&body, &[]);
        drive(&p, &mut h);
        refused_untouched(&h, &body, 200, -32602);
        assert_eq!(h.filter_state.get("mcp_gateway.error").map(String::as_str), Some("too_long"));
    }
    // A 2026-07-28 client: HTTP 400, and Mcp-Name is not rewritten either.
    let body = call(&format!("beta_{}", "x".repeat(200)));
    let name = format!("beta_{}", "x".repeat(200));
    let mut h = post(&body, &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", &name)]);
    drive(&p, &mut h);
    assert_eq!(h.local_reply.as_ref().map(|r| r.0), Some(400));
    assert_eq!(h.reply_json().unwrap()["error"]["code"], -32602);
    assert_eq!(h.header("mcp-name"), Some(name.as_str()));
    assert_eq!(h.header(":authority"), Some("gateway.example"));
}

#[test]
fn uris_beyond_2048_bytes_are_refused() {
    let p = roomy();
    let uri = |len: usize| format!("alpha+file:///{}", "a".repeat(len - 14));
    let body = json!({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":uri(2048)}}).to_string();
    let mut h = post(&body, &[]);
    drive(&p, &mut h);
    assert_eq!(h.header(":authority"), Some("alpha.mcp.internal"), "2048 bytes pass");

    for body in [
        json!({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":uri(2049)}}).to_string(),
        json!({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":uri(40_000)}}).to_string(),
        json!({"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":uri(3000)},"argument":{"name":"a","value":"v"}}}).to_string(),
    ] {
        let mut h = post(&body, &[]);
        drive(&p, &mut h);
        refused_untouched(&h, &body, 200, -32602);
    }
}

#[test]
fn methods_beyond_128_bytes_are_refused() {
    let p = roomy();
    let method = format!("tools/{}", "x".repeat(5000));
    let body = json!({"jsonrpc":"2.0","id":1,"method":method}).to_string();
    let mut h = post(&body, &[]);
    drive(&p, &mut h);
    refused_untouched(&h, &body, 400, -32600);
    assert_eq!(h.header("x-mcp-method"), None);
    assert_eq!(h.reply_json().unwrap()["id"], 1);
    assert!(h.filter_state.values().all(|v| v.len() < 200));
    // Notifications too.
    let body = json!({"jsonrpc":"2.0","method":format!("notifications/{}", "x".repeat(200))}).to_string();
    let mut h = post(&body, &[]);
    drive(&p, &mut h);
    refused_untouched(&h, &body, 400, -32600);
}
