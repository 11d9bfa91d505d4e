//! Fan-out cost of the broker: `initialize` and `tools/list` (cached and uncached) across 1,
//! 10 and 50 real rmcp backends of 20 tools each, all in this process on 127.0.0.1.
//!
//! `cargo bench -p mcpgw-broker --bench fanout`

#[path = "../tests/support/backend.rs"]
#[allow(dead_code)]
mod backend;

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::{json, Value};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct Gateway {
    url: String,
}

async fn broker(servers: &[backend::RmcpServer], cache_ttl_ms: u64) -> Gateway {
    std::env::set_var("MCPGW_BENCH_KEY", KEY);
    let mut yaml = format!("session: {{key_env: MCPGW_BENCH_KEY}}\nlimits: {{list_cache_ttl_ms: {cache_ttl_ms}, list_page_size: 5000}}\nservers:\n");
    for (i, s) in servers.iter().enumerate() {
        yaml.push_str(&format!("  - {{name: s{i}, url: '{}', prefix: s{i}_, timeout_ms: 10000}}\n", s.url));
    }
    let rt = mcpgw_broker::config::build(mcpgw_broker::config::parse(&yaml).unwrap(), 1, None).unwrap();
    let app = mcpgw_broker::App::new(rt, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move { axum::serve(listener, mcpgw_broker::http::router(app)).await });
    Gateway { url }
}

/// Sends one request and reads the whole answer as bytes (the client's JSON parsing is not
/// the broker's cost).
async fn post(http: &reqwest::Client, url: &str, session: Option<&str>, body: &Value) -> (Option<String>, bytes::Bytes) {
    let mut req = http.post(url).header("content-type", "application/json").header("accept", "application/json, text/event-stream");
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    let resp = req.body(body.to_string()).send().await.unwrap();
    let sid = resp.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_string());
    (sid, resp.bytes().await.unwrap())
}

fn init_body() -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}})
}

fn fanout(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tools: Vec<String> = (0..20).map(|i| format!("tool{i}")).collect();
    let tool_refs: Vec<&str> = tools.iter().map(String::as_str).collect();
    let http = reqwest::Client::new();
    let mut group = c.benchmark_group("broker");
    group.sample_size(20);
    group.measurement_time(std::time::Duration::from_secs(5));
    for n in [1usize, 10, 50] {
        let (servers, cached, uncached, token_c, token_u) = rt.block_on(async {
            let mut servers = Vec::new();
            for i in 0..n {
                servers.push(backend::RmcpServer::start(&format!("s{i}"), &tool_refs).await);
            }
            let cached = broker(&servers, 600_000).await;
            let uncached = broker(&servers, 0).await;
            let (tc, _) = post(&http, &cached.url, None, &init_body()).await;
            let (tu, _) = post(&http, &uncached.url, None, &init_body()).await;
            (servers, cached, uncached, tc.unwrap(), tu.unwrap())
        });
        let list = json!({"jsonrpc":"2.0","id":2,"method":"tools/list"});
        // Check the setup once: every backend's tools are listed.
        let (_, raw) = rt.block_on(post(&http, &cached.url, Some(&token_c), &list));
        let v: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(v["result"]["tools"].as_array().unwrap().len(), n * 20);

        let init = init_body();
        group.bench_with_input(BenchmarkId::new("initialize", n), &n, |b, _| {
            b.to_async(&rt).iter(|| post(&http, &uncached.url, None, &init));
        });
        group.bench_with_input(BenchmarkId::new("tools_list_uncached", n), &n, |b, _| {
            b.to_async(&rt).iter(|| post(&http, &uncached.url, Some(&token_u), &list));
        });
        group.bench_with_input(BenchmarkId::new("tools_list_cached", n), &n, |b, _| {
            b.to_async(&rt).iter(|| post(&http, &cached.url, Some(&token_c), &list));
        });
        drop(Arc::new(servers));
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
