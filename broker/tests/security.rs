//! Issue 10, the broker's side: only Envoy (carrying the broker credential, under the
//! authority Envoy's broker route writes) reaches the MCP endpoint; no backend address or
//! connect error reaches a client; a DELETEd session is refused on every path; duplicated MCP
//! headers and oversized names are refused as the filter refuses them.

mod support;

use serde_json::{json, Value};
use support::backend::RmcpServer;
use support::*;

fn init_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
}

/// A client with the given extra default headers (and no broker credential unless given).
fn client_with(headers: &[(&str, &str)]) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    for (k, v) in headers {
        h.append(reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    reqwest::Client::builder().default_headers(h).build().unwrap()
}

/// The same 403 for every refusal: JSON-RPC -32600, "Forbidden", nothing else.
async fn assert_forbidden(resp: reqwest::Response, what: &str) {
    assert_eq!(resp.status().as_u16(), 403, "{what}");
    assert!(resp.headers().get("mcp-session-id").is_none(), "{what}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Forbidden"}}), "{what}");
}

#[tokio::test]
async fn the_mcp_endpoint_answers_only_requests_carrying_the_credential() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let url = broker.url();
    let token = raw_initialize(&url).await;

    let other_key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let wrong = mcpgw_common::broker_auth::credential(&[other_key]).unwrap();
    let mut flipped = auth().into_bytes();
    flipped[20] ^= 1;
    let flipped = String::from_utf8(flipped).unwrap();
    let good = auth();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("no credential", vec![]),
        ("another key's credential", vec![&wrong]),
        ("one bit changed", vec![&flipped]),
        ("the credential twice", vec![&good, &good]),
        ("the session key itself", vec![KEY]),
    ];
    let c = reqwest::Client::new();
    let with = |mut rb: reqwest::RequestBuilder, creds: &[&str]| {
        for v in creds {
            rb = rb.header("x-mcp-gateway-auth", *v);
        }
        rb
    };
    for (what, creds) in &cases {
        let init = c.post(&url).header("content-type", "application/json").body(init_body().to_string());
        assert_forbidden(with(init, creds).send().await.unwrap(), what).await;
        let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
        assert_forbidden(with(c.post(&url).header("mcp-session-id", &token).body(list), creds).send().await.unwrap(), what).await;
        let get = c.get(&url).header("mcp-session-id", &token).header("accept", "text/event-stream");
        assert_forbidden(with(get, creds).send().await.unwrap(), what).await;
        assert_forbidden(with(c.delete(&url).header("mcp-session-id", &token), creds).send().await.unwrap(), what).await;
    }

    // The credential under a foreign authority: a DNS-rebinding page, or a name Envoy never
    // writes (Envoy rewrites the authority to the broker's listen address).
    let port = broker.port;
    for host in ["evil.example", &format!("evil.example:{port}"), &format!("localhost:{port}"), "127.0.0.1", "broker.mcp.internal.evil.example"] {
        let r = http().post(&url).header("host", host).header("content-type", "application/json").body(init_body().to_string()).send().await.unwrap();
        assert_forbidden(r, host).await;
    }

    // The two authorities Envoy may write work, and so does the ordinary request.
    for host in ["broker.mcp.internal", &format!("127.0.0.1:{port}")] {
        let (status, sid, msg) = rpc_with(&client_with(&[("host", host), ("x-mcp-gateway-auth", &good)]), &url, None, &[], init_body()).await;
        assert_eq!(status, 200, "{host}: {msg}");
        assert!(sid.is_some());
    }
    let (status, _, msg) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
    assert_eq!(status, 200);
    assert_eq!(msg["result"]["tools"][0]["name"], "a_echo");
    let get = http().get(&url).header("mcp-session-id", &token).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(get.status().as_u16(), 200);
    drop(get);
    let del = http().delete(&url).header("mcp-session-id", &token).send().await.unwrap();
    assert_eq!(del.status().as_u16(), 200);
}

