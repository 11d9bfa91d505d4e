//! Server-sent events (`text/event-stream`), incrementally and without I/O: the one parser
//! the filter (rewriting ids in a backend's stream as it passes) and the broker (reading
//! backend responses and notification streams) share.
//!
//! Three layers, each usable alone:
//!
//! - [`Splitter`]: cuts a stream fed chunk by chunk into the raw bytes of whole events. Every
//!   byte fed comes out in exactly one [`Piece`], in order, so a rewriter can pass untouched
//!   events on byte for byte. A partial event is held until its end, up to a caller's bound;
//!   past it the event streams through as it comes ([`Part::Overlong`]), so memory stays
//!   bounded on the filter's hot path.
//! - [`lines`] and [`field`]: one event's lines and fields, as a rewriter rebuilding an event
//!   needs them.
//! - [`Event::parse`] and [`Parser`]: the fields an event carries, as EventSource dispatches it.
//!
//! What the WHATWG EventSource spec says and this follows: lines end in CRLF, LF or CR; a
//! blank line ends an event; a line starting with `:` is a comment; a line without `:` is a
//! field with an empty value; one space after the colon is dropped; `data` lines join with
//! LF; an event without `data` dispatches nothing; an `id` holding NUL and a `retry` that is
//! not all digits are ignored; an event the stream cuts off is not dispatched. Not done: a
//! byte-order mark at the stream's start is not skipped (MCP servers send none).
//!
//! `id` here is what an event itself sets, not EventSource's running last-event-id: the
//! broker relays each event's own id, and a caller needing the running one keeps it.

/// Where a byte of the stream sits relative to lines and events, carried across chunks.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a line that starts an event: a blank line here ends an (empty) event.
    #[default]
    EventStart,
    /// At the start of a later line of an event: a blank line here ends it.
    LineStart,
    /// Inside a line.
    InLine,
}

/// Finds where events end, one byte of state at a time, holding none of the bytes. The state
/// survives chunk boundaries, so an event's end is found wherever the chunks are cut.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Scanner {
    at: At,
    /// The last byte was a CR: an LF right after it belongs to it (CRLF is one line end).
    after_cr: bool,
}

impl Scanner {
    /// Moves through `bytes` to the end of the first event that ends in them: the length up
    /// to and including its blank line, or `None` when none ends (all of `bytes` consumed).
    ///
    /// An event ending in CR is ended there: waiting for a possible LF would hold every
    /// event of a CR-only stream until the next one. That LF is taken into the event when it
    /// is in `bytes`, and otherwise becomes the first byte of the next piece (still skipped).
    fn find_end(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\n' if self.after_cr => {
                    self.after_cr = false;
                    i += 1;
                }
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    i += 1;
                    if self.at == At::InLine {
                        self.at = At::LineStart;
                        continue;
                    }
                    self.at = At::EventStart;
                    if self.after_cr && bytes.get(i) == Some(&b'\n') {
                        self.after_cr = false;
                        i += 1;
                    }
                    return Some(i);
                }
                _ => {
                    self.after_cr = false;
                    self.at = At::InLine;
                    // The bulk of a stream is line content: skip it a word at a time.
                    match bytes.get(i + 1..).and_then(next_line_end) {
                        Some(n) => i += 1 + n,
                        None => return None,
                    }
                }
            }
        }
        None
    }

    /// Whether, from this state, `chunk` ends on an event boundary; if it does, the state moves
    /// past it. For chunks of three bytes or more that is decided from their last bytes
    /// alone (two line ends in a row are a blank line, whatever came before), so a caller
    /// passing whole chunks on does not scan them.
    fn skip_if_ends_event(&mut self, chunk: &[u8]) -> bool {
        if chunk.len() < 3 {
            // Too short to decide alone (it may end a line begun earlier): read it.
            let mut s = *self;
            let mut rest = chunk;
            while let Some(n) = s.find_end(rest) {
                rest = rest.get(n..).unwrap_or_default();
            }
            if s.at == At::EventStart {
                *self = s;
                return true;
            }
            return false;
        }
        // An LF right after a CR is part of its line end; any other CR or LF ends a line.
        let ends = matches!(chunk, [.., b'\r' | b'\n', b'\r'] | [.., b'\n', b'\n'] | [.., b'\r' | b'\n', b'\r', b'\n']);
        if ends {
            self.at = At::EventStart;
            self.after_cr = chunk.last() == Some(&b'\r');
        }
        ends
    }
}

