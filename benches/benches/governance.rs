//! What governance (issue 16) costs the filter per routed `tools/call`, natively: the whole
//! Stream (headers, body, decision, rewrite, facts) through the recording host, without a
//! session (so that every variant takes the same path), for a 300-byte call to `srv7_search`:
//!
//! - `plain`: no rules;
//! - `visibility`: every server with include/exclude globs and a rename (issue 16 item 1);
//! - `virtual_server`: the call on `/mcp/support`, a virtual server of 20 patterns (item 2);
//! - `access`: three access rules and a verified JWT payload header (item 3);
//! - `all`: the three together.
//!
//! Run: `cargo bench -p mcpgw-benches --bench governance`; figures in benches/README.md.

use std::hint::black_box;

use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use mcpgw_filter::recording_host::{drive, RecordingHost};
use serde_json::json;

fn rules(_: usize) -> serde_json::Value {
    json!({"tools": {"include": ["search*", "get_*", "list_*"], "exclude": ["*_admin"], "overrides": {"get_item": {"name": "item"}}}})
}

fn virtual_servers() -> serde_json::Value {
    let patterns: Vec<String> = (0..20).map(|i| format!("srv{}_tool{i}*", i % 10)).chain(["srv7_search".to_string()]).collect();
    json!([{"name": "support", "tools": patterns}])
}

fn access() -> serde_json::Value {
    json!({
        "identity": {"payload_header": "x-jwt-payload"},
        "access": [
            {"when": {"groups": "admins"}, "tools": ["*"]},
            {"when": {"groups": ["support", "helpdesk"]}, "tools": ["srv1_*", "srv2_*"]},
            {"when": {"realm.roles": "search"}, "tools": ["srv7_search", "srv8_*"]}
        ]
    })
}

fn request(path: &str, payload: Option<&str>, body: &[u8]) -> RecordingHost {
    let len = body.len().to_string();
    let mut headers = vec![
        (":method", "POST"),
        (":path", path),
        (":authority", "gateway.example.com"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("content-length", len.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    if let Some(p) = payload {
        headers.push(("x-jwt-payload", p));
    }
    RecordingHost::request(&headers, body)
}

fn governance(c: &mut Criterion) {
    let body = mcpgw_benches::tools_call(300);
    // A realistic verified payload: issuer, audience, times, subject, groups, nested roles.
    let claims = json!({"iss": "https://idp.example.com/realms/main", "aud": "mcp-gateway", "iat": 1_764_547_200, "exp": 1_764_550_800,
        "sub": "5b0c1d2e-0f3a-4b5c-8d9e-a1b2c3d4e5f6", "email": "alice@example.com", "groups": ["engineering", "support"],
        "realm": {"roles": ["search", "read"]}});
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut all = access();
    all["virtual_servers"] = virtual_servers();
    let variants = [
        ("plain", mcpgw_benches::plugin_with(json!({}), |_| json!({})), "/mcp", None),
        ("visibility", mcpgw_benches::plugin_with(json!({}), rules), "/mcp", None),
        ("virtual_server", mcpgw_benches::plugin_with(json!({"virtual_servers": virtual_servers()}), |_| json!({})), "/mcp/support", None),
        ("access", mcpgw_benches::plugin_with(access(), |_| json!({})), "/mcp", Some(payload.as_str())),
        ("all", mcpgw_benches::plugin_with(all, rules), "/mcp/support", Some(payload.as_str())),
    ];
    let mut g = c.benchmark_group("governance");
    for (name, plugin, path, payload) in variants {
        let Ok(plugin) = plugin else { return };
        let template = request(path, payload, &body);
        // Measure the routed path, not a refusal.
        let mut probe = template.clone();
        drive(&plugin, &mut probe);
        assert!(probe.local_reply.is_none(), "{name}: refused: {:?}", probe.reply_json());
        assert_eq!(probe.header(":authority"), Some("srv7.mcp.internal"), "{name}");
        g.bench_function(name, |b| b.iter_batched_ref(|| template.clone(), |host| drive(&plugin, black_box(host)), criterion::BatchSize::SmallInput));
    }
    g.finish();
}

criterion_group!(benches, governance);
criterion_main!(benches);
