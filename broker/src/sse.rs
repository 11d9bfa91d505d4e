//! A small incremental parser for `text/event-stream` bodies (backend responses and
//! notification streams), and the encoder for what the broker sends.

/// One server-sent event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// Feed it chunks as they arrive; it returns every event completed so far.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    cur: Event,
    has_data: bool,
}

impl Parser {
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.has_data {
                    out.push(std::mem::take(&mut self.cur));
                } else {
                    self.cur = Event::default();
                }
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "data" => {
                    if self.has_data {
                        self.cur.data.push('\n');
                    }
                    self.cur.data.push_str(value);
                    self.has_data = true;
                }
                "event" => self.cur.event = Some(value.to_string()),
                "id" => self.cur.id = Some(value.to_string()),
                _ => {}
            }
        }
        out
    }
}

/// Encodes one JSON-RPC message as an SSE `message` event.
pub fn encode(json: &serde_json::Value) -> bytes::Bytes {
    encode_with_id(None, json)
}

/// Encodes one JSON-RPC message as an SSE `message` event with an event id (one without
/// line breaks; any other is left out).
pub fn encode_with_id(id: Option<&str>, json: &serde_json::Value) -> bytes::Bytes {
    match id.filter(|i| !i.contains(['\n', '\r', '\0'])) {
        Some(id) => bytes::Bytes::from(format!("id: {id}\nevent: message\ndata: {json}\n\n")),
        None => bytes::Bytes::from(format!("event: message\ndata: {json}\n\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_events_across_chunks() {
        let mut p = Parser::default();
        assert!(p.push(b"id: 1\nevent: message\ndata: {\"a\"").is_empty());
        let ev = p.push(b":1}\r\n\r\n: comment\n\ndata: x\ndata: y\n\n");
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].data, "{\"a\":1}");
        assert_eq!(ev[0].id.as_deref(), Some("1"));
        assert_eq!(ev[1].data, "x\ny");
    }

    #[test]
    fn priming_events_without_data_are_skipped() {
        let mut p = Parser::default();
        assert!(p.push(b"id: 0\nretry: 3000\n\n").is_empty());
    }
}