/// Offset of the first CR or LF in `bytes`. Eight bytes per step: SSE lines are mostly long
/// JSON, and this runs on every byte of a routed call's stream that is scanned at all.
fn next_line_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const LFS: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const CRS: u64 = u64::from_ne_bytes([b'\r'; 8]);
    // Nonzero when some byte of `v` is zero (the classic bit trick; exact as a yes/no).
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS != 0;
    let mut base = 0;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let Ok(w) = <[u8; 8]>::try_from(w) else { break };
        let v = u64::from_ne_bytes(w);
        if has_zero(v ^ LFS) || has_zero(v ^ CRS) {
            break;
        }
        base += 8;
    }
    let tail = bytes.get(base..)?;
    tail.iter().position(|&b| b == b'\n' || b == b'\r').map(|p| base + p)
}

/// What a [`Piece`] of the stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A whole event: from its first byte through the blank line that ends it.
    Event,
    /// The bytes of an event the stream ended in the middle of: never dispatched.
    Unended,
    /// Bytes of an event longer than the splitter's bound, passed on as they come, unparsed.
    Overlong,
}

/// A run of the stream's bytes, handed to [`Splitter::push`]'s callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    pub part: Part,
    pub bytes: &'a [u8],
    /// `bytes` are the pushed chunk's own, right where its previous piece ended (the first
    /// starts the chunk unless held bytes came before it). A caller that passes pieces on
    /// unchanged can then pass on the chunk itself, not copies. False when `bytes` are
    /// (or begin with) bytes held from earlier chunks.
    pub in_chunk: bool,
}

/// Cuts a stream into [`Piece`]s, chunk by chunk, holding a partial event up to `limit`
/// bytes (see the module docs).
#[derive(Debug)]
pub struct Splitter {
    scan: Scanner,
    /// The start of an event that has not ended yet (empty while streaming one through).
    held: Vec<u8>,
    limit: usize,
    /// Inside an over-long event: its bytes go on as they come until it ends.
    overlong: bool,
}

impl Splitter {
    /// A splitter holding at most `limit` bytes of a partial event (`usize::MAX`: no bound).
    pub fn new(limit: usize) -> Splitter {
        Splitter { scan: Scanner::default(), held: Vec::new(), limit, overlong: false }
    }

    /// Whether bytes of a partial event are held from earlier chunks.
    pub fn is_holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// Moves past `chunk` without splitting it when that leaves nothing to hold and nothing
    /// half-read: no partial event before it, and it ends on an event boundary or ends the
    /// stream. True when it did; then the chunk goes on as a whole and its events were not
    /// looked at. For a caller with a cheaper test that none of them needs reading.
    pub fn skip(&mut self, chunk: &[u8], end_of_stream: bool) -> bool {
        if self.is_holding() || self.overlong || self.scan.at != At::EventStart {
            return false;
        }
        if end_of_stream {
            self.scan = Scanner::default();
            return true;
        }
        self.scan.skip_if_ends_event(chunk)
    }

