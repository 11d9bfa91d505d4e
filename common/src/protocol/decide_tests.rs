//! The decision, case by case: one row per rule, in the order `decide` applies them.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use crate::names::RouteEntry;

const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn router() -> Router {
    Router::new(&[RouteEntry::plain("alpha", "alpha_"), RouteEntry::plain("beta", "beta_")]).unwrap()
}

fn stateless<'h>(method: &'h str, name: Option<&'h str>) -> StandardHeaders<'h> {
    StandardHeaders { protocol_version: Some("2026-07-28"), method: Some(method), name }
}

/// (status, code) of a refusal, or the decision's shape.
fn outcome(body: &str, headers: StandardHeaders<'_>) -> String {
    let msg = match message::parse(body.as_bytes()) {
        Ok(m) => m,
        Err(e) => {
            let r = Refusal::parse(&e);
            return format!("{} {}", r.status, r.code);
        }
    };
    match decide(&msg, headers, &router()) {
        Ok(d) => match d.decision {
            Decision::Backend(r) => format!("backend {} {}", r.server, r.own()),
            Decision::Answer(a) => format!("answer {} {}", a.server, a.raw_id),
            Decision::Broker => "broker".into(),
        },
        Err(r) => format!("{} {}", r.status, r.code),
    }
}

#[test]
fn session_protocol() {
    let none = StandardHeaders::default();
    let call = |name: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"}}}}"#);
    assert_eq!(outcome(&call("alpha_echo"), none), "backend 0 echo");
    assert_eq!(outcome(&call("gamma_echo"), none), "200 -32602");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#, none), "200 -32602");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"nope://x"}}"#, none), "200 -32002");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"beta+file:///x"}}"#, none), "backend 1 file:///x");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"beta_p"}}}"#, none), "backend 1 p");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/x"}}}"#, none), "200 -32602");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, none), "broker");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":1,"method":"whatever/else"}"#, none), "broker");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"alpha_echo"}}"#, none), "400 -32600");
    assert_eq!(outcome(&format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#, "m".repeat(300)), none), "400 -32600");
    assert_eq!(outcome(&call(&"a".repeat(200)), none), "200 -32602");
    assert_eq!(outcome("{", none), "400 -32700");
    assert_eq!(outcome("[]", none), "400 -32600");
}

#[test]
fn answers_to_server_requests() {
    let none = StandardHeaders::default();
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":"alpha:7","result":{}}"#, none), "answer 0 7");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":"beta:\"r\"","result":{}}"#, none), "answer 1 \"r\"");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":"alpha:01","result":{}}"#, none), "400 -32600");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":"gamma:1","result":{}}"#, none), "broker");
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":3,"result":{}}"#, none), "broker");
}

#[test]
fn stateless_checks_in_the_sdks_order() {
    let call = |name: &str, meta: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"{meta}}}}}"#);
    let with_meta = call("alpha_echo", &format!(",{META}"));
    assert_eq!(outcome(&with_meta, stateless("tools/call", Some("alpha_echo"))), "backend 0 echo");
    assert_eq!(outcome(&with_meta, stateless("tools/call", Some("=?base64?YWxwaGFfZWNobw==?="))), "backend 0 echo");
    assert_eq!(outcome(&with_meta, stateless("=?base64?dG9vbHMvY2FsbA==?=", Some("alpha_echo"))), "backend 0 echo");
    // _meta first, then the headers, then the version.
    assert_eq!(outcome(&call("alpha_echo", ""), stateless("tools/list", None)), "400 -32602");
    assert_eq!(outcome(&with_meta, stateless("tools/list", Some("alpha_echo"))), "400 -32020");
    assert_eq!(outcome(&with_meta, stateless("tools/call", None)), "400 -32020");
    assert_eq!(outcome(&with_meta, stateless("tools/call", Some("beta_echo"))), "400 -32020");
    let other_version = StandardHeaders { protocol_version: Some("2026-07-27"), ..stateless("tools/call", Some("alpha_echo")) };
    assert_eq!(outcome(&with_meta, other_version), "400 -32020");
    let future = with_meta.replace("2026-07-28", "2027-01-01");
    let future_headers = StandardHeaders { protocol_version: Some("2027-01-01"), ..stateless("tools/call", Some("alpha_echo")) };
    assert_eq!(outcome(&future, future_headers), "400 -32022");
    // Without the header, a stateless _meta still makes it stateless: refused for the header.
    assert_eq!(outcome(&with_meta, StandardHeaders::default()), "400 -32020");
    // Refusals about the content: the SDKs' statuses.
    assert_eq!(outcome(&call("gamma_echo", &format!(",{META}")), stateless("tools/call", Some("gamma_echo"))), "400 -32602");
    let read = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{{"uri":"nope://x",{META}}}}}"#);
    assert_eq!(outcome(&read, stateless("resources/read", Some("nope://x"))), "200 -32002");
    let subscribe = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{{"uri":"alpha+x://y",{META}}}}}"#);
    assert_eq!(outcome(&subscribe, stateless("resources/subscribe", None)), "404 -32601");
    let unknown = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"nope","params":{{{META}}}}}"#);
    assert_eq!(outcome(&unknown, stateless("nope", None)), "404 -32601");
    let discover = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{{{META}}}}}"#);
    assert_eq!(outcome(&discover, stateless("server/discover", None)), "broker");
}

