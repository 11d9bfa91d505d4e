//! The filter and the broker answer the same request the same way. Both take their decision
//! from `mcpgw_common::protocol::decide`; this table feeds each request to the filter (the
//! real logic, through `mcpgw_filter::recording_host`) and to the broker (its axum router,
//! with the broker credential the filter adds), and asserts, per row:
//! - the broker's answer is the one chosen below;
//! - where the filter answers locally, it answers the same (HTTP status, JSON-RPC code, id);
//! - where the filter forwards, the broker does not refuse it for a protocol reason (a
//!   400, a 2026-07-28 404, or a code `decide` refuses with).
//!
//! The gateway has two servers, `alpha` and `beta` (prefixes `alpha_`, `beta_`), that are not
//! running: what the broker forwards fails as "unavailable", never as a refusal.
//! Session-protocol rows carry `MCP-Protocol-Version: 2025-11-25` and a valid session.
//! 2026-07-28 rows carry `MCP-Protocol-Version: 2026-07-28`, `Mcp-Method`, `Mcp-Name` where
//! it applies and the `_meta` envelope, unless the row says otherwise.
//!
//! | row | chosen answer |
//! |---|---|
//! | session: malformed JSON | 400 -32700 |
//! | session: batch | 400 -32600 |
//! | session: missing jsonrpc | 400 -32600, id echoed |
//! | session: method of 200 bytes | 400 -32600 |
//! | session: unknown tool / prompt | 200 -32602 |
//! | session: unknown resource | 200 -32002 |
//! | session: tools/call without params.name | 200 -32602 |
//! | session: completion with a bad ref | 200 -32602 |
//! | session: tool name of 200 characters | 200 -32602 |
//! | session: id-less tools/call | 400 -32600 |
//! | session: response id `"alpha:01"` | 400 -32600 |
//! | session: initialize, ping, tools/list, tools/call alpha_echo, unknown method, notifications/cancelled, response `"alpha:7"` | forwarded (the broker serves them) |
//! | 2026-07-28: tools/list, tools/call alpha_echo, `=?base64?…?=` Mcp-Method and Mcp-Name, notifications/cancelled | forwarded |
//! | 2026-07-28: unknown tool | 400 -32602 |
//! | 2026-07-28: unknown resource | 200 -32002 |
//! | 2026-07-28: tool name of 200 characters, completion with a bad ref | 400 -32602 |
//! | 2026-07-28: Mcp-Method missing or another method; Mcp-Name missing or another name; Mcp-Name with no name in the body; a broken encoding | 400 -32020 |
//! | 2026-07-28: no `_meta`, or `_meta` without the client capabilities | 400 -32602 |
//! | 2026-07-28: `_meta` version but no MCP-Protocol-Version header | 400 -32020 |
//! | 2026-07-28: header and `_meta` versions differ | 400 -32020 |
//! | 2026-07-28: a version the gateway does not serve (request or notification) | 400 -32022 |
//! | 2026-07-28: initialize, ping, logging/setLevel, resources/subscribe, an unknown method | 404 -32601 |
//! | 2026-07-28: id-less tools/call | 400 -32600 |
//! | 2026-07-28: response id `"alpha:01"` | 400 -32600 |
//! | 2026-07-28: tasks/get, tasks/update, tasks/cancel of task `"beta:t-1"` | forwarded |
//! | 2026-07-28: tasks/get of a task of no server (`"gamma:t-1"`, `"t-1"`), of 3000 bytes | 400 -32602 |
//! | 2026-07-28: tasks/get without Mcp-Name, or naming another task | 400 -32020 |
//! | 2026-07-28: tasks/list (removed by SEP-2663) | 404 -32601 |
//! | session: tasks/get (a 2026-07-28 extension's) | forwarded (the broker answers "not found") |

mod support;

use std::rc::Rc;

use axum::body::{to_bytes, Body};
use axum::http::Request;
use base64::Engine;
use mcpgw_common::session::{SessionClaims, SessionCodec, SessionKey};
use mcpgw_filter::plugin::Plugin;
use mcpgw_filter::recording_host::{drive, RecordingHost, RecordingRoot};
use serde_json::{json, Value};
use tower::ServiceExt;

