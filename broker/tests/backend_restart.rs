//! Issue 12, part 1: a backend restarts and forgets every session it had. The same gateway
//! session goes on through the broker: the backend's 404 makes the broker open a replacement
//! backend session (kept in its memory) and repeat the request once, on every broker path.

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use support::backend::RmcpServer;
use support::*;

fn call(id: u64, tool: &str, text: &str) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {"text": text}}})
}

fn text_of(msg: &serde_json::Value) -> String {
    msg["result"]["content"][0]["text"].as_str().unwrap_or_else(|| panic!("no result: {msg}")).to_string()
}

#[tokio::test]
async fn a_session_keeps_working_after_its_backend_restarts() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let beta = RmcpServer::start("beta", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000), ("beta", &beta.url, "b_", 5000)]).await;
    let url = broker.url();
    let token = raw_initialize(&url).await;
    let (status, _, msg) = rpc(&url, Some(&token), &[], call(1, "a_echo", "before")).await;
    assert_eq!(status, 200);
    assert!(text_of(&msg).starts_with("alpha:echo:"), "{msg}");

    // A GET stream is open when the restart happens: it is told what was lost.
    let get = http()
        .get(&url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    broker.wait_streams_open(1).await;

    // alpha restarts on the same address, with no memory of its sessions.
    let alpha_url = alpha.url.clone();
    drop(alpha);
    let alpha = RmcpServer::start_at("alpha", &["echo"], &alpha_url).await;
    assert_eq!(alpha.url, alpha_url);

    // The very next call works: the 404 was not processed, so the broker repeats it on a new
    // backend session. The session goes on; the client never sees a 404.
    let (status, _, msg) = rpc(&url, Some(&token), &[], call(2, "a_echo", "after")).await;
    assert_eq!(status, 200, "{msg}");
    assert_eq!(text_of(&msg), r#"alpha:echo:{"text":"after"}"#);
    // Lists, notifications and further calls use the replacement; beta never changed.
    let (status, _, list) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["a_echo", "b_echo"], "{list}");
    assert!(list["result"].get("_meta").is_none(), "no server left out: {list}");
    let (status, _, _) = rpc(&url, Some(&token), &[], json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"})).await;
    assert_eq!(status, 202);
    let (_, _, msg) = rpc(&url, Some(&token), &[], call(4, "b_echo", "beta")).await;
    assert!(text_of(&msg).starts_with("beta:echo:"), "{msg}");
    let (_, _, msg) = rpc(&url, Some(&token), &[], call(5, "a_echo", "again")).await;
    assert!(text_of(&msg).starts_with("alpha:echo:"), "{msg}");
    let metrics = broker.metrics().await;
    assert!(metrics.contains("mcpgw_broker_backend_sessions_renewed_total{server=\"alpha\"} 1\n"), "one replacement for all of it:\n{metrics}");
    assert!(!metrics.contains("backend_sessions_renewed_total{server=\"beta\"}"), "{metrics}");

    // The open GET stream got a warning naming the server and what was lost.
    let mut body = get.bytes_stream();
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("notifications/message") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(found, "no warning on the GET stream: {seen}");
    assert!(seen.contains("\"warning\"") && seen.contains("alpha") && seen.contains("restarted") && seen.contains("lost"), "{seen}");

    // A new GET stream for the session opens on the replacement (no 404 from alpha).
    let get = http().get(&url).header("accept", "text/event-stream").header("mcp-session-id", &token).send().await.unwrap();
    assert_eq!(get.status(), 200);

    // DELETE ends the replacement too.
    let d = http().delete(&url).header("mcp-session-id", &token).send().await.unwrap();
    assert_eq!(d.status(), 200);
    drop(beta);
}

#[tokio::test]
async fn a_broker_restart_opens_the_replacement_again() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let mut broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let url = broker.url();
    let token = raw_initialize(&url).await;
    let alpha_url = alpha.url.clone();
    drop(alpha);
    let _alpha = RmcpServer::start_at("alpha", &["echo"], &alpha_url).await;
    let (_, _, msg) = rpc(&url, Some(&token), &[], call(1, "a_echo", "one")).await;
    assert!(text_of(&msg).starts_with("alpha:echo:"), "{msg}");
    // Backend sessions live in the broker's memory: a new broker process opens another on
    // first use (the filter would have told it the one it learnt; called directly here, it
    // is told none), and the session goes on.
    broker.kill().await;
    broker.spawn().await;
    let (status, _, msg) = rpc(&url, Some(&token), &[], call(2, "a_echo", "two")).await;
    assert_eq!(status, 200, "{msg}");
    assert!(text_of(&msg).starts_with("alpha:echo:"), "{msg}");
    let metrics = broker.metrics().await;
    assert!(metrics.contains("mcpgw_broker_backend_sessions_opened_total{server=\"alpha\"} 1\n"), "{metrics}");
    assert!(!metrics.contains("backend_sessions_renewed_total{server=\"alpha\"}"), "{metrics}");
}

#[tokio::test]
async fn a_stale_backend_session_told_by_the_filter_does_not_replace_the_broker_s_replacement() {
    let alpha = RmcpServer::start("alpha", &["echo"]).await;
    let broker = Broker::start(&[("alpha", &alpha.url, "a_", 5000)]).await;
    let url = broker.url();
    let token = raw_initialize(&url).await;
    let (_, dead) = taught_backend_session(&url, &token, call(1, "a_echo", "one")).await;
    let alpha_url = alpha.url.clone();
    drop(alpha);
    let _alpha = RmcpServer::start_at("alpha", &["echo"], &alpha_url).await;
    // The backend restarted: the next call renews the pair once.
    let (_, live) = taught_backend_session(&url, &token, call(2, "a_echo", "two")).await;
    assert_ne!(live, dead);

    // An Envoy replica that learnt the id before the restart still sends it: the broker keeps
    // its healthy replacement for the request itself, notifications, and what follows.
    let stale = mcpgw_common::backend_session::encode_pair("alpha", &dead);
    let told = [(mcpgw_common::backend_session::HEADER, stale.as_str())];
    let (status, _, msg) = rpc(&url, Some(&token), &told, call(3, "a_echo", "three")).await;
    assert_eq!(status, 200, "{msg}");
    assert!(text_of(&msg).starts_with("alpha:echo:"), "{msg}");
    let (status, _, _) = rpc(&url, Some(&token), &told, json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"})).await;
    assert_eq!(status, 202);
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99, "reason": "test"}});
    let (status, _, _) = rpc(&url, Some(&token), &told, cancel).await;
    assert_eq!(status, 202);
    let get = http()
        .get(&url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &token)
        .header(mcpgw_common::backend_session::HEADER, stale.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    drop(get);
    let (_, still) = taught_backend_session(&url, &token, call(4, "a_echo", "four")).await;
    assert_eq!(still, live);
    let metrics = broker.metrics().await;
    assert!(metrics.contains("mcpgw_broker_backend_sessions_renewed_total{server=\"alpha\"} 1\n"), "no second replacement:\n{metrics}");
}