    /// Feeds one chunk: `f` gets, in order, pieces holding every byte of `chunk` that is not
    /// held back, and the held bytes they complete. With `end_of_stream` nothing is held
    /// back: a trailing partial event comes out as [`Part::Unended`].
    pub fn push(&mut self, chunk: &[u8], end_of_stream: bool, mut f: impl FnMut(Piece<'_>)) {
        let mut rest = chunk;
        if self.overlong {
            let Some(n) = self.scan.find_end(rest) else {
                if !rest.is_empty() {
                    f(Piece { part: Part::Overlong, bytes: rest, in_chunk: true });
                }
                if end_of_stream {
                    self.reset();
                }
                return;
            };
            let (head, tail) = rest.split_at_checked(n).unwrap_or((rest, &[]));
            f(Piece { part: Part::Overlong, bytes: head, in_chunk: true });
            self.overlong = false;
            rest = tail;
        } else if self.is_holding() {
            match self.scan.find_end(rest) {
                Some(n) => {
                    let (head, tail) = rest.split_at_checked(n).unwrap_or((rest, &[]));
                    self.held.extend_from_slice(head);
                    f(Piece { part: Part::Event, bytes: &self.held, in_chunk: false });
                    // A stream holds many events a while; keep no large buffer between them.
                    if self.held.capacity() > 4096 {
                        self.held = Vec::new();
                    } else {
                        self.held.clear();
                    }
                    rest = tail;
                }
                None => {
                    self.held.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        if !self.is_holding() {
            while let Some(n) = self.scan.find_end(rest) {
                let (head, tail) = rest.split_at_checked(n).unwrap_or((rest, &[]));
                f(Piece { part: Part::Event, bytes: head, in_chunk: true });
                rest = tail;
            }
        }
        // `rest` is now the start of an event that has not ended (or nothing), after the held
        // bytes if any.
        if end_of_stream {
            if self.is_holding() {
                f(Piece { part: Part::Unended, bytes: &self.held, in_chunk: false });
            } else if !rest.is_empty() {
                f(Piece { part: Part::Unended, bytes: rest, in_chunk: true });
            }
            self.reset();
        } else if self.held.len().saturating_add(rest.len()) > self.limit {
            // Too long to hold: what there is goes on now, the rest of it as it comes.
            if self.is_holding() {
                f(Piece { part: Part::Overlong, bytes: &self.held, in_chunk: false });
                self.held = Vec::new();
            } else {
                f(Piece { part: Part::Overlong, bytes: rest, in_chunk: true });
            }
            self.overlong = true;
        } else {
            self.held.extend_from_slice(rest);
        }
    }

    fn reset(&mut self) {
        self.scan = Scanner::default();
        self.held = Vec::new();
        self.overlong = false;
    }
}

/// The lines of one event's bytes, without their line ends (CRLF, LF or CR). Blank lines
/// included; no empty line after a final line end.
pub fn lines(event: &[u8]) -> Lines<'_> {
    Lines { rest: event }
}

/// Iterator of [`lines`].
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let Some(end) = next_line_end(self.rest) else {
            return Some(std::mem::take(&mut self.rest));
        };
        let (line, tail) = self.rest.split_at_checked(end).unwrap_or((self.rest, &[]));
        let skip = if tail.starts_with(b"\r\n") { 2 } else { 1 };
        self.rest = tail.get(skip..).unwrap_or_default();
        Some(line)
    }
}

/// A line's field name and value (without the one space that may follow the colon); `None`
/// for a blank line or a comment.
pub fn field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.is_empty() || line.starts_with(b":") {
        return None;
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Some((line, b""));
    };
    let (name, value) = line.split_at_checked(colon).unwrap_or((line, b""));
    let value = value.get(1..).unwrap_or_default();
    Some((name, value.strip_prefix(b" ").unwrap_or(value)))
}

/// `event` (one whole event, through its blank line) with its data replaced by `data`: the same
/// fields in the same order, lines ending in LF, the data written back as one `data` line per
/// line of it (a JSON message may hold line breaks where it was split over `data` lines, and a
/// raw line break inside one `data` line would end it).
pub fn with_data(event: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(event.len() + data.len() + 8);
    let mut wrote_data = false;
    for line in lines(event) {
        match field(line) {
            Some((b"data", _)) => {
                if !wrote_data {
                    for part in data.split(|&b| b == b'\n') {
                        out.extend_from_slice(b"data: ");
                        out.extend_from_slice(part);
                        out.push(b'\n');
                    }
                    wrote_data = true;
                }
            }
            _ if line.is_empty() => {}
            _ => {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
        }
    }
    out.push(b'\n');
    out
}

/// One event as EventSource dispatches it. Text is decoded as UTF-8, invalid bytes replaced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub id: Option<String>,
    /// The reconnection time it asks for, in milliseconds.
    pub retry: Option<u64>,
    /// The `data` lines joined with LF.
    pub data: String,
}