const STATELESS: &str = "2026-07-28";
const SESSION: &str = "2025-11-25";

/// What a plane did with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Answered with (HTTP status, JSON-RPC error code, id), the code `None` for a result or
    /// an empty body.
    Answered(u16, Option<i64>, Value),
    /// Passed on (the filter to the broker or a backend).
    Forwarded,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Answered(status, Some(code), _) => write!(f, "{status} {code}"),
            Outcome::Answered(status, None, _) => write!(f, "{status} ok"),
            Outcome::Forwarded => write!(f, "forwards"),
        }
    }
}

/// What the table chose for a row.
#[derive(Debug, Clone, Copy)]
enum Chosen {
    Refused(u16, i64),
    Forwarded,
}

struct Row {
    name: String,
    headers: Vec<(String, String)>,
    body: String,
    chosen: Chosen,
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": STATELESS,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "table", "version": "0"},
    })
}

fn encoded(value: &str) -> String {
    format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(value))
}

/// Builds the table; `token` is a session both planes accept.
fn rows(token: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let session = |name: &str, body: String, chosen: Chosen| Row {
        name: format!("session: {name}"),
        headers: vec![("mcp-protocol-version".into(), SESSION.into()), ("mcp-session-id".into(), token.into())],
        body,
        chosen,
    };
    let request = |method: &str, params: Value| json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string();
    use Chosen::{Forwarded, Refused};

    rows.push(session("malformed JSON", r#"{"jsonrpc":"2.0","id":1,"#.into(), Refused(400, -32700)));
    rows.push(session("batch", r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#.into(), Refused(400, -32600)));
    rows.push(session("missing jsonrpc", r#"{"id":3,"method":"ping"}"#.into(), Refused(400, -32600)));
    rows.push(session("method of 200 bytes", request(&"m".repeat(200), json!({})), Refused(400, -32600)));
    rows.push(session("unknown tool", request("tools/call", json!({"name": "gamma_echo", "arguments": {}})), Refused(200, -32602)));
    rows.push(session("unknown prompt", request("prompts/get", json!({"name": "gamma_p"})), Refused(200, -32602)));
    rows.push(session("unknown resource", request("resources/read", json!({"uri": "gamma+file:///x"})), Refused(200, -32002)));
    rows.push(session("tools/call without params.name", request("tools/call", json!({"arguments": {}})), Refused(200, -32602)));
    rows.push(session("completion with a bad ref", request("completion/complete", json!({"ref": {"type": "ref/other"}, "argument": {"name": "a", "value": "b"}})), Refused(200, -32602)));
    rows.push(session("tool name of 200 characters", request("tools/call", json!({"name": format!("alpha_{}", "x".repeat(200))})), Refused(200, -32602)));
    rows.push(session("id-less tools/call", json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "alpha_echo"}}).to_string(), Refused(400, -32600)));
    rows.push(session("response id alpha:01", r#"{"jsonrpc":"2.0","id":"alpha:01","result":{}}"#.into(), Refused(400, -32600)));
    rows.push(session("initialize", request("initialize", json!({"protocolVersion": SESSION, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}})), Forwarded));
    rows.push(session("ping", request("ping", json!({})), Forwarded));
    rows.push(session("tools/list", request("tools/list", json!({})), Forwarded));
    rows.push(session("tools/call alpha_echo", request("tools/call", json!({"name": "alpha_echo", "arguments": {}})), Forwarded));
    rows.push(session("unknown method", request("foo/bar", json!({})), Forwarded));
    rows.push(session("notifications/cancelled", json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}).to_string(), Forwarded));
    rows.push(session("response id alpha:7", r#"{"jsonrpc":"2.0","id":"alpha:7","result":{}}"#.into(), Forwarded));
    rows.push(session("tasks/get", request("tasks/get", json!({"taskId": "beta:t-1"})), Forwarded));

    // 2026-07-28: `headers` are (Mcp-Method, Mcp-Name) as sent, `None` for left out.
    let stateless = |name: &str, method: Option<&str>, mcp_name: Option<&str>, body: Value, chosen: Chosen| {
        let mut headers = vec![("mcp-protocol-version".to_string(), STATELESS.to_string())];
        if let Some(m) = method {
            headers.push(("mcp-method".into(), m.into()));
        }
        if let Some(n) = mcp_name {
            headers.push(("mcp-name".into(), n.into()));
        }
        Row { name: format!("2026-07-28: {name}"), headers, body: body.to_string(), chosen }
    };
    let call = |method: &str, mut params: Value| {
        params["_meta"] = meta();
        json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params})
    };
    rows.push(stateless("tools/list", Some("tools/list"), None, call("tools/list", json!({})), Forwarded));
    rows.push(stateless("tools/call alpha_echo", Some("tools/call"), Some("alpha_echo"), call("tools/call", json!({"name": "alpha_echo", "arguments": {}})), Forwarded));
    rows.push(stateless("encoded Mcp-Method", Some(&encoded("tools/list")), None, call("tools/list", json!({})), Forwarded));
    rows.push(stateless("encoded Mcp-Name", Some("tools/call"), Some(&encoded("alpha_échø")), call("tools/call", json!({"name": "alpha_échø", "arguments": {}})), Forwarded));
    rows.push(stateless("notifications/cancelled", Some("notifications/cancelled"), None, json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}), Forwarded));
    rows.push(stateless("unknown tool", Some("tools/call"), Some("gamma_echo"), call("tools/call", json!({"name": "gamma_echo", "arguments": {}})), Refused(400, -32602)));
    rows.push(stateless("unknown resource", Some("resources/read"), Some("gamma+file:///x"), call("resources/read", json!({"uri": "gamma+file:///x"})), Refused(200, -32002)));
    let long_name = format!("alpha_{}", "x".repeat(200));
    rows.push(stateless("tool name of 200 characters", Some("tools/call"), Some(&long_name), call("tools/call", json!({"name": long_name})), Refused(400, -32602)));
    rows.push(stateless("completion with a bad ref", Some("completion/complete"), None, call("completion/complete", json!({"ref": {"type": "ref/other"}})), Refused(400, -32602)));
    rows.push(stateless("Mcp-Method missing", None, None, call("tools/list", json!({})), Refused(400, -32020)));
    rows.push(stateless("Mcp-Method names another method", Some("prompts/list"), None, call("tools/list", json!({})), Refused(400, -32020)));
    rows.push(stateless("Mcp-Method badly encoded", Some("=?base64?***?="), None, call("tools/list", json!({})), Refused(400, -32020)));
    rows.push(stateless("Mcp-Name missing", Some("tools/call"), None, call("tools/call", json!({"name": "alpha_echo"})), Refused(400, -32020)));
    rows.push(stateless("Mcp-Name names another tool", Some("tools/call"), Some("beta_echo"), call("tools/call", json!({"name": "alpha_echo"})), Refused(400, -32020)));
    rows.push(stateless("Mcp-Name, no params.name", Some("tools/call"), Some("alpha_echo"), call("tools/call", json!({"arguments": {}})), Refused(400, -32020)));
    rows.push(stateless("no _meta", Some("tools/list"), None, json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {}}), Refused(400, -32602)));
    let mut no_caps = meta();
    if let Some(m) = no_caps.as_object_mut() {
        m.remove("io.modelcontextprotocol/clientCapabilities");
    }
    rows.push(stateless("_meta without client capabilities", Some("tools/list"), None, json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": no_caps}}), Refused(400, -32602)));
    let mut no_version_header = stateless("_meta version, no version header", Some("tools/list"), None, call("tools/list", json!({})), Refused(400, -32020));
    no_version_header.headers.retain(|(k, _)| k != "mcp-protocol-version");
    rows.push(no_version_header);
    let mut other_version = meta();
    other_version["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    rows.push(stateless("header and _meta versions differ", Some("tools/list"), None, json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": other_version.clone()}}), Refused(400, -32020)));
    let mut unserved = stateless("unserved version", Some("tools/list"), None, json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list", "params": {"_meta": other_version}}), Refused(400, -32022));
    unserved.headers[0].1 = "2099-01-01".into();
    rows.push(unserved);
    let mut unserved_notification = stateless("unserved version, notification", Some("notifications/cancelled"), None, json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}), Refused(400, -32022));
    unserved_notification.headers[0].1 = "2099-01-01".into();
    rows.push(unserved_notification);
    for method in ["initialize", "ping", "logging/setLevel"] {
        rows.push(stateless(method, Some(method), None, call(method, json!({})), Refused(404, -32601)));
    }
    rows.push(stateless("resources/subscribe", Some("resources/subscribe"), Some("alpha+file:///x"), call("resources/subscribe", json!({"uri": "alpha+file:///x"})), Refused(404, -32601)));
    rows.push(stateless("unknown method", Some("foo/bar"), None, call("foo/bar", json!({})), Refused(404, -32601)));
    rows.push(stateless("id-less tools/call", Some("tools/call"), Some("alpha_echo"), json!({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "alpha_echo", "_meta": meta()}}), Refused(400, -32600)));
    rows.push(stateless("response id alpha:01", None, None, json!({"jsonrpc": "2.0", "id": "alpha:01", "result": {}}), Refused(400, -32600)));
    // The tasks extension: routed by the server name that starts the task id.
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        rows.push(stateless(method, Some(method), Some("beta:t-1"), call(method, json!({"taskId": "beta:t-1"})), Forwarded));
    }
    let long_task = format!("alpha:{}", "t".repeat(3000));
    for task in ["gamma:t-1", "t-1", long_task.as_str()] {
        let name = format!("tasks/get of {}", task.get(..12).unwrap_or(task));
        rows.push(stateless(&name, Some("tasks/get"), Some(task), call("tasks/get", json!({"taskId": task})), Refused(400, -32602)));
    }
    rows.push(stateless("tasks/get without Mcp-Name", Some("tasks/get"), None, call("tasks/get", json!({"taskId": "beta:t-1"})), Refused(400, -32020)));
    rows.push(stateless("tasks/get, Mcp-Name of another task", Some("tasks/get"), Some("alpha:t-1"), call("tasks/get", json!({"taskId": "beta:t-1"})), Refused(400, -32020)));
    rows.push(stateless("tasks/list", Some("tasks/list"), None, call("tasks/list", json!({})), Refused(404, -32601)));
    rows
}

