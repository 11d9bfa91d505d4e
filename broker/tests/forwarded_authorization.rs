//! A server with `forward_authorization` may tell each token holder something of its own
//! (capabilities, instructions). The broker's per-server probe cache must not give the first
//! client's answer to everyone: each caller's `initialize` (and `server/discover`) is answered
//! from a probe made with its own `Authorization`.

mod support;

use serde_json::json;
use support::backend::RmcpServer;
use support::*;

fn initialize() -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

async fn instructions_for(url: &str, auth: Option<&str>) -> serde_json::Value {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
    let (status, _, msg) = rpc(url, None, &headers, initialize()).await;
    assert_eq!(status, 200, "{msg}");
    msg["result"].clone()
}

#[tokio::test]
async fn each_client_gets_its_own_view_of_a_forward_authorization_server() {
    let alpha = RmcpServer::start_personal("alpha", &["echo"]).await;
    let beta = RmcpServer::start("beta", &["echo"]).await;
    let broker = Broker::start_with(&[("alpha", &alpha.url, "a_", 5000), ("beta", &beta.url, "b_", 5000)], |yaml| {
        yaml.replacen("    timeout_ms: 5000\n", "    timeout_ms: 5000\n    forward_authorization: true\n", 1)
    })
    .await;
    let url = broker.url();

    let a = instructions_for(&url, Some("Bearer token-a")).await;
    assert!(a["instructions"].as_str().unwrap().contains("[alpha] test server alpha for Bearer token-a"), "{a}");
    let b = instructions_for(&url, Some("Bearer token-b")).await;
    let text = b["instructions"].as_str().unwrap();
    assert!(text.contains("[alpha] test server alpha for Bearer token-b"), "{b}");
    assert!(!text.contains("token-a"), "B was given A's view: {b}");
    // Each again: still its own (from the cache kept for its credential).
    for (auth, own, other) in [("Bearer token-a", "token-a", "token-b"), ("Bearer token-b", "token-b", "token-a")] {
        let r = instructions_for(&url, Some(auth)).await;
        let text = r["instructions"].as_str().unwrap();
        assert!(text.contains(own) && !text.contains(other), "{r}");
        assert!(text.contains("[beta] test server beta"), "{r}");
    }
    // A client without credentials is not given anyone's: the backend refuses it.
    let none = instructions_for(&url, None).await;
    assert!(!none.to_string().contains("token-"), "{none}");
    assert_eq!(none["_meta"]["dev.mcpgw/unavailable"][0]["server"], "alpha", "{none}");

    // The same holds for a 2026-07-28 client's server/discover.
    let mut headers = modern_headers("server/discover", None);
    headers.push(("authorization", "Bearer token-c"));
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "server/discover", "params": {"_meta": modern_meta()}});
    let (status, _, msg) = rpc(&url, None, &headers, body).await;
    assert_eq!(status, 200, "{msg}");
    let text = msg["result"]["instructions"].as_str().unwrap_or_default();
    assert!(text.contains("for Bearer token-c") && !text.contains("token-a") && !text.contains("token-b"), "{msg}");
}
