//! Server-sent events in the broker: what it reads from backends (responses to calls it
//! fans out, notification streams) is parsed by the one parser the filter uses too
//! ([`mcpgw_common::sse`]), and what it sends is encoded here.

pub use mcpgw_common::sse::{Event, Parser};

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
    fn cr_line_ends_are_line_ends() {
        let mut p = Parser::default();
        let ev = p.push(b"id: 7\rdata: {}\r\r");
        assert_eq!((ev[0].id.as_deref(), ev[0].data.as_str()), (Some("7"), "{}"));
    }

    #[test]
    fn priming_events_without_data_are_skipped() {
        let mut p = Parser::default();
        assert!(p.push(b"id: 0\nretry: 3000\n\n").is_empty());
    }
}
