//! Rewrites server-to-client request ids in a backend's SSE response to a routed call.
//!
//! While a backend handles `tools/call` it may ask the client something (elicitation,
//! sampling, roots) as a JSON-RPC request on the call's SSE response. Its id is the backend's
//! own and may collide with another backend's, so it is rewritten to `"<server>:<id>"`
//! ([`mcpgw_common::ids`]); the client's POSTed answer is then routed back to this backend.
//!
//! The response keeps streaming. A chunk that ends on an event boundary and holds no
//! `"method"` key goes on untouched without being split (the common case: progress-free
//! results). Otherwise [`mcpgw_common::sse::Splitter`] cuts it into events: a chunk whose
//! events need no rewriting still goes on as it is, rewritten events replace theirs, and a
//! trailing partial event is held until its end, up to [`MAX_HELD_EVENT`] bytes; a longer
//! event cannot be a server request worth rewriting (those are small) and is passed through
//! as it comes. An event the stream cuts off is passed on as it is: no client dispatches it.

use mcpgw_common::ids::{is_gateway_request_id, map_server_request_id};
use mcpgw_common::message::{self, Kind};
use mcpgw_common::sse::{self, Part, Piece, Splitter};

/// Largest partial event held back while waiting for its end.
pub const MAX_HELD_EVENT: usize = 64 * 1024;

#[derive(Debug)]
pub struct SseIdRewriter {
    server: String,
    split: Splitter,
}

/// What goes on in place of a chunk, built as its pieces come.
enum Out {
    /// The chunk's first `n` bytes, unchanged: nothing copied yet.
    Same(usize),
    Owned(Vec<u8>),
}

impl SseIdRewriter {
    pub fn new(server: &str) -> SseIdRewriter {
        SseIdRewriter { server: server.to_string(), split: Splitter::new(MAX_HELD_EVENT) }
    }

    /// Feeds one chunk of the response. `None`: forward the chunk as it is. `Some(bytes)`:
    /// forward `bytes` instead (possibly empty, when all of it is held back).
    pub fn push(&mut self, chunk: &[u8], end_of_stream: bool) -> Option<Vec<u8>> {
        if !has_method_key(chunk) && self.split.skip(chunk, end_of_stream) {
            return None;
        }
        let server = self.server.as_str();
        let mut out = Out::Same(0);
        self.split.push(chunk, end_of_stream, |piece: Piece<'_>| {
            let new = match piece.part {
                Part::Event => rewritten(server, piece.bytes),
                Part::Unended | Part::Overlong => None,
            };
            match (&mut out, new) {
                (Out::Same(n), None) if piece.in_chunk => *n += piece.bytes.len(),
                (Out::Same(n), new) => {
                    let mut v = Vec::with_capacity(chunk.len() + piece.bytes.len() + 64);
                    v.extend_from_slice(chunk.get(..*n).unwrap_or_default());
                    v.extend_from_slice(new.as_deref().unwrap_or(piece.bytes));
                    out = Out::Owned(v);
                }
                (Out::Owned(v), new) => v.extend_from_slice(new.as_deref().unwrap_or(piece.bytes)),
            }
        });
        match out {
            Out::Same(n) if n == chunk.len() => None,
            Out::Same(n) => Some(chunk.get(..n).unwrap_or_default().to_vec()),
            Out::Owned(v) => Some(v),
        }
    }
}

/// `event` with a server request's id rewritten; `None` when it is no server request.
fn rewritten(server: &str, event: &[u8]) -> Option<Vec<u8>> {
    if !has_method_key(event) {
        return None;
    }
    // Text that is not UTF-8 goes on as it is rather than with replacement characters.
    std::str::from_utf8(event).ok()?;
    let data = sse::Event::parse(event)?.data;
    let msg = message::parse(data.as_bytes()).ok()?;
    if msg.kind != Kind::Request {
        return None;
    }
    let span = msg.id_span()?;
    let raw_id = msg.id_text()?;
    // The gateway's own question (the broker's confirmation on a call it relays): its answer
    // goes to the broker, under the id as it is.
    if is_gateway_request_id(raw_id) {
        return None;
    }
    let mapped = map_server_request_id(server, raw_id);
    let new_data = message::splice_string(data.as_bytes(), span, &mapped)?;
    Some(sse::with_data(event, &new_data))
}