#[tokio::test]
async fn operational_endpoints_say_nothing_internal_without_the_credential() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let dead_port = free_port();
    let dead = format!("http://127.0.0.1:{dead_port}/mcp");
    let mut broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("dead", &dead, "d_", 2000)]).await;
    raw_initialize(&broker.url()).await;
    let base = broker.base();
    let bare = reqwest::Client::new();

    // Open, and content-free: `up` and probes poll these.
    let r = bare.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "ready\n");
    assert_eq!(bare.get(format!("{base}/healthz")).send().await.unwrap().text().await.unwrap(), "ok\n");
    // RFC 9728 metadata is for clients: public (404 here, as none is configured).
    assert_eq!(bare.get(format!("{base}/.well-known/oauth-protected-resource/mcp")).send().await.unwrap().status().as_u16(), 404);

    // /status without the credential: reachability and counts, no path, URL or error text.
    let text = bare.get(format!("{base}/status")).send().await.unwrap().text().await.unwrap();
    let alpha_port = alpha.url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/mcp");
    for secret in [alpha_port, &dead_port.to_string(), "127.0.0.1", "gateway.yaml", broker.dir.path().to_str().unwrap(), "refused"] {
        assert!(!text.contains(secret), "/status shows {secret:?} without the credential: {text}");
    }
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["redacted"], true);
    let dead_entry = v["servers"].as_array().unwrap().iter().find(|s| s["name"] == "dead").unwrap().clone();
    assert_eq!(dead_entry["reachable"], false, "{v}");
    assert_eq!(dead_entry["last_error_kind"], "connect", "{v}");

    // With it, everything (the operator's view).
    let full = broker.status().await;
    assert_eq!(full["redacted"], false);
    assert!(full["config"]["path"].as_str().unwrap().ends_with("gateway.yaml"), "{full}");
    let dead_full = full["servers"].as_array().unwrap().iter().find(|s| s["name"] == "dead").unwrap().clone();
    assert_eq!(dead_full["url"], dead.as_str());
    assert!(dead_full["last_error"].as_str().unwrap().starts_with("connect"), "{full}");

    // Rotation: a broker whose new key mints still accepts the old key's credential (Envoy
    // may run a config a few seconds older), and the new one.
    let new_key = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    std::fs::write(broker.dir.path().join("session.key"), format!("{new_key}\n{KEY}\n")).unwrap();
    broker.kill().await;
    broker.spawn().await;
    let (status, _, _) = rpc(&broker.url(), None, &[], init_body()).await;
    assert_eq!(status, 200, "the old key's credential");
    let newer = client_with(&[("x-mcp-gateway-auth", &mcpgw_common::broker_auth::credential(&[new_key]).unwrap())]);
    let (status, _, _) = rpc_with(&newer, &broker.url(), None, &[], init_body()).await;
    assert_eq!(status, 200, "the new key's credential");
}

