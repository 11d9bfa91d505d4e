//! Reading the JSON-RPC messages of a backend's streamed answer in the framing its
//! `Content-Type` names: SSE (`text/event-stream`, [`crate::sse`]) or newline-delimited JSON
//! (`application/json`, `application/x-ndjson`, `application/jsonl`,
//! [`mcpgw_common::ndjson`]). SDKs write `subscriptions/listen` and GET streams in either, and a
//! plain JSON answer is NDJSON's one-line case, so one reader serves every backend stream.

use mcpgw_common::ndjson;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::sse;

/// The largest message read from a backend stream, in either framing (an NDJSON line, an SSE
/// event): as large as a backend's answer may sensibly be. A longer one is dropped (never held
/// whole) and the stream goes on, so a backend cannot make the broker buffer without bound.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// How a backend framed a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Sse,
    Ndjson,
}

impl Framing {
    /// The framing a `Content-Type` value names. JSON media types are read line by line; any
    /// other (or none) as SSE, as the broker always read streams before.
    pub fn of_content_type(content_type: Option<&str>) -> Framing {
        let essence = content_type.and_then(|v| v.split(';').next()).map(|v| v.trim().to_ascii_lowercase());
        match essence.as_deref() {
            Some("application/json" | "application/x-ndjson" | "application/jsonl" | "application/json-lines") => Framing::Ndjson,
            _ => Framing::Sse,
        }
    }

    /// The framing of a backend's response.
    pub fn of(resp: &reqwest::Response) -> Framing {
        Framing::of_content_type(resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()))
    }
}

/// One message of a stream, with its SSE event id if it had one.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: Option<String>,
    pub message: Value,
}

/// Incremental reader of one stream's messages; what is not a JSON value is skipped.
#[derive(Debug)]
pub enum Reader {
    Sse(sse::Parser),
    Ndjson(ndjson::Lines),
}

impl Reader {
    pub fn new(framing: Framing) -> Reader {
        match framing {
            Framing::Sse => Reader::Sse(sse::Parser::with_limit(MAX_MESSAGE_BYTES)),
            Framing::Ndjson => Reader::Ndjson(ndjson::Lines::with_limit(MAX_MESSAGE_BYTES)),
        }
    }

    /// A reader for `resp`'s body.
    pub fn for_response(resp: &reqwest::Response) -> Reader {
        Reader::new(Framing::of(resp))
    }

    /// Feeds one chunk; the messages it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Message> {
        match self {
            Reader::Sse(p) => p
                .push(chunk)
                .into_iter()
                .filter_map(|ev| Some(Message { message: serde_json::from_str(&ev.data).ok()?, id: ev.id }))
                .collect(),
            Reader::Ndjson(lines) => {
                let mut out = Vec::new();
                lines.push(chunk, |l| out.extend(line_message(l)));
                out
            }
        }
    }

    /// The stream ended: the last message when it was cut without a line end (a plain JSON
    /// body). An SSE event the stream cut off is never dispatched, so nothing for SSE.
    pub fn finish(&mut self) -> Vec<Message> {
        match self {
            Reader::Sse(_) => Vec::new(),
            Reader::Ndjson(lines) => {
                let mut out = Vec::new();
                lines.finish(|l| out.extend(line_message(l)));
                out
            }
        }
    }
}

fn line_message(line: &[u8]) -> Option<Message> {
    Some(Message { id: None, message: serde_json::from_slice(line).ok()? })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn framing_from_content_type() {
        for ct in ["application/json", "Application/JSON; charset=utf-8", "application/x-ndjson", "application/jsonl"] {
            assert_eq!(Framing::of_content_type(Some(ct)), Framing::Ndjson, "{ct}");
        }
        for ct in [Some("text/event-stream"), Some("text/event-stream; charset=utf-8"), Some("text/plain"), None] {
            assert_eq!(Framing::of_content_type(ct), Framing::Sse, "{ct:?}");
        }
    }

    #[test]
    fn both_framings_read_the_same_messages() {
        let a = json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"});
        let b = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
        let mut sse = Reader::new(Framing::Sse);
        let mut got = sse.push(format!("id: 3\nevent: message\ndata: {a}\n\ndata: {b}\n\n").as_bytes());
        got.extend(sse.finish());
        assert_eq!(got, vec![Message { id: Some("3".into()), message: a.clone() }, Message { id: None, message: b.clone() }]);

        let mut nd = Reader::new(Framing::Ndjson);
        let text = format!("{a}\r\n\nnot json\n{b}");
        let (x, y) = text.as_bytes().split_at(10);
        let mut got = nd.push(x);
        got.extend(nd.push(y));
        assert_eq!(got.len(), 1, "the last line has no line end yet");
        got.extend(nd.finish());
        assert_eq!(got, vec![Message { id: None, message: a }, Message { id: None, message: b }]);
    }
}