// ---- the two planes -------------------------------------------------------------------------

fn key_bytes() -> [u8; 32] {
    let raw = base64::engine::general_purpose::STANDARD.decode(support::KEY).expect("the test key is base64");
    raw.try_into().expect("the test key is 32 bytes")
}

/// A session token both planes open (same key; it expires in an hour).
fn token() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let codec = SessionCodec::new(&[SessionKey::from_bytes(key_bytes())]).expect("a codec");
    let claims = SessionClaims {
        id: "0011223344556677".into(),
        issued_at: now,
        expires_at: now + 3600,
        subject: None,
        protocol_version: SESSION.into(),
        accepts_server_requests: false,
        virtual_server: None,
        elicitation: false,
    };
    codec.mint(&claims, [5; 24]).expect("a token")
}

fn filter_plugin() -> Rc<Plugin> {
    let config = json!({
        "broker": {"authority": "broker.mcp.internal"},
        "servers": [
            {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal"},
            {"name": "beta", "prefix": "beta_", "authority": "beta.mcp.internal"}
        ],
        "session": {"keys": [support::KEY]}
    });
    let mut root = RecordingRoot::default();
    Rc::new(Plugin::configure(&mut root, config.to_string().as_bytes()).expect("the filter config"))
}

fn through_filter(plugin: &Rc<Plugin>, row: &Row) -> Outcome {
    let len = row.body.len().to_string();
    let mut headers: Vec<(&str, &str)> =
        vec![(":method", "POST"), (":path", "/mcp"), (":authority", "gateway.example"), ("content-type", "application/json"), ("content-length", &len)];
    headers.extend(row.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut host = RecordingHost::request(&headers, row.body.as_bytes());
    // The recording host's clock: the token must be valid at it too.
    host.now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    drive(plugin, &mut host);
    match &host.local_reply {
        Some((status, body)) => answered(*status as u16, body),
        None => Outcome::Forwarded,
    }
}

fn answered(status: u16, body: &[u8]) -> Outcome {
    let msg: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    Outcome::Answered(status, msg.pointer("/error/code").and_then(Value::as_i64), msg.get("id").cloned().unwrap_or(Value::Null))
}

struct Broker {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn broker() -> Broker {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("session.key"), support::KEY).expect("the key file");
    // Servers that are not running: a forwarded request fails as "unavailable", at once.
    let down = format!("http://127.0.0.1:{}/mcp", support::free_port());
    let yaml = format!(
        "session:\n  key_file: session.key\nservers:\n  - {{name: alpha, url: '{down}', prefix: alpha_, timeout_ms: 2000}}\n  - {{name: beta, url: '{down}', prefix: beta_, timeout_ms: 2000}}\n"
    );
    let config = mcpgw_broker::config::parse(&yaml).expect("the broker config");
    let rt = mcpgw_broker::config::build(config, 1, Some(dir.path())).expect("the broker runtime");
    Broker { router: mcpgw_broker::http::router(mcpgw_broker::App::new(rt, None)), _dir: dir }
}

async fn through_broker(broker: &Broker, row: &Row) -> Outcome {
    let mut req = Request::post("/mcp")
        .header("host", "broker.mcp.internal")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header(mcpgw_common::broker_auth::HEADER, support::auth());
    for (k, v) in &row.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req.body(Body::from(row.body.clone())).expect("a request");
    let resp = broker.router.clone().oneshot(req).await.expect("the broker answers");
    let status = resp.status().as_u16();
    let body = to_bytes(resp.into_body(), 1 << 20).await.expect("the broker's body");
    answered(status, &body)
}

/// Whether the broker refused a request for a reason `protocol::decide` gives (rather than
/// serving it, or failing to reach a backend).
fn is_protocol_refusal(outcome: &Outcome) -> bool {
    const DECIDED: [i64; 6] = [-32700, -32600, -32602, -32002, -32020, -32022];
    match outcome {
        Outcome::Answered(status, code, _) => *status == 400 || (*status == 404 && *code == Some(-32601)) || code.is_some_and(|c| DECIDED.contains(&c)),
        Outcome::Forwarded => false,
    }
}

#[tokio::test]
async fn the_filter_and_the_broker_decide_alike() {
    let token = token();
    let plugin = filter_plugin();
    let broker = broker();
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for row in rows(&token) {
        let filter = through_filter(&plugin, &row);
        let brokered = through_broker(&broker, &row).await;
        let as_chosen = match row.chosen {
            Chosen::Refused(status, code) => matches!(&brokered, Outcome::Answered(s, Some(c), _) if *s == status && *c == code),
            Chosen::Forwarded => !is_protocol_refusal(&brokered),
        };
        let agree = match &filter {
            Outcome::Answered(..) => filter == brokered,
            Outcome::Forwarded => !is_protocol_refusal(&brokered),
        };
        let verdict = match (as_chosen, agree) {
            (false, _) => "BROKER NOT AS CHOSEN",
            (true, true) => "agree",
            (true, false) => "DIFFER",
        };
        if verdict.chars().next().is_some_and(char::is_uppercase) {
            failures.push(row.name.clone());
        }
        let chosen = match row.chosen {
            Chosen::Refused(s, c) => format!("{s} {c}"),
            Chosen::Forwarded => "forwarded".into(),
        };
        table.push(format!("{:<52} {:<11} filter {:<9} broker {:<8} {verdict}", row.name, chosen, filter.to_string(), brokered.to_string()));
    }
    assert!(failures.is_empty(), "the planes disagree on {failures:?}:\n{}", table.join("\n"));
}
