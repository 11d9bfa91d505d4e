//! Fuzzes the SSE id rewriter on routed-call responses: arbitrary bytes cut into arbitrary
//! chunks. Invariants: never panics; a stream without any `"method"` key comes out
//! byte-identical, however it is chunked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_filter::sse_ids::SseIdRewriter;

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, stream)) = data.split_first() else { return };
    let step = usize::from(cuts % 64) + 1;
    let mut r = SseIdRewriter::new("alpha");
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = stream.chunks(step).collect();
    for (i, c) in chunks.iter().enumerate() {
        match r.push(c, i + 1 == chunks.len()) {
            Some(b) => out.extend_from_slice(&b),
            None => out.extend_from_slice(c),
        }
    }
    if !stream.windows(8).any(|w| w == b"\"method\"") {
        assert_eq!(out, stream, "streams without server requests pass unchanged");
    }
});