/// Neither the backend's URL, nor its port, nor the OS's words for the failure.
fn assert_says_nothing_internal(what: &str, text: &str, port: u16) {
    for secret in [port.to_string().as_str(), "127.0.0.1", "http://", "onnect", "refused", "error sending", "os error"] {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

#[tokio::test]
async fn backend_addresses_and_connect_errors_stay_out_of_client_answers() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let dead_port = free_port();
    let dead = format!("http://127.0.0.1:{dead_port}/mcp");
    // A member that dies after initialize: its calls fail on connect.
    let gone = RmcpServer::start("gone", &["echo"]).await;
    let gone_port: u16 = gone.url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/mcp").parse().unwrap();
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("dead", &dead, "d_", 2000), ("gone", &gone.url, "g_", 2000)]).await;
    let url = broker.url();

    // initialize: the dead server by name and a stable reason.
    let (status, token, msg) = rpc(&url, None, &[], init_body()).await;
    assert_eq!(status, 200);
    let token = token.unwrap();
    assert_eq!(msg["result"]["_meta"]["dev.mcpgw/unavailable"], json!([{"server": "dead", "reason": "unavailable"}]), "{msg}");
    assert_says_nothing_internal("initialize", &msg.to_string(), dead_port);

    // Lists name it the same way.
    let (_, _, msg) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).await;
    assert_eq!(msg["result"]["_meta"]["dev.mcpgw/unavailable"], json!([{"server": "dead", "reason": "unavailable"}]), "{msg}");
    assert_says_nothing_internal("a list", &msg.to_string(), dead_port);

    // A routed session call to a server that went away.
    drop(gone);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "g_echo", "arguments": {"text": "x"}}});
    let (_, _, msg) = rpc(&url, Some(&token), &[], call).await;
    assert!(msg["error"]["message"].as_str().unwrap().contains("\"gone\""), "{msg}");
    assert_says_nothing_internal("a routed call", &msg.to_string(), gone_port);

    // 2026-07-28: a routed call to the dead server, discovery and a list.
    let call = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "d_echo", "arguments": {"text": "x"}, "_meta": modern_meta()}});
    let (_, _, msg) = rpc(&url, None, &modern_headers("tools/call", Some("d_echo")), call).await;
    assert_eq!(msg["error"]["code"], -32603, "{msg}");
    assert!(msg["error"]["message"].as_str().unwrap().contains("\"dead\""), "{msg}");
    assert_says_nothing_internal("a 2026-07-28 routed call", &msg.to_string(), dead_port);
    let discover = json!({"jsonrpc": "2.0", "id": 5, "method": "server/discover", "params": {"_meta": modern_meta()}});
    let (_, _, msg) = rpc(&url, None, &modern_headers("server/discover", None), discover).await;
    assert!(msg["result"]["_meta"]["dev.mcpgw/unavailable"].as_array().unwrap().contains(&json!({"server": "dead", "reason": "unavailable"})), "{msg}");
    assert_says_nothing_internal("server/discover", &msg.to_string(), dead_port);
    assert_says_nothing_internal("server/discover", &msg.to_string(), gone_port);
    let list = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/list", "params": {"_meta": modern_meta()}});
    let (_, _, msg) = rpc(&url, None, &modern_headers("tools/list", None), list).await;
    assert_says_nothing_internal("a 2026-07-28 list", &msg.to_string(), dead_port);
}

#[tokio::test]
async fn a_deleted_session_is_refused_on_every_path_and_its_backend_sessions_end() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let url = broker.url();
    let token = raw_initialize(&url).await;
    let other = raw_initialize(&url).await;
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "a_echo", "arguments": {"text": "x"}}});
    // The first call opens the session's backend session (initialize opened none).
    let (_, backend_sid) = taught_backend_session(&url, &token, call.clone()).await;
    let (_, _, msg) = rpc(&url, Some(&token), &[], call.clone()).await;
    assert!(msg.get("result").is_some(), "{msg}");

    let r = http().delete(&url).header("mcp-session-id", &token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The backend forgot its session too.
    let (status, _, _) = rpc(&alpha.url, Some(&backend_sid), &[], json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})).await;
    assert_eq!(status, 404);

    let gone = |what: &str, status: u16, msg: &Value| {
        assert_eq!((status, msg["error"]["code"].clone()), (404, json!(-32001)), "{what}: {msg}");
    };
    let (s, _, m) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})).await;
    gone("a list", s, &m);
    let (s, _, m) = rpc(&url, Some(&token), &[], call.clone()).await;
    gone("a routed call", s, &m);
    let (s, _, m) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": 5, "method": "ping"})).await;
    gone("ping", s, &m);
    let (s, _, m) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 3}})).await;
    gone("a notification", s, &m);
    let (s, _, m) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": "alpha:7", "result": {}})).await;
    gone("an answer to a server request", s, &m);
    let r = http().get(&url).header("mcp-session-id", &token).header("accept", "text/event-stream").send().await.unwrap();
    let s = r.status().as_u16();
    gone("a GET stream", s, &r.json().await.unwrap());
    let r = http().delete(&url).header("mcp-session-id", &token).send().await.unwrap();
    let s = r.status().as_u16();
    gone("a second DELETE", s, &r.json().await.unwrap());

    // Another session is untouched.
    let (_, _, msg) = rpc(&url, Some(&other), &[], call).await;
    assert!(msg.get("result").is_some(), "{msg}");
}