impl Event {
    /// The event in one event's bytes (a [`Part::Event`] piece); `None` when it has no `data`
    /// field, as EventSource then dispatches nothing.
    pub fn parse(event: &[u8]) -> Option<Event> {
        let mut ev = Event::default();
        let mut has_data = false;
        for (name, value) in lines(event).filter_map(field) {
            match name {
                b"data" => {
                    if has_data {
                        ev.data.push('\n');
                    }
                    ev.data.push_str(&String::from_utf8_lossy(value));
                    has_data = true;
                }
                b"event" => ev.event = Some(String::from_utf8_lossy(value).into_owned()),
                b"id" if !value.contains(&0) => ev.id = Some(String::from_utf8_lossy(value).into_owned()),
                b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                    // All digits; only a value past u64 fails, and is ignored like a bad one.
                    ev.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()).or(ev.retry);
                }
                _ => {}
            }
        }
        has_data.then_some(ev)
    }
}

/// Events as EventSource dispatches them, from a stream fed chunk by chunk: a [`Splitter`]
/// and [`Event::parse`]. An event that would have to be held past the bound is dropped (it
/// is never whole in memory); one that arrives within a chunk is parsed whatever its size.
/// `Parser::default()` has no bound.
#[derive(Debug)]
pub struct Parser {
    split: Splitter,
}

impl Default for Parser {
    fn default() -> Parser {
        Parser::with_limit(usize::MAX)
    }
}

impl Parser {
    /// A parser holding at most `limit` bytes of a partial event (see above).
    pub fn with_limit(limit: usize) -> Parser {
        Parser { split: Splitter::new(limit) }
    }

