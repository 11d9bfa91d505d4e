//! Hot reload, broken configs, notifications and restart survival, with the broker binary
//! as a child process and the official rmcp client.

mod support;

use rmcp::model::CallToolRequestParams;
use serde_json::json;
use support::backend::RmcpServer;
use support::*;

#[tokio::test]
async fn list_changed_from_a_backend_reaches_the_client_stream() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let (c, mut events) = watching_client(&broker.url()).await;
    assert_eq!(tool_names(&c).await, vec!["a_echo"]);
    // The session uses alpha (initialize and a cached list open no backend session): its
    // backend session's GET stream joins the client's, open since initialize.
    broker.wait_streams_open(1).await;
    let args = json!({"text": "x"}).as_object().cloned().unwrap();
    c.call_tool(CallToolRequestParams::new("a_echo").with_arguments(args)).await.unwrap();
    // Give the client's GET stream a moment to be fanned in (bounded retries, no timing
    // assertion): notify until the client hears it.
    let mut heard = false;
    for i in 0..20 {
        alpha.add_tool_and_notify(&format!("new{i}")).await;
        if tokio::time::timeout(std::time::Duration::from_millis(500), events.recv()).await.is_ok() {
            heard = true;
            break;
        }
    }
    assert!(heard, "the backend's list_changed never reached the client");
    // The cached list was invalidated by that notification.
    let names = tool_names(&c).await;
    assert!(names.iter().any(|n| n.starts_with("a_new")), "{names:?}");
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn hot_reload_adds_and_removes_servers() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let beta = RmcpServer::start("beta", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let (old, mut events) = watching_client(&broker.url()).await;
    assert_eq!(tool_names(&old).await, vec!["a_echo"]);
    broker.wait_streams_open(1).await;

    broker.write_config(&config_yaml(broker.port, &[("alpha", &alpha.url, "a_", 5000), ("beta", &beta.url, "b_", 5000)]));
    broker.wait_generation(2).await;
    assert_eq!(next_event(&mut events).await, "tools/list_changed");
    let fresh = client(&broker.url()).await;
    assert_eq!(tool_names(&fresh).await, vec!["a_echo", "b_echo"]);
    let args = json!({"text": "x"}).as_object().cloned().unwrap();
    let r = fresh.call_tool(CallToolRequestParams::new("b_echo").with_arguments(args)).await.unwrap();
    assert!(format!("{:?}", r.content).contains("beta:echo"));

    broker.write_config(&config_yaml(broker.port, &[("beta", &beta.url, "b_", 5000)]));
    broker.wait_generation(3).await;
    assert_eq!(tool_names(&fresh).await, vec!["b_echo"]);
    // A session has no fixed set of servers (backend sessions are opened on first use): the
    // old session sees beta too.
    assert_eq!(tool_names(&old).await, vec!["b_echo"], "the old session sees the servers in force");
    old.cancel().await.unwrap();
    fresh.cancel().await.unwrap();
}

#[tokio::test]
async fn broken_config_is_rejected_and_the_last_good_one_stays() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let c = client(&broker.url()).await;

    broker.write_config("servers: [ {name: alpha, url: \n");
    let mut status = broker.status().await;
    for _ in 0..100 {
        if !status["config"]["load_error"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = broker.status().await;
    }
    assert!(status["config"]["load_error"].as_str().unwrap().contains("invalid YAML"), "{status}");
    assert_eq!(status["config"]["generation"], 1);
    assert_eq!(tool_names(&c).await, vec!["a_echo"]);

    // Valid YAML, invalid meaning: two servers with one prefix.
    let yaml = config_yaml(broker.port, &[("alpha", &alpha.url, "a_", 5000), ("other", &alpha.url, "a_", 5000)]);
    broker.write_config(&yaml);
    for _ in 0..100 {
        status = broker.status().await;
        if status["config"]["load_error"].as_str().is_some_and(|e| e.contains("share the prefix")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(status["config"]["load_error"].as_str().unwrap().contains("share the prefix"), "{status}");
    assert_eq!(status["config"]["generation"], 1);
    assert!(broker.metrics().await.contains(r#"mcpgw_broker_config_reloads_total{result="error"}"#));
    assert_eq!(tool_names(&c).await, vec!["a_echo"]);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn a_session_survives_a_broker_restart() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let beta = RmcpServer::start("beta", &["echo"]).await;
    let mut broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("beta", &beta.url, "b_", 5000)]).await;
    let c = client(&broker.url()).await;
    assert_eq!(tool_names(&c).await, vec!["a_echo", "b_echo"]);

    broker.kill().await;
    broker.spawn().await;

    // Same client, same session: lists and calls work, and the new broker minted nothing.
    assert_eq!(tool_names(&c).await, vec!["a_echo", "b_echo"]);
    let args = json!({"text": "after"}).as_object().cloned().unwrap();
    let r = c.call_tool(CallToolRequestParams::new("b_echo").with_arguments(args)).await.unwrap();
    assert!(format!("{:?}", r.content).contains(r#"beta:echo:{\"text\":\"after\"}"#), "{r:?}");
    let metrics = broker.metrics().await;
    assert!(metrics.contains("mcpgw_broker_sessions_minted_total 0"), "{metrics}");
    c.cancel().await.unwrap();
}

/// 10,000 live sessions cost the broker no memory per session (all state is in the tokens).
/// Ignored by default (about 10 s); run with `--ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn ten_thousand_sessions_do_not_grow_the_broker() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let mut tokens = Vec::new();
    for _ in 0..2_000 {
        tokens.push(raw_initialize(&broker.url()).await);
    }
    let warm = broker.rss_kib();
    for _ in 0..8_000 {
        tokens.push(raw_initialize(&broker.url()).await);
    }
    let after = broker.rss_kib();
    // Every session still works.
    let list = json!({"jsonrpc":"2.0","id":2,"method":"tools/list"});
    for t in [&tokens[0], &tokens[5_000], &tokens[9_999]] {
        let (status, _, _) = rpc(&broker.url(), Some(t), &[], list.clone()).await;
        assert_eq!(status, 200);
    }
    eprintln!("broker RSS: {warm} KiB after 2,000 sessions, {after} KiB after 10,000");
    assert!(after.saturating_sub(warm) < 4 * 1024, "grew {} KiB over 8,000 sessions", after - warm);
}
