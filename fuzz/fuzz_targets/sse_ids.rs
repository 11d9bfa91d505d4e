//! Fuzzes the SSE id rewriter on routed-call responses, and the SSE parser in common under
//! it: arbitrary bytes cut into arbitrary chunks. Invariants: never panics; a stream without
//! any `"method"` key comes out of the rewriter byte-identical, however it is chunked; what
//! clients parse from the rewriter's output does not depend on the chunks; the splitter hands
//! back every byte in order, holds no more than its bound and finds the same events however
//! the stream is cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_common::sse::{Event, Parser, Part, Splitter};
use mcpgw_filter::sse_ids::{SseIdRewriter, MAX_HELD_EVENT};

fn rewrite(chunks: &[&[u8]]) -> Vec<u8> {
    let mut r = SseIdRewriter::new("alpha");
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        match r.push(c, i + 1 == chunks.len()) {
            Some(b) => out.extend_from_slice(&b),
            None => out.extend_from_slice(c),
        }
    }
    out
}

fn events(stream: &[u8]) -> Vec<Event> {
    Parser::default().push(stream)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, stream)) = data.split_first() else { return };
    let step = usize::from(cuts % 64) + 1;
    let chunks: Vec<&[u8]> = stream.chunks(step).collect();

    let out = rewrite(&chunks);
    if !stream.windows(8).any(|w| w == b"\"method\"") {
        assert_eq!(out, stream, "streams without server requests pass unchanged");
    }
    if stream.len() <= MAX_HELD_EVENT {
        // Nothing is too long to hold, so every event is read whatever the chunks.
        assert_eq!(events(&out), events(&rewrite(&[stream])), "the chunks change what clients see");
    }

    // A small bound, so that over-long events are exercised too.
    let bound = usize::from(cuts / 64) * 16 + 8;
    let mut split = Splitter::new(bound);
    let mut bytes = Vec::new();
    let mut held_events = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        split.push(c, i + 1 == chunks.len(), |p| {
            bytes.extend_from_slice(p.bytes);
            if p.part == Part::Event {
                held_events.extend(Event::parse(p.bytes));
            }
        });
    }
    assert_eq!(bytes, stream, "every byte comes back, in order");
    if stream.len() <= bound {
        assert_eq!(held_events, events(stream), "the same events whatever the chunks");
    }
    let mut parser = Parser::default();
    let chunked: Vec<Event> = chunks.iter().flat_map(|c| parser.push(c)).collect();
    assert_eq!(chunked, events(stream), "the same events whatever the chunks");
});
