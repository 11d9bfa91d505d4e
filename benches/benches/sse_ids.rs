//! What the filter's SSE id rewriter costs on a routed call's `text/event-stream` response,
//! per response, natively (the rewriter sees every response chunk of such a call).
//!
//! - `result_one_chunk`: the common case, one chunk holding one `message` event with the
//!   result: it must go on untouched, without a copy.
//! - `result_split_1k`: the same response cut into 1 KiB chunks, so events cross chunk
//!   boundaries and partial events are held (past 64 KiB: streamed through).
//! - `with_server_request`: progress notifications, an elicitation request whose id is
//!   namespaced, then the result, in one chunk: the rewriting path.
//!
//! Sizes: 300 B, 4 KiB and 256 KiB results. Run: `cargo bench -p mcpgw-benches --bench sse_ids`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mcpgw_filter::sse_ids::SseIdRewriter;

const SIZES: [(usize, &str); 3] = [(300, "300B"), (4 * 1024, "4KiB"), (256 * 1024, "256KiB")];

/// A `message` event carrying a `tools/call` result of about `size` bytes.
fn result_event(size: usize) -> Vec<u8> {
    let text = "lorem ipsum ".repeat(size / 12 + 1);
    let result = serde_json::json!({"jsonrpc": "2.0", "id": 4711, "result": {"content": [{"type": "text", "text": text}]}});
    format!("event: message\ndata: {result}\n\n").into_bytes()
}

fn with_server_request(size: usize) -> Vec<u8> {
    let mut s = Vec::new();
    for p in 0..3 {
        let n = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "p-1", "progress": p}});
        s.extend_from_slice(format!("event: message\ndata: {n}\n\n").as_bytes());
    }
    let ask = serde_json::json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create", "params": {"message": "Proceed?", "requestedSchema": {"type": "object", "properties": {}}}});
    s.extend_from_slice(format!("id: 17\nevent: message\ndata: {ask}\n\n").as_bytes());
    s.extend_from_slice(&result_event(size));
    s
}

/// Feeds `chunks` as one response and returns what goes on to the client (its length).
fn run(chunks: &[&[u8]]) -> usize {
    let mut r = SseIdRewriter::new("srv7");
    let mut sent = 0;
    for (i, c) in chunks.iter().enumerate() {
        sent += match r.push(black_box(c), i + 1 == chunks.len()) {
            Some(out) => out.len(),
            None => c.len(),
        };
    }
    sent
}

fn sse(c: &mut Criterion) {
    let mut g = c.benchmark_group("sse_ids");
    for (size, label) in SIZES {
        let whole = result_event(size);
        g.throughput(Throughput::Bytes(whole.len() as u64));
        g.bench_with_input(BenchmarkId::new("result_one_chunk", label), &whole, |b, s| b.iter(|| run(&[s])));
        let split: Vec<&[u8]> = whole.chunks(1024).collect();
        g.bench_with_input(BenchmarkId::new("result_split_1k", label), &split, |b, s| b.iter(|| run(s)));
        let asks = with_server_request(size);
        g.throughput(Throughput::Bytes(asks.len() as u64));
        g.bench_with_input(BenchmarkId::new("with_server_request", label), &asks, |b, s| b.iter(|| run(&[s])));
    }
    g.finish();
}

criterion_group!(benches, sse);
criterion_main!(benches);
