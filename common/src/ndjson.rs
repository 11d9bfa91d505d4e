//! Newline-delimited JSON (`application/json` streams, `application/x-ndjson`,
//! `application/jsonl`), incrementally and without I/O: the other framing, beside
//! [`crate::sse`], in which MCP servers write a notification stream. The TypeScript SDK's
//! reference server writes a `subscriptions/listen` stream this way (one JSON-RPC message a
//! line, `Content-Type: application/json`), and a plain JSON answer is its degenerate case: one
//! line, perhaps without a line end.
//!
//! Only line splitting lives here; what a line holds (one JSON value) is the reader's business.
//! The rules: a line ends at LF, and a CR right before it belongs to the line end (CRLF);
//! ASCII whitespace around a line is not part of it (JSON allows it anyway), so blank lines
//! carry nothing and are skipped; a last line without a line end counts when the stream ends
//! ([`Lines::finish`]). A line longer than the bound is dropped whole, wherever the chunks cut
//! it (it is never held whole in memory), so what comes out does not depend on chunking.
//!
//! Broker-side only in practice (the filter never reads notification streams), but kept beside
//! the SSE parser, under the same no-panic rules, so that the two framings read alike.

/// Cuts a stream fed chunk by chunk into its non-blank lines, holding at most `limit` bytes of
/// a partial line (see the module docs).
#[derive(Debug)]
pub struct Lines {
    /// The start of a line that has not ended yet.
    held: Vec<u8>,
    limit: usize,
    /// Inside a line past the bound: its bytes are dropped until it ends.
    skipping: bool,
    dropped: u64,
}

impl Default for Lines {
    /// No bound.
    fn default() -> Lines {
        Lines::with_limit(usize::MAX)
    }
}

impl Lines {
    /// A splitter that drops lines longer than `limit` bytes (line end excluded).
    pub fn with_limit(limit: usize) -> Lines {
        Lines { held: Vec::new(), limit, skipping: false, dropped: 0 }
    }

    /// How many lines were dropped for their length so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Feeds one chunk: `f` gets, in order, each non-blank line it completes (trimmed).
    pub fn push(&mut self, chunk: &[u8], mut f: impl FnMut(&[u8])) {
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at_checked(nl).unwrap_or((rest, &[]));
            rest = tail.get(1..).unwrap_or_default();
            if std::mem::take(&mut self.skipping) {
                // The end of a line already dropped.
                continue;
            }
            if self.held.is_empty() {
                self.complete(line, &mut f);
            } else if self.fits(line.len()) {
                let mut whole = std::mem::take(&mut self.held);
                whole.extend_from_slice(line);
                self.complete(&whole, &mut f);
                // Keep a small buffer between lines, never a large one.
                if whole.capacity() <= 4096 {
                    whole.clear();
                    self.held = whole;
                }
            } else {
                self.held = Vec::new();
                self.dropped += 1;
            }
        }
        if self.skipping || rest.is_empty() {
            return;
        }
        if self.fits(rest.len()) {
            self.held.extend_from_slice(rest);
        } else {
            self.held = Vec::new();
            self.skipping = true;
            self.dropped += 1;
        }
    }

    /// The stream ended: `f` gets its last line if that had no line end. The splitter is then
    /// as new (its drop count kept).
    pub fn finish(&mut self, mut f: impl FnMut(&[u8])) {
        let held = std::mem::take(&mut self.held);
        if !std::mem::take(&mut self.skipping) {
            emit(&held, &mut f);
        }
    }

    /// Whether the held bytes plus `more` stay within the bound.
    fn fits(&self, more: usize) -> bool {
        self.held.len().saturating_add(more) <= self.limit
    }

    fn complete(&mut self, line: &[u8], f: &mut impl FnMut(&[u8])) {
        // A line that came whole within one chunk is held to the same bound.
        if line.len() > self.limit {
            self.dropped += 1;
            return;
        }
        emit(line, f);
    }
}

fn emit(line: &[u8], f: &mut impl FnMut(&[u8])) {
    let line = line.trim_ascii();
    if !line.is_empty() {
        f(line);
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    /// Every line of `chunks` fed in order, then the end of the stream.
    fn feed(lines: &mut Lines, chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        for c in chunks {
            lines.push(c, |l| out.push(String::from_utf8_lossy(l).into_owned()));
        }
        lines.finish(|l| out.push(String::from_utf8_lossy(l).into_owned()));
        out
    }

    const STREAM: &[u8] = b"{\"a\":1}\n\r\n  \n{\"b\":2}\r\n\n{\"c\":\r3}\n {\"d\":4} ";

    #[test]
    fn lines_whatever_the_chunking() {
        let want = vec!["{\"a\":1}", "{\"b\":2}", "{\"c\":\r3}", "{\"d\":4}"];
        assert_eq!(feed(&mut Lines::default(), &[STREAM]), want);
        // Every cut into two chunks, and byte by byte.
        for cut in 0..=STREAM.len() {
            let (a, b) = STREAM.split_at(cut);
            assert_eq!(feed(&mut Lines::default(), &[a, b]), want, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(feed(&mut Lines::default(), &bytes), want);
    }

    #[test]
    fn a_plain_json_body_is_one_line() {
        assert_eq!(feed(&mut Lines::default(), &[b"{\"jsonrpc\":\"2.0\",", b"\"id\":1}"]), vec!["{\"jsonrpc\":\"2.0\",\"id\":1}"]);
        assert_eq!(feed(&mut Lines::default(), &[b"{\"id\":1}\n"]), vec!["{\"id\":1}"]);
        assert!(feed(&mut Lines::default(), &[b"", b"\r\n\n  "]).is_empty());
    }

    #[test]
    fn lines_past_the_bound_are_dropped_whole() {
        let long = b"{\"long\":\"0123456789\"}";
        let stream = [&b"{\"a\":1}\n"[..], long, b"\n{\"b\":2}\n", long, b"\n"].concat();
        let want = vec!["{\"a\":1}", "{\"b\":2}"];
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            let mut lines = Lines::with_limit(10);
            assert_eq!(feed(&mut lines, &[a, b]), want, "cut at {cut}");
            assert_eq!(lines.dropped(), 2, "cut at {cut}");
        }
        // Held bytes stay within the bound: a long line is not accumulated.
        let mut lines = Lines::with_limit(10);
        for _ in 0..100 {
            lines.push(b"0123456789", |_| panic!("nothing ends"));
        }
        assert!(lines.held.is_empty());
        assert_eq!(feed(&mut lines, &[b"\n{}\n"]), vec!["{}"]);
        // A cut-off overlong last line is not emitted either.
        let mut lines = Lines::with_limit(4);
        assert!(feed(&mut lines, &[b"{\"x\":1}"]).is_empty());
    }
}
