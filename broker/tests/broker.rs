//! The broker against real MCP servers (rmcp servers, npm server-everything), driven by the
//! official rmcp client and by raw HTTP where headers matter.

mod support;

use std::time::Duration;

use rmcp::model::CallToolRequestParams;
use serde_json::json;
use support::backend::RmcpServer;
use support::*;

fn text_of(r: &rmcp::model::CallToolResult) -> String {
    serde_json::to_value(&r.content).unwrap()[0]["text"].as_str().unwrap_or_default().to_string()
}

async fn call(c: &rmcp::service::RunningService<rmcp::RoleClient, ()>, name: &str) -> String {
    let args = json!({"text": "hi"}).as_object().cloned().unwrap();
    text_of(&c.call_tool(CallToolRequestParams::new(name.to_string()).with_arguments(args)).await.unwrap())
}

#[tokio::test]
async fn prefixed_lists_from_servers_with_clashing_names() {
    let alpha = RmcpServer::start("alpha", &["echo", "add"]).await;
    let beta = RmcpServer::start("beta", &["echo", "add"]).await;
    let everything = Everything::start().await;
    let mut servers = vec![("alpha", alpha.url.as_str(), "a_", 5000), ("beta", beta.url.as_str(), "b_", 5000)];
    if let Some(e) = &everything {
        servers.push(("everything", e.url.as_str(), "ev_", 10000));
    }
    let broker = Broker::start(&servers).await;
    let c = client(&broker.url()).await;

    let tools = c.list_all_tools().await.unwrap();
    let names = tool_names(&c).await;
    for n in ["a_add", "a_echo", "b_add", "b_echo"] {
        assert!(names.contains(&n.to_string()), "{names:?}");
    }
    if everything.is_some() {
        assert!(names.contains(&"ev_echo".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n == "echo"), "unprefixed name leaked: {names:?}");
    }
    // Every field the backend sent survives.
    let a_echo = tools.iter().find(|t| t.name == "a_echo").unwrap();
    assert!(a_echo.output_schema.is_some());
    assert_eq!(a_echo.annotations.as_ref().and_then(|a| a.read_only_hint), Some(true));
    // Calls reach the owning server with its own name (the broker routes them when it is
    // called without the filter).
    assert_eq!(call(&c, "a_echo").await, r#"alpha:echo:{"text":"hi"}"#);
    assert_eq!(call(&c, "b_echo").await, r#"beta:echo:{"text":"hi"}"#);
    if everything.is_some() {
        let args = json!({"message": "hello everything"}).as_object().cloned().unwrap();
        let r = c.call_tool(CallToolRequestParams::new("ev_echo").with_arguments(args)).await.unwrap();
        assert!(text_of(&r).contains("hello everything"), "{r:?}");
    }
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn failed_backend_is_left_out_and_reported() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let dead = format!("http://127.0.0.1:{}/mcp", free_port());
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("dead", &dead, "d_", 2000)]).await;
    let c = client(&broker.url()).await;
    assert_eq!(tool_names(&c).await, vec!["a_echo"]);
    assert_eq!(call(&c, "a_echo").await, r#"alpha:echo:{"text":"hi"}"#);

    let token = raw_initialize(&broker.url()).await;
    let (_, _, msg) = rpc(&broker.url(), Some(&token), &[], json!({"jsonrpc":"2.0","id":2,"method":"tools/list"})).await;
    let unavailable = &msg["result"]["_meta"]["dev.mcpgw/unavailable"];
    assert_eq!(unavailable[0]["server"], "dead", "{msg}");

    let status = broker.status().await;
    let dead_status = status["servers"].as_array().unwrap().iter().find(|s| s["name"] == "dead").unwrap().clone();
    assert_eq!(dead_status["reachable"], false, "{status}");
    assert!(dead_status["last_error"].as_str().unwrap().starts_with("connect"), "{status}");
    assert!(broker.metrics().await.contains(r#"mcpgw_broker_backend_errors_total{server="dead",kind="connect"}"#));
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn slow_backend_is_bounded_by_its_timeout() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    // Its tools/list takes 60 s; its timeout is 500 ms.
    let slow = RmcpServer::start_with_delay("slow", &["echo"], Duration::from_secs(60)).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("slow", &slow.url, "s_", 500)]).await;
    let token = raw_initialize(&broker.url()).await;
    let (_, _, msg) = rpc(&broker.url(), Some(&token), &[], json!({"jsonrpc":"2.0","id":2,"method":"tools/list"})).await;
    let tools: Vec<&str> = msg["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tools, vec!["a_echo"]);
    assert_eq!(msg["result"]["_meta"]["dev.mcpgw/unavailable"][0], json!({"server": "slow", "reason": "timeout"}), "{msg}");
}

#[tokio::test]
async fn delete_ends_the_gateway_session_and_backend_sessions() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let token = raw_initialize(&broker.url()).await;
    // The backend's own session id, opened by the session's first call.
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "a_echo", "arguments": {"text": "x"}}});
    let (_, backend_sid) = taught_backend_session(&broker.url(), &token, call).await;
    let list = json!({"jsonrpc":"2.0","id":3,"method":"tools/list"});
    let (status, _, _) = rpc(&alpha.url, Some(&backend_sid), &[], list.clone()).await;
    assert_eq!(status, 200);

    let r = http().delete(broker.url()).header("mcp-session-id", &token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, _, _) = rpc(&alpha.url, Some(&backend_sid), &[], list.clone()).await;
    assert_eq!(status, 404, "the backend session should be gone");
    let (status, _, msg) = rpc(&broker.url(), Some(&token), &[], list).await;
    assert_eq!(status, 404);
    assert_eq!(msg["error"]["code"], -32001);
}