/// Whether `bytes` hold the `"method"` key anywhere. This runs over every byte of a routed
/// call's event stream, so it looks for quotes a word at a time and compares the key only
/// where one is: about 3x faster than comparing at every position on text, 1.2x on JSON
/// dense with quotes.
fn has_method_key(bytes: &[u8]) -> bool {
    const KEY: &[u8; 8] = b"\"method\"";
    const LOWS: u64 = u64::from_le_bytes([0x7f; 8]);
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    let mut at = 0;
    for word in bytes.chunks_exact(8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else { break };
        let v = u64::from_le_bytes(word) ^ QUOTES;
        // The high bit of each byte of `v` that is zero (a quote in `word`), and no other:
        // no byte sum carries into the next.
        let mut quotes = !(((v & LOWS) + LOWS) | v | LOWS);
        while quotes != 0 {
            let i = at + (quotes.trailing_zeros() / 8) as usize;
            if bytes.get(i..i + KEY.len()) == Some(KEY) {
                return true;
            }
            quotes &= quotes - 1;
        }
        at += 8;
    }
    bytes.get(at..).is_some_and(|tail| tail.windows(KEY.len()).any(|w| w == KEY))
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const ELICIT: &str = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"elicitation/create\",\"params\":{\"message\":\"ok?\"}}\n\n";
    const PROGRESS: &str = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1}}\n\n";
    const RESULT: &str = "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n";

    fn run(chunks: &[&[u8]]) -> Vec<u8> {
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

    #[test]
    fn the_method_key_is_found_at_any_offset() {
        for before in 0..20 {
            for after in 0..12 {
                let mut s = vec![b'"'; before];
                s.extend_from_slice(b"\"method\"");
                s.extend(vec![b'x'; after]);
                assert!(has_method_key(&s), "{before} {after}");
                for i in before..before + 8 {
                    let mut t = s.clone();
                    t[i] = b'M';
                    assert!(!has_method_key(&t), "{before} {after} {i}");
                }
            }
        }
    }

    #[test]
    fn results_pass_untouched_without_copying() {
        let mut r = SseIdRewriter::new("alpha");
        assert_eq!(r.push(RESULT.as_bytes(), false), None);
    }

    #[test]
    fn server_request_ids_are_namespaced_notifications_are_not() {
        let all = format!("{PROGRESS}{ELICIT}{RESULT}");
        let out = String::from_utf8(run(&[all.as_bytes()])).unwrap();
        assert!(out.contains("\"id\":\"alpha:3\""), "{out}");
        assert!(out.contains("event: message\n"));
        assert!(out.contains(PROGRESS) && out.contains(RESULT));
    }

    #[test]
    fn a_request_over_several_data_lines_stays_one_event() {
        // The JSON holds a line break where it was split: rewritten, it must still be one
        // event whose data is the namespaced request (a raw line break in one `data` line
        // would have cut it in two).
        let split = "data: {\"jsonrpc\":\"2.0\",\"id\":3,\ndata: \"method\":\"roots/list\"}\n\n";
        let out = run(&[split.as_bytes()]);
        let event = mcpgw_common::sse::Event::parse(&out).unwrap();
        let msg: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(msg["id"], "alpha:3");
        assert_eq!(msg["method"], "roots/list");
    }

    #[test]
    fn events_split_anywhere_across_chunks() {
        let all = format!("{ELICIT}{RESULT}");
        let bytes = all.as_bytes();
        for cut in 1..bytes.len() {
            let out = String::from_utf8(run(&[&bytes[..cut], &bytes[cut..]])).unwrap();
            assert!(out.contains("\"id\":\"alpha:3\""), "cut {cut}: {out}");
            assert!(out.ends_with(RESULT), "cut {cut}");
        }
    }

    #[test]
    fn string_ids_and_crlf() {
        let ev = "data: {\"jsonrpc\":\"2.0\",\"id\":\"r-1\",\"method\":\"roots/list\"}\r\n\r\n";
        let out = String::from_utf8(run(&[ev.as_bytes()])).unwrap();
        assert!(out.contains(r#""id":"alpha:\"r-1\"""#), "{out}");
    }

    #[test]
    fn chunks_without_server_requests_pass_uncopied() {
        let mut r = SseIdRewriter::new("alpha");
        assert_eq!(r.push(PROGRESS.as_bytes(), false), None, "a notification has a method, and no id to rewrite");
        assert_eq!(r.push(&RESULT.as_bytes()[..20], false), Some(Vec::new()), "held");
        assert_eq!(r.push(&RESULT.as_bytes()[20..], false), Some(RESULT.as_bytes().to_vec()));
    }

    #[test]
    fn the_same_stream_whatever_the_chunks() {
        let all = format!("{PROGRESS}{ELICIT}event: message\r\ndata: {{\"jsonrpc\":\"2.0\",\"id\":\"x\",\r\ndata: \"method\":\"sampling/createMessage\"}}\r\n\r\n{RESULT}");
        let whole = String::from_utf8(run(&[all.as_bytes()])).unwrap();
        assert!(whole.contains("\"id\":\"alpha:3\"") && whole.contains(r#""id":"alpha:\"x\"""#), "{whole}");
        let events = |s: &str| -> Vec<sse::Event> {
            let mut p = sse::Parser::default();
            p.push(s.as_bytes())
        };
        let bytes = all.as_bytes();
        for a in 0..=bytes.len() {
            for b in (a..=bytes.len()).step_by(7) {
                let out = String::from_utf8(run(&[&bytes[..a], &bytes[a..b], &bytes[b..]])).unwrap();
                assert_eq!(events(&out), events(&whole), "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn cr_line_ends() {
        let ev = "event: message\rdata: {\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"roots/list\"}\r\r";
        let out = String::from_utf8(run(&[ev.as_bytes()])).unwrap();
        assert_eq!(out, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"alpha:5\",\"method\":\"roots/list\"}\n\n");
    }

    #[test]
    fn a_cut_off_event_goes_on_as_it_is() {
        let cut = &ELICIT[..ELICIT.len() - 1];
        assert_eq!(run(&[cut.as_bytes()]), cut.as_bytes(), "no client dispatches it");
    }

    #[test]
    fn overlong_events_end_wherever_the_chunks_are_cut() {
        let big = format!("data: {{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"text\":\"{}\"}}}}\n", "x".repeat(MAX_HELD_EVENT * 2));
        let mut r = SseIdRewriter::new("alpha");
        assert_eq!(r.push(big.as_bytes(), false), None, "too long to hold: it goes on as it is");
        assert_eq!(r.push(b"\n", false), None, "its end, in a chunk of its own");
        let out = String::from_utf8(r.push(ELICIT.as_bytes(), true).unwrap()).unwrap();
        assert!(out.contains("\"id\":\"alpha:3\""), "the next event is read: {out}");
    }

    #[test]
    fn overlong_events_stream_through() {
        let big = format!("data: {{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"text\":\"{}\",\"method\":1}}}}\n\n", "x".repeat(MAX_HELD_EVENT * 2));
        let bytes = big.as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(16 * 1024).collect();
        assert_eq!(run(&chunks), bytes);
    }
}