#[tokio::test]
async fn duplicated_mcp_headers_and_oversized_names_are_refused() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let url = broker.url();
    let token = raw_initialize(&url).await;
    let other = raw_initialize(&url).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let dup = |what: &str, status: u16, msg: &Value, header: &str| {
        assert_eq!((status, msg["error"]["code"].clone()), (400, json!(-32600)), "{what}: {msg}");
        assert!(msg["error"]["message"].as_str().unwrap().contains(header), "{what}: {msg}");
    };

    // Two session ids (two sessions, or the same one twice), in any case.
    let (s, _, m) = rpc(&url, Some(&token), &[("mcp-session-id", &other)], list.clone()).await;
    dup("two sessions", s, &m, "Mcp-Session-Id");
    let (s, _, m) = rpc(&url, Some(&token), &[("Mcp-Session-Id", &token)], list.clone()).await;
    dup("the same session twice", s, &m, "Mcp-Session-Id");
    let (s, _, m) = rpc(&url, Some(&token), &[("mcp-protocol-version", "2025-11-25"), ("mcp-protocol-version", "2026-07-28")], list.clone()).await;
    dup("two versions", s, &m, "MCP-Protocol-Version");
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "a_echo", "arguments": {"text": "x"}, "_meta": modern_meta()}});
    let mut h = modern_headers("tools/call", Some("a_echo"));
    h.push(("mcp-method", "tools/call"));
    let (s, _, m) = rpc(&url, None, &h, call.clone()).await;
    dup("two methods", s, &m, "Mcp-Method");
    let mut h = modern_headers("tools/call", Some("a_echo"));
    h.push(("mcp-name", "b_other"));
    let (s, _, m) = rpc(&url, None, &h, call.clone()).await;
    dup("two names", s, &m, "Mcp-Name");
    let r = http().get(&url).header("mcp-session-id", &token).header("mcp-session-id", &other).send().await.unwrap();
    dup("GET", r.status().as_u16(), &r.json().await.unwrap(), "Mcp-Session-Id");
    let r = http().delete(&url).header("mcp-session-id", &other).header("mcp-session-id", &token).send().await.unwrap();
    dup("DELETE", r.status().as_u16(), &r.json().await.unwrap(), "Mcp-Session-Id");
    // Neither session was deleted by it.
    let (s, _, _) = rpc(&url, Some(&token), &[], list.clone()).await;
    assert_eq!(s, 200);
    let (s, _, _) = rpc(&url, Some(&other), &[], list).await;
    assert_eq!(s, 200);

    // Bounds shared with the filter: names 128 characters, URIs 2048 bytes (-32602), methods
    // 128 bytes (-32600); the value is never echoed.
    let long_name = format!("a_{}", "x".repeat(200));
    let (s, _, m) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": long_name, "arguments": {}}})).await;
    assert_eq!((s, m["error"]["code"].clone()), (200, json!(-32602)), "{m}");
    assert!(!m.to_string().contains(&long_name));
    let modern_call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": long_name, "arguments": {}, "_meta": modern_meta()}});
    let (s, _, m) = rpc(&url, None, &modern_headers("tools/call", Some(&long_name)), modern_call).await;
    assert_eq!((s, m["error"]["code"].clone()), (400, json!(-32602)), "{m}");
    let long_uri = format!("alpha+file:///{}", "u".repeat(3000));
    let (s, _, m) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": 6, "method": "resources/read", "params": {"uri": long_uri}})).await;
    assert_eq!((s, m["error"]["code"].clone()), (200, json!(-32602)), "{m}");
    assert!(!m.to_string().contains(&long_uri));
    let long_method = "m".repeat(200);
    let (s, _, m) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": 7, "method": long_method})).await;
    assert_eq!((s, m["error"]["code"].clone()), (400, json!(-32600)), "{m}");
    assert!(!m.to_string().contains(&long_method));
}
