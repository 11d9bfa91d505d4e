//! The HTTP headers MCP 2026-07-28 adds (SEP-2243), which mirror the body so intermediaries
//! can route without parsing it: `Mcp-Method` (every POSTed request and notification) and
//! `Mcp-Name` (`params.name` of `tools/call` and `prompts/get`, `params.uri` of
//! `resources/read`, `resources/subscribe` and `resources/unsubscribe`, and, with the tasks
//! extension (SEP-2663), `params.taskId` of `tasks/get`, `tasks/update` and `tasks/cancel`).
//!
//! A value that is not plain printable ASCII (or has leading/trailing whitespace) travels as
//! `=?base64?<standard base64 of the UTF-8 bytes>?=`. An intermediary that reads the body must
//! refuse a request whose headers are missing or disagree with it (HTTP 400, JSON-RPC -32020).

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub const PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub const METHOD: &str = "mcp-method";
pub const NAME: &str = "mcp-name";
pub const SESSION_ID: &str = "mcp-session-id";

/// The body field `Mcp-Name` mirrors (which one, per method: `protocol::Method::name_header_field`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    Name,
    Uri,
    /// `params.taskId` (the tasks extension).
    TaskId,
}

/// Decodes a header value, undoing `=?base64?…?=`. `None` when the encoding is broken.
pub fn decode_value(value: &str) -> Option<Cow<'_, str>> {
    match value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) {
        Some(b64) => {
            let bytes = STANDARD.decode(b64).ok()?;
            String::from_utf8(bytes).ok().map(Cow::Owned)
        }
        None => Some(Cow::Borrowed(value)),
    }
}

/// Encodes a value for a header: as is when it is safe, base64-wrapped otherwise.
pub fn encode_value(value: &str) -> Cow<'_, str> {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !value.starts_with("=?");
    if plain {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("=?base64?{}?=", STANDARD.encode(value.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn encoding_round_trips() {
        for v in ["echo", "héllo", " padded ", "line\nbreak", "=?base64?looks?="] {
            assert_eq!(decode_value(&encode_value(v)).unwrap(), v);
        }
        assert_eq!(encode_value("alpha_echo"), "alpha_echo");
        assert_eq!(decode_value("=?base64?aMOpbGxv?=").unwrap(), "héllo");
        assert_eq!(decode_value("=?base64?!!?="), None);
    }
}
