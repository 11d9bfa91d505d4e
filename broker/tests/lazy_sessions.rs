//! Issue 12, part 2: sessions cost what they use. `initialize` opens no backend session (it is
//! answered from the per-server probe cache); the session's first use of a server opens
//! exactly one, which the broker reuses and tells the filter about.

mod support;

use serde_json::json;
use support::backend::RmcpServer;
use support::*;

fn call(id: u64, tool: &str) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {"text": "x"}}})
}

fn opened(metrics: &str, server: &str) -> u64 {
    let prefix = format!("mcpgw_broker_backend_sessions_opened_total{{server=\"{server}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(prefix.as_str())).map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn initialize_opens_no_backend_session_and_first_use_opens_exactly_one() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let beta = RmcpServer::start("beta", &["echo"]).await;
    let gamma = RmcpServer::start("gamma", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("beta", &beta.url, "b_", 5000), ("gamma", &gamma.url, "g_", 5000)]).await;
    let url = broker.url();

    // Ten sessions: the capabilities still come back (from one probe per server).
    let mut tokens = Vec::new();
    for i in 0..10 {
        let body = json!({"jsonrpc": "2.0", "id": i, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let (status, token, msg) = rpc(&url, None, &[], body).await;
        assert_eq!(status, 200, "{msg}");
        assert!(msg["result"]["capabilities"]["tools"].is_object(), "{msg}");
        assert!(msg["result"].get("_meta").is_none(), "{msg}");
        tokens.push(token.unwrap());
    }
    let metrics = broker.metrics().await;
    for s in ["alpha", "beta", "gamma"] {
        assert_eq!(opened(&metrics, s), 0, "{s}: {metrics}");
    }

    // The first call of a session to alpha opens one backend session; later calls reuse it.
    let (server, first) = taught_backend_session(&url, &tokens[0], call(1, "a_echo")).await;
    assert_eq!(server, "alpha");
    assert!(!first.is_empty());
    for i in 2..5 {
        let (_, again) = taught_backend_session(&url, &tokens[0], call(i, "a_echo")).await;
        assert_eq!(again, first);
    }
    let metrics = broker.metrics().await;
    assert_eq!((opened(&metrics, "alpha"), opened(&metrics, "beta"), opened(&metrics, "gamma")), (1, 0, 0), "{metrics}");

    // Concurrent first uses of another session open one.
    let calls = (0..8).map(|i| taught_backend_session(&url, &tokens[1], call(10 + i, "a_echo")));
    let ids: std::collections::HashSet<String> = futures::future::join_all(calls).await.into_iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(opened(&broker.metrics().await, "alpha"), 2);
}

#[tokio::test]
async fn a_broker_told_the_filters_backend_session_uses_it() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let mut broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let url = broker.url();
    let token = raw_initialize(&url).await;
    let (_, sid) = taught_backend_session(&url, &token, call(1, "a_echo")).await;
    // A restarted broker, told by the filter which backend session the session uses, keeps
    // using it (for calls, lists, GET streams, DELETE) rather than opening another.
    broker.kill().await;
    broker.spawn().await;
    let pair = mcpgw_common::backend_session::encode_pair("alpha", &sid);
    let (status, _, msg) = rpc(&url, Some(&token), &[(mcpgw_common::backend_session::HEADER, pair.as_str())], call(2, "a_echo")).await;
    assert_eq!(status, 200, "{msg}");
    let (_, again) = taught_backend_session(&url, &token, call(3, "a_echo")).await;
    assert_eq!(again, sid);
    assert_eq!(opened(&broker.metrics().await, "alpha"), 0);
}