#[test]
fn stateless_notifications() {
    let n = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#;
    assert_eq!(outcome(n, stateless("notifications/cancelled", None)), "broker");
    assert_eq!(outcome(n, stateless("notifications/progress", None)), "400 -32020");
    let v = StandardHeaders { protocol_version: Some("2027-01-01"), ..stateless("notifications/cancelled", None) };
    assert_eq!(outcome(n, v), "400 -32022");
}

#[test]
fn the_route_splices_the_own_name_keeping_the_length() {
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_echo"}}"#;
    let msg = message::parse(body).unwrap();
    let Ok(Decided { decision: Decision::Backend(route), .. }) = decide(&msg, StandardHeaders::default(), &router()) else { panic!() };
    let out = route.rewritten_body(body).unwrap();
    assert_eq!(out.len(), body.len());
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["params"]["name"], "echo");
    assert_eq!(route.named, Named::Tool);
}

#[test]
fn task_methods_route_by_the_namespaced_task_id() {
    let task = |method: &str, id: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{{"taskId":{id},{META}}}}}"#);
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        assert_eq!(outcome(&task(method, r#""beta:t-1""#), stateless(method, Some("beta:t-1"))), "backend 1 t-1");
    }
    // The server's own id may hold `:` itself: the first one ends the server's name.
    assert_eq!(outcome(&task("tasks/get", r#""alpha:a:b""#), stateless("tasks/get", Some("alpha:a:b"))), "backend 0 a:b");
    // Unknown namespace, no namespace, nothing after it: refused like an unknown tool.
    for id in ["gamma:t-1", "t-1", "alpha:", "alpha_t-1"] {
        assert_eq!(outcome(&task("tasks/get", &format!("{id:?}")), stateless("tasks/get", Some(id))), "400 -32602", "{id}");
    }
    // Not a string: no task id for Mcp-Name to mirror, so the header check refuses it first.
    assert_eq!(outcome(&task("tasks/cancel", "7"), stateless("tasks/cancel", Some("7"))), "400 -32020");
    // Bounded like a URI (it travels in Mcp-Name).
    let long = format!("alpha:{}", "t".repeat(3000));
    assert_eq!(outcome(&task("tasks/get", &format!("{long:?}")), stateless("tasks/get", Some(&long))), "400 -32602");
    // Mcp-Name mirrors params.taskId (SEP-2663).
    assert_eq!(outcome(&task("tasks/get", r#""beta:t-1""#), stateless("tasks/get", None)), "400 -32020");
    assert_eq!(outcome(&task("tasks/get", r#""beta:t-1""#), stateless("tasks/get", Some("alpha:t-1"))), "400 -32020");
    // A session-protocol client has no such methods: the broker says "not found", as before.
    let none = StandardHeaders::default();
    assert_eq!(outcome(r#"{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"beta:t-1"}}"#, none), "broker");
    // tasks/list and tasks/result are gone in 2026-07-28.
    let list = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tasks/list","params":{{{META}}}}}"#);
    assert_eq!(outcome(&list, stateless("tasks/list", None)), "404 -32601");
}

#[test]
fn the_task_route_hands_the_server_its_own_id() {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{{"taskId":"alpha:t-1",{META}}}}}"#);
    let msg = message::parse(body.as_bytes()).unwrap();
    let Ok(Decided { decision: Decision::Backend(route), .. }) = decide(&msg, stateless("tasks/get", Some("alpha:t-1")), &router()) else { panic!() };
    assert_eq!(route.named, Named::Task);
    assert_eq!(route.own(), "t-1");
    assert_eq!(route.own_name_header(), "t-1");
    let out = route.rewritten_body(body.as_bytes()).unwrap();
    assert_eq!(out.len(), body.len());
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["params"]["taskId"], "t-1");
}

/// alpha exposes some of its tools, prompts and resources, one tool renamed
/// (`crate::visibility`); beta everything.
fn curated_router() -> Router {
    let rules: crate::visibility::Visibility = serde_json::from_str(
        r#"{"tools": {"include": ["echo", "find_*"], "exclude": ["*_admin"], "overrides": {"find_docs": {"name": "search"}}},
            "prompts": {"exclude": ["secret*"]},
            "resources": {"exclude": ["file:///private/*"]}}"#,
    )
    .unwrap();
    Router::new(&[RouteEntry { name: "alpha".into(), prefix: "alpha_".into(), rules }, RouteEntry::plain("beta", "beta_")]).unwrap()
}

fn curated(body: &str, headers: StandardHeaders<'_>) -> String {
    let msg = message::parse(body.as_bytes()).unwrap();
    match decide(&msg, headers, &curated_router()) {
        Ok(d) => match d.decision {
            Decision::Backend(r) => {
                let out = r.rewritten_body(msg.body()).map(|b| String::from_utf8(b).unwrap());
                let spliced = out.as_deref().is_some_and(|b| b.contains(&format!("\"{}\"", r.own())));
                format!("backend {} {} {}", r.server, r.own(), if spliced || !r.is_prefixed() { "ok" } else { "unspliced" })
            }
            Decision::Answer(a) => format!("answer {}", a.server),
            Decision::Broker => "broker".into(),
        },
        Err(r) => format!("{} {}", r.status, r.code),
    }
}

#[test]
fn hidden_names_are_refused_as_unknown_and_renamed_ones_go_under_their_own_name() {
    let none = StandardHeaders::default();
    let call = |name: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"}}}}"#);
    assert_eq!(curated(&call("alpha_echo"), none), "backend 0 echo ok");
    assert_eq!(curated(&call("alpha_search"), none), "backend 0 find_docs ok");
    assert_eq!(curated(&call("alpha_find_web"), none), "backend 0 find_web ok");
    for hidden in ["alpha_find_docs", "alpha_delete", "alpha_find_admin", "alpha_", "alpha_ECHO"] {
        assert_eq!(curated(&call(hidden), none), "200 -32602", "{hidden}");
    }
    assert_eq!(curated(&call("beta_anything"), none), "backend 1 anything ok");
    let prompt = |name: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{{"name":"{name}"}}}}"#);
    assert_eq!(curated(&prompt("alpha_plan"), none), "backend 0 plan ok");
    assert_eq!(curated(&prompt("alpha_secret_plan"), none), "200 -32602");
    let complete = r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"alpha_secret"}}}"#;
    assert_eq!(curated(complete, none), "200 -32602", "completion refs obey the prompt rules");
    let read = |uri: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{{"uri":"{uri}"}}}}"#);
    assert_eq!(curated(&read("alpha+file:///public/a"), none), "backend 0 file:///public/a ok");
    assert_eq!(curated(&read("alpha+file:///private/a"), none), "200 -32002");
    let sub = r#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"alpha+file:///private/a"}}"#;
    assert_eq!(curated(sub, none), "200 -32002");
    let complete_res = r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"alpha+file:///private/{x}"}}}"#;
    assert_eq!(curated(complete_res, none), "200 -32002");
    // 2026-07-28: the Mcp-Name header names the exposed tool; the server gets its own name.
    let modern = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"alpha_search",{META}}}}}"#);
    assert_eq!(curated(&modern, stateless("tools/call", Some("alpha_search"))), "backend 0 find_docs ok");
    let hidden = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"alpha_find_docs",{META}}}}}"#);
    // Exactly as an unknown tool of that era (-32602 is HTTP 400 in 2026-07-28).
    let unknown = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"gamma_x",{META}}}}}"#);
    assert_eq!(curated(&unknown, stateless("tools/call", Some("gamma_x"))), "400 -32602");
    assert_eq!(curated(&hidden, stateless("tools/call", Some("alpha_find_docs"))), "400 -32602");
}

#[test]
fn a_renamed_route_carries_the_own_name_in_body_and_header() {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha_search","arguments":{}}}"#;
    let msg = message::parse(body.as_bytes()).unwrap();
    let router = curated_router();
    let Ok(Decided { decision: Decision::Backend(route), .. }) = decide(&msg, StandardHeaders::default(), &router) else { panic!("not routed") };
    assert_eq!(route.own_name_header(), "find_docs");
    let out: serde_json::Value = serde_json::from_slice(&route.rewritten_body(body.as_bytes()).unwrap()).unwrap();
    assert_eq!(out["params"]["name"], "find_docs", "a longer own name is spliced in, the body grows");
}
