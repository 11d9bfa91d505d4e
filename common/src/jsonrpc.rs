//! JSON-RPC 2.0 error codes used by the gateway, and the error bodies it answers with.
//!
//! Both the filter (local replies) and the broker build their error bodies here so that a
//! client sees the same shape whichever part of the gateway refused it.

use serde_json::value::RawValue;

/// Invalid JSON was received.
pub const PARSE_ERROR: i32 = -32700;
/// The JSON sent is not a valid JSON-RPC 2.0 message (also used for batches, which MCP
/// removed in 2025-06-18 and which the gateway does not split).
pub const INVALID_REQUEST: i32 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// Invalid method parameters; MCP also uses it for unknown tools and prompts.
pub const INVALID_PARAMS: i32 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i32 = -32603;
/// MCP: the resource named by a URI does not exist.
pub const RESOURCE_NOT_FOUND: i32 = -32002;
/// MCP 2026-07-28: the standard headers (`Mcp-Method`, `Mcp-Name`, `MCP-Protocol-Version`)
/// are missing, malformed, or disagree with the body.
pub const HEADER_MISMATCH: i32 = -32020;
/// MCP 2026-07-28: the request needs a client capability it did not declare.
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
/// MCP 2026-07-28: the protocol version is not one the server serves (`error.data` names
/// `supported` and `requested`).
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
/// Gateway: the session is unknown, expired, tampered with or bound to another caller.
/// Sent with HTTP 404, the spec's signal to start a new session.
pub const SESSION_NOT_FOUND: i32 = -32001;
/// Gateway: the request body is larger than the configured limit (sent with HTTP 413).
pub const REQUEST_TOO_LARGE: i32 = -32010;
/// Gateway: the backend answered HTTP 404 for the backend session the gateway sent, i.e. it
/// restarted and forgot it. The backend therefore did **not** run the request; retrying it is
/// safe and works (the gateway has switched that server to a new backend session). Sent with
/// HTTP 200 for that one request, never with 404: a 404 would make the client throw its whole
/// gateway session away.
pub const BACKEND_RESTARTED: i32 = -32030;
/// Gateway: an Envoy rate limit refused the call (sent with HTTP 429 and `Retry-After`): it did
/// not reach the backend; retrying after that time is safe.
pub const RATE_LIMITED: i32 = -32029;
/// Gateway: a tool call that needs the human's confirmation was not confirmed (declined,
/// cancelled, or unanswered in time). The backend was **not** called (README, "Confirmation
/// before dangerous tools"). `error.data.confirmation` says which.
pub const CONFIRMATION_REFUSED: i32 = -32031;

/// Builds `{"jsonrpc":"2.0","id":<id>,"error":{"code":<code>,"message":<message>}}`.
///
/// `id` is the raw JSON of the request's id, copied byte for byte so that a client matching
/// on it sees exactly what it sent; `None` (unknown or unparseable) is written as `null`, as
/// JSON-RPC requires for parse errors.
pub fn error_body(id: Option<&RawValue>, code: i32, message: &str) -> Vec<u8> {
    error_body_with_data(id, code, message, None)
}

/// [`error_body`] with `error.data` (raw JSON) when there is any.
pub fn error_body_with_data(id: Option<&RawValue>, code: i32, message: &str, data: Option<&RawValue>) -> Vec<u8> {
    let id = id.map_or("null", RawValue::get);
    // serde_json's string escaping of the message; it cannot fail for a &str.
    let message = serde_json::to_string(message).unwrap_or_else(|_| String::from("\"error\""));
    let mut out = Vec::with_capacity(64 + id.len() + message.len());
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b",\"error\":{\"code\":");
    out.extend_from_slice(code.to_string().as_bytes());
    out.extend_from_slice(b",\"message\":");
    out.extend_from_slice(message.as_bytes());
    if let Some(data) = data {
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(data.get().as_bytes());
    }
    out.extend_from_slice(b"}}");
    out
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn error_body_is_valid_json_and_keeps_the_id_verbatim() {
        let id: &RawValue = serde_json::from_str("\"a\\\"b\"").unwrap();
        let body = error_body(Some(id), INVALID_PARAMS, "unknown tool \"x\"");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["id"], "a\"b");
        assert_eq!(v["error"]["code"], -32602);
        assert_eq!(v["error"]["message"], "unknown tool \"x\"");
        let null = error_body(None, PARSE_ERROR, "bad");
        let v: serde_json::Value = serde_json::from_slice(&null).unwrap();
        assert!(v["id"].is_null());
    }
}
