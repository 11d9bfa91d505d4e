//! Rewrites server-to-client request ids in a backend's SSE response to a routed call.
//!
//! While a backend handles `tools/call` it may ask the client something (elicitation,
//! sampling, roots) as a JSON-RPC request on the call's SSE response. Its id is the backend's
//! own and may collide with another backend's, so it is rewritten to `"<server>:<id>"`
//! ([`mcpgw_common::ids`]); the client's POSTed answer is then routed back to this backend.
//!
//! The response keeps streaming: a chunk that ends on an event boundary and holds no
//! `"method"` key goes on untouched (the common case: progress-free results). Otherwise
//! complete events are forwarded (rewritten where needed) and a trailing partial event is
//! held until its end arrives, up to [`MAX_HELD_EVENT`] bytes; a longer event cannot be a
//! server request worth rewriting (those are small) and is passed through as it comes.

use mcpgw_common::ids::map_server_request_id;
use mcpgw_common::message::{self, Kind};

/// Largest partial event held back while waiting for its end.
pub const MAX_HELD_EVENT: usize = 64 * 1024;

#[derive(Debug)]
pub struct SseIdRewriter {
    server: String,
    pending: Vec<u8>,
    /// Passing an over-long event through until its end.
    passthrough: bool,
}

impl SseIdRewriter {
    pub fn new(server: &str) -> SseIdRewriter {
        SseIdRewriter { server: server.to_string(), pending: Vec::new(), passthrough: false }
    }

    /// Feeds one chunk of the response. `None`: forward the chunk as it is. `Some(bytes)`:
    /// forward `bytes` instead (possibly empty, when all of it is held back).
    pub fn push(&mut self, chunk: &[u8], end_of_stream: bool) -> Option<Vec<u8>> {
        if self.passthrough {
            // No boundary yet: the over-long event goes on as it comes.
            let boundary = first_event_end(chunk)?;
            self.passthrough = false;
            let (head, rest) = chunk.split_at_checked(boundary)?;
            let mut out = head.to_vec();
            match self.push(rest, end_of_stream) {
                Some(more) => out.extend_from_slice(&more),
                None => out.extend_from_slice(rest),
            }
            return Some(out);
        }
        if self.pending.is_empty() && !contains(chunk, b"\"method\"") && (end_of_stream || ends_on_boundary(chunk)) {
            return None;
        }
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(self.pending.len());
        let mut start = 0;
        while let Some(len) = self.pending.get(start..).and_then(first_event_end) {
            let event = self.pending.get(start..start + len).unwrap_or_default();
            self.rewrite_event(event, &mut out);
            start += len;
        }
        let rest = self.pending.split_off(start.min(self.pending.len()));
        self.pending = rest;
        if end_of_stream {
            let tail = std::mem::take(&mut self.pending);
            self.rewrite_event(&tail, &mut out);
        } else if self.pending.len() > MAX_HELD_EVENT {
            out.append(&mut self.pending);
            self.passthrough = true;
        }
        Some(out)
    }

    /// Appends `event` to `out`, with a server request's id rewritten.
    fn rewrite_event(&self, event: &[u8], out: &mut Vec<u8>) {
        match self.rewritten(event) {
            Some(new_event) => out.extend_from_slice(&new_event),
            None => out.extend_from_slice(event),
        }
    }

    fn rewritten(&self, event: &[u8]) -> Option<Vec<u8>> {
        if !contains(event, b"\"method\"") {
            return None;
        }
        let text = std::str::from_utf8(event).ok()?;
        let mut data = String::new();
        let mut data_lines = 0;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("data:") {
                if data_lines > 0 {
                    data.push('\n');
                }
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
                data_lines += 1;
            }
        }
        let msg = message::parse(data.as_bytes()).ok()?;
        if msg.kind != Kind::Request {
            return None;
        }
        let span = msg.id_span()?;
        let mapped = map_server_request_id(&self.server, msg.id_text()?);
        let new_data = message::splice_string(data.as_bytes(), span, &mapped)?;
        // Same fields in the same order; the data lines become one.
        let mut out = Vec::with_capacity(event.len() + mapped.len() + 8);
        let mut wrote_data = false;
        for line in text.lines() {
            if line.starts_with("data:") {
                if !wrote_data {
                    out.extend_from_slice(b"data: ");
                    out.extend_from_slice(&new_data);
                    out.push(b'\n');
                    wrote_data = true;
                }
            } else if !line.is_empty() {
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
        out.push(b'\n');
        Some(out)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn ends_on_boundary(chunk: &[u8]) -> bool {
    chunk.ends_with(b"\n\n") || chunk.ends_with(b"\r\n\r\n") || chunk.ends_with(b"\r\r")
}

/// Length up to and including the blank line that ends the first event in `buf`.
fn first_event_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        match (buf.get(i), buf.get(i + 1), buf.get(i + 2), buf.get(i + 3)) {
            (Some(b'\n'), Some(b'\n'), _, _) => return Some(i + 2),
            (Some(b'\r'), Some(b'\n'), Some(b'\r'), Some(b'\n')) => return Some(i + 4),
            (Some(b'\r'), Some(b'\r'), _, _) => return Some(i + 2),
            _ => i += 1,
        }
    }
    None
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
    fn overlong_events_stream_through() {
        let big = format!("data: {{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"text\":\"{}\",\"method\":1}}}}\n\n", "x".repeat(MAX_HELD_EVENT * 2));
        let bytes = big.as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(16 * 1024).collect();
        assert_eq!(run(&chunks), bytes);
    }
}
