//! The filter's hot path, natively: what one `tools/call` costs the filter's own logic.
//!
//! - `parse`: one-pass JSON-RPC parse and field location.
//! - `route_and_rewrite`: router decision and prefix splice into a new body.
//! - `token_open`: gateway session token decode (base64url + XChaCha20-Poly1305 + postcard).
//! - `full_request`: the whole Stream (headers, token, body, route, rewrite, metadata) through
//!   the recording host, i.e. everything but Envoy's host calls.
//!
//! Sizes: 300 B, 4 KiB and 256 KiB bodies. Run: `cargo bench -p mcpgw-benches`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mcpgw_common::message;
use mcpgw_filter::recording_host::{drive, RecordingHost};
use std::hint::black_box;

const SIZES: [(usize, &str); 3] = [(300, "300B"), (4 * 1024, "4KiB"), (256 * 1024, "256KiB")];

fn hot_path(c: &mut Criterion) {
    let Ok(plugin) = mcpgw_benches::plugin() else { return };
    let Ok(token) = mcpgw_benches::token() else { return };

    let mut g = c.benchmark_group("filter");
    for (size, label) in SIZES {
        let body = mcpgw_benches::tools_call(size);
        g.throughput(Throughput::Bytes(body.len() as u64));

        g.bench_with_input(BenchmarkId::new("parse", label), &body, |b, body| {
            b.iter(|| message::parse(black_box(body)).map(|m| m.kind))
        });

        g.bench_with_input(BenchmarkId::new("route_and_rewrite", label), &body, |b, body| {
            let Ok(msg) = message::parse(body) else { return };
            let Some(name) = msg.name.clone() else { return };
            b.iter(|| {
                let (_, own) = plugin.config.router.route_name(black_box(&name.value))?;
                message::splice_string(body, name.span.clone(), own)
            })
        });

        let len = body.len().to_string();
        let headers = [
            (":method", "POST"),
            (":path", "/mcp"),
            (":authority", "gateway.example.com"),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("content-length", len.as_str()),
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-session-id", token.as_str()),
        ];
        let template = RecordingHost::request(&headers, &body);
        // Measure the routed path, not a refusal: check once that this request is routed.
        let mut probe = template.clone();
        drive(&plugin, &mut probe);
        assert!(probe.local_reply.is_none(), "bench request was refused: {:?}", probe.reply_json());
        assert_eq!(probe.header(":authority"), Some("srv7.mcp.internal"));
        g.bench_with_input(BenchmarkId::new("full_request", label), &template, |b, template| {
            b.iter_batched_ref(
                || template.clone(),
                |host| drive(&plugin, host),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    c.bench_function("filter/token_open", |b| {
        b.iter(|| plugin.config.sessions.open(black_box(&token), 1))
    });
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