#[tokio::test]
async fn tampered_and_missing_sessions_are_refused() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let token = raw_initialize(&broker.url()).await;
    let mut bad = token.clone().into_bytes();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    let list = json!({"jsonrpc":"2.0","id":3,"method":"tools/list"});
    let (status, _, msg) = rpc(&broker.url(), Some(std::str::from_utf8(&bad).unwrap()), &[], list.clone()).await;
    assert_eq!((status, msg["error"]["code"].clone()), (404, json!(-32001)));
    let (status, _, _) = rpc(&broker.url(), None, &[], list).await;
    assert_eq!(status, 400);
    let (status, _, msg) = rpc(&broker.url(), Some(&token), &[], json!({"jsonrpc":"2.0","id":4,"method":"no/such"})).await;
    assert_eq!((status, msg["error"]["code"].clone()), (200, json!(-32601)));
    let (status, _, msg) = rpc(&broker.url(), Some(&token), &[], json!({"jsonrpc":"2.0","id":5,"method":"ping"})).await;
    assert_eq!((status, msg["result"].clone()), (200, json!({})));
    let r = http().post(broker.url()).body("{not json").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], -32700);
}

#[tokio::test]
async fn operational_endpoints() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let mut broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let base = broker.base();
    let get = |p: &str| reqwest::get(format!("{base}{p}"));
    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/.well-known/oauth-protected-resource").await.unwrap().status().as_u16(), 404);
    assert_eq!(get("/elsewhere").await.unwrap().status().as_u16(), 404);

    // RFC 9728 metadata from the config, at the root and under the endpoint's path.
    let yaml = config_yaml(broker.port, &[("alpha", &alpha.url, "a_", 5000)])
        + "oauth:\n  resource: https://gw.example/mcp\n  authorization_servers: [https://auth.example]\n  scopes_supported: [mcp]\n";
    broker.write_config(&yaml);
    broker.kill().await;
    broker.spawn().await;
    let base = broker.base();
    for p in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] {
        let v: serde_json::Value = reqwest::get(format!("{base}{p}")).await.unwrap().json().await.unwrap();
        assert_eq!(v["resource"], "https://gw.example/mcp");
        assert_eq!(v["authorization_servers"], json!(["https://auth.example"]));
    }
    let c = client(&broker.url()).await;
    tool_names(&c).await;
    let status = broker.status().await;
    assert_eq!(status["servers"][0]["tool_count"], 1, "{status}");
    assert_eq!(status["servers"][0]["prefix"], "a_");
    let metrics = broker.metrics().await;
    assert!(metrics.contains(r#"mcpgw_broker_requests_total{method="tools/list"}"#), "{metrics}");
    assert!(metrics.contains("mcpgw_broker_sessions_minted_total 1"), "{metrics}");
    assert!(metrics.contains(r#"mcpgw_broker_backend_latency_seconds_count{server="alpha",method="initialize"}"#), "{metrics}");
    c.cancel().await.unwrap();
}