    /// Feeds one chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        self.split.push(chunk, false, |p| {
            if p.part == Part::Event {
                out.extend(Event::parse(p.bytes));
            }
        });
        out
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    /// Every rule of the module docs at least once, in all three line-end styles.
    const STREAM: &[u8] = b"id: 1\nevent: message\ndata: {\"a\":1}\n\n\
        : a comment\r\ndata\r\ndata:  two spaces\r\n\r\n\
        data: cr\rid: with\0nul\rretry: 3000\r\r\
        id: 0\nretry: 12x\n\n\
        \n\r\n\
        data:x\n:c\ndata: y\nevent\nfoo: bar\n\n\
        data: cut off";

    fn expected() -> Vec<Event> {
        let ev = |event: Option<&str>, id: Option<&str>, retry, data: &str| Event {
            event: event.map(String::from),
            id: id.map(String::from),
            retry,
            data: data.into(),
        };
        vec![
            ev(Some("message"), Some("1"), None, "{\"a\":1}"),
            ev(None, None, None, "\n two spaces"),
            ev(None, None, Some(3000), "cr"),
            ev(Some(""), None, None, "x\ny"),
        ]
    }

    /// Feeds `chunks`, checking the pieces are the stream's bytes in order; the events parsed.
    fn feed(split: &mut Splitter, chunks: &[&[u8]], end_of_stream: bool) -> (Vec<u8>, Vec<Event>) {
        let mut bytes = Vec::new();
        let mut events = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            // Where the next in-chunk piece must start: the chunk's start, unless held bytes
            // come first (then anywhere, once).
            let mut in_chunk_at: Option<usize> = Some(0);
            split.push(chunk, end_of_stream && i + 1 == chunks.len(), |p| {
                if p.in_chunk {
                    let off = (p.bytes.as_ptr() as usize).wrapping_sub(chunk.as_ptr() as usize);
                    assert!(off + p.bytes.len() <= chunk.len(), "an in_chunk piece lies in the chunk");
                    assert!(in_chunk_at.is_none_or(|at| at == off), "an in_chunk piece starts where the last ended");
                    in_chunk_at = Some(off + p.bytes.len());
                } else {
                    assert_eq!(in_chunk_at, Some(0), "held bytes come first");
                    in_chunk_at = None;
                }
                bytes.extend_from_slice(p.bytes);
                if p.part == Part::Event {
                    events.extend(Event::parse(p.bytes));
                }
            });
        }
        (bytes, events)
    }

    /// The spec's algorithm, written out plainly over the whole stream: what the incremental
    /// parser must agree with.
    fn reference(stream: &[u8]) -> Vec<Event> {
        let mut lines = Vec::new();
        let mut cur = Vec::new();
        let mut i = 0;
        while i < stream.len() {
            match stream[i] {
                b'\r' => {
                    lines.push(std::mem::take(&mut cur));
                    if stream.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                }
                b'\n' => lines.push(std::mem::take(&mut cur)),
                b => cur.push(b),
            }
            i += 1;
        }
        let mut out = Vec::new();
        let mut ev = Event::default();
        let mut data: Option<String> = None;
        for line in lines {
            if line.is_empty() {
                if let Some(d) = data.take() {
                    ev.data = d;
                    out.push(std::mem::take(&mut ev));
                }
                ev = Event::default();
                continue;
            }
            if line[0] == b':' {
                continue;
            }
            let (name, value) = match line.iter().position(|&b| b == b':') {
                Some(c) => (&line[..c], line[c + 1..].strip_prefix(b" ").unwrap_or(&line[c + 1..])),
                None => (&line[..], &b""[..]),
            };
            let value_s = String::from_utf8_lossy(value).into_owned();
            match name {
                b"data" => match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(&value_s);
                    }
                    None => data = Some(value_s),
                },
                b"event" => ev.event = Some(value_s),
                b"id" if !value.contains(&0) => ev.id = Some(value_s),
                b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => ev.retry = value_s.parse().ok().or(ev.retry),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn the_rules_of_the_spec() {
        assert_eq!(reference(STREAM), expected());
        let (bytes, events) = feed(&mut Splitter::new(usize::MAX), &[STREAM], true);
        assert_eq!(bytes, STREAM);
        assert_eq!(events, expected());
    }

    #[test]
    fn the_same_events_whatever_the_chunks() {
        for a in 0..=STREAM.len() {
            for b in a..=STREAM.len() {
                let chunks = [&STREAM[..a], &STREAM[a..b], &STREAM[b..]];
                let (bytes, events) = feed(&mut Splitter::new(usize::MAX), &chunks, true);
                assert_eq!(bytes, STREAM, "cuts {a} {b}");
                assert_eq!(events, expected(), "cuts {a} {b}");
            }
        }
        let bytewise: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(feed(&mut Splitter::new(usize::MAX), &bytewise, true), (STREAM.to_vec(), expected()));
    }

    #[test]
    fn agrees_with_the_spec_on_generated_streams() {
        // Streams of the bytes that matter, many of them, fed in pseudo-random chunks.
        const ALPHABET: &[&[u8]] = &[b"\n", b"\r", b"\r\n", b":", b" ", b"data", b"id", b"event", b"retry", b"7", b"x", b"\0", "é".as_bytes()];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut stream = Vec::new();
            for _ in 0..next() % 60 {
                stream.extend_from_slice(ALPHABET[(next() % ALPHABET.len() as u64) as usize]);
            }
            let mut chunks = Vec::new();
            let mut rest = &stream[..];
            while !rest.is_empty() {
                let n = (next() % 9) as usize + 1;
                let (c, r) = rest.split_at(n.min(rest.len()));
                chunks.push(c);
                rest = r;
            }
            let (bytes, events) = feed(&mut Splitter::new(usize::MAX), &chunks, true);
            assert_eq!(bytes, stream);
            assert_eq!(events, reference(&stream), "{:?}", String::from_utf8_lossy(&stream));
            let mut p = Parser::default();
            let parsed: Vec<Event> = chunks.iter().flat_map(|c| p.push(c)).collect();
            assert_eq!(parsed, events);
        }
    }

    #[test]
    fn skip_decides_from_the_tail_as_reading_would() {
        // Every chunk of up to 6 bytes over a line's content and both line ends, fed after
        // an event boundary: skip agrees with reading the chunk through.
        for len in 0..=6u32 {
            for n in 0..3u32.pow(len) {
                let chunk: Vec<u8> = (0..len).map(|i| [b'a', b'\r', b'\n'][(n / 3u32.pow(i) % 3) as usize]).collect();
                for after_cr in [false, true] {
                    let start = Scanner { at: At::EventStart, after_cr };
                    let mut read = start;
                    let mut rest = &chunk[..];
                    while let Some(n) = read.find_end(rest) {
                        rest = &rest[n..];
                    }
                    let mut skipped = start;
                    let ends = skipped.skip_if_ends_event(&chunk);
                    assert_eq!(ends, read.at == At::EventStart, "{chunk:?}");
                    if ends {
                        assert_eq!(skipped, read, "{chunk:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn skip_passes_whole_chunks_and_nothing_else() {
        let mut s = Splitter::new(usize::MAX);
        assert!(s.skip(b"data: 1\n\n", false));
        assert!(!s.skip(b"data: 2\n", false), "does not end an event");
        let (bytes, events) = feed(&mut s, &[b"data: 2\n"], false);
        assert!(bytes.is_empty() && events.is_empty() && s.is_holding());
        assert!(!s.skip(b"\n", false), "an event is held");
        assert_eq!(feed(&mut s, &[b"\n"], false).1[0].data, "2");
        assert!(s.skip(b"data: 3", true), "the stream's end leaves nothing held");
    }

    #[test]
    fn overlong_events_stream_through_within_the_bound() {
        let big = format!("data: {}\n\n", "x".repeat(100));
        let stream = format!("data: a\n\n{big}data: b\r\rdata: {big}");
        for step in 1..stream.len() {
            let chunks: Vec<&[u8]> = stream.as_bytes().chunks(step).collect();
            let mut s = Splitter::new(32);
            let mut bytes = Vec::new();
            let mut events = Vec::new();
            for (i, c) in chunks.iter().enumerate() {
                s.push(c, i + 1 == chunks.len(), |p| {
                    bytes.extend_from_slice(p.bytes);
                    if p.part == Part::Event {
                        events.extend(Event::parse(p.bytes).map(|e| e.data));
                    }
                });
                assert!(s.held.len() <= 32, "step {step}: held {}", s.held.len());
            }
            assert_eq!(bytes, stream.as_bytes(), "step {step}");
            // The bound is on what is held: an event whole in one chunk comes out whole.
            if step <= 32 {
                assert_eq!(events, ["a", "b"], "step {step}");
            }
            events.retain(|e| e.len() == 1);
            assert_eq!(events, ["a", "b"], "step {step}");
        }
        let mut p = Parser::with_limit(32);
        let parsed: Vec<String> = stream.as_bytes().chunks(8).flat_map(|c| p.push(c)).map(|e| e.data).collect();
        assert_eq!(parsed, ["a", "b"]);
    }

    #[test]
    fn lines_and_fields() {
        let got: Vec<&[u8]> = lines(b"a\r\nb\rc\n\nd").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"c", b"", b"d"]);
        assert_eq!(lines(b"a\n").count(), 1);
        assert_eq!(field(b"data:  x"), Some((&b"data"[..], &b" x"[..])));
        assert_eq!(field(b"data"), Some((&b"data"[..], &b""[..])));
        assert_eq!(field(b": note"), None);
        assert_eq!(field(b""), None);
    }

    #[test]
    fn line_ends_are_found_in_any_word_position() {
        for len in 0..20 {
            for at in 0..len {
                for end in [b'\n', b'\r'] {
                    let mut v = vec![b'x'; len];
                    v[at] = end;
                    assert_eq!(next_line_end(&v), Some(at));
                }
            }
            assert_eq!(next_line_end(&vec![0x8a; len]), None, "high bytes are not line ends");
        }
    }

    #[test]
    fn data_is_replaced_line_by_line_and_other_fields_kept() {
        let event = b"id: 7\r\nevent: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n";
        let out = with_data(event, b"{\"a\":\n2}");
        assert_eq!(out, b"id: 7\nevent: message\ndata: {\"a\":\ndata: 2}\n\n".to_vec());
        let parsed = Event::parse(&out).unwrap();
        assert_eq!(parsed.data, "{\"a\":\n2}");
        assert_eq!(parsed.id.as_deref(), Some("7"));
    }
}
