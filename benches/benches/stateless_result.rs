//! What completing a 2026-07-28 result costs (`mcpgw_common::protocol::stateless_result`), per
//! answer, natively: the broker and the filter run it on a backend's answer until the server is
//! seen answering complete, then no more.
//!
//! - `compliant`: the answer already has `resultType`: one read, no copy (the no-op path).
//! - `bare`: the answer lacks it: one read and one copy with the key spliced in.
//!
//! Sizes: 4 KiB and 256 KiB `tools/call` results. Run:
//! `cargo bench -p mcpgw-benches --bench stateless_result`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mcpgw_common::protocol::stateless_result::complete;
use mcpgw_common::protocol::Method;

const SIZES: [(usize, &str); 2] = [(4 * 1024, "4KiB"), (256 * 1024, "256KiB")];

/// A `tools/call` answer of about `size` bytes, with or without `resultType`.
fn answer(size: usize, compliant: bool) -> Vec<u8> {
    let text = "lorem \"ipsum\" ".repeat(size / 16 + 1);
    let mut result = serde_json::json!({"content": [{"type": "text", "text": text}], "isError": false});
    if compliant {
        result["resultType"] = "complete".into();
    }
    serde_json::json!({"jsonrpc": "2.0", "id": 4711, "result": result}).to_string().into_bytes()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("stateless_result");
    for (size, label) in SIZES {
        for (kind, compliant) in [("compliant", true), ("bare", false)] {
            let body = answer(size, compliant);
            assert_eq!(complete(&body, Method::ToolsCall).is_none(), compliant);
            g.throughput(Throughput::Bytes(body.len() as u64));
            g.bench_with_input(BenchmarkId::new(kind, label), &body, |b, body| {
                b.iter(|| complete(black_box(body), Method::ToolsCall).map_or(0, |v| v.len()))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
