//! Why the gateway refuses a request, and how it says so: the JSON-RPC code and message, the
//! request id echoed, and the HTTP status the error travels with, which depends on the era.
//!
//! One table for both planes. In the session protocol an error about the request's content
//! (unknown tool, bad params) is an ordinary JSON-RPC answer (HTTP 200) on the session, while
//! a message that is not valid JSON-RPC is refused outright (HTTP 400). A 2026-07-28 request
//! has no session to carry an error in-band: the official SDKs answer client faults with 400,
//! an unknown or removed method with 404, anything else with 200 (`http_status`).

use serde_json::value::RawValue;

use crate::jsonrpc;
use crate::message::ParseError;

use super::era::Era;

/// The kind of refusal, named for counters and facts (`errors.<name>`, filter state `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not JSON: -32700.
    ParseError,
    /// A JSON array: MCP has no batches. -32600.
    Batch,
    /// JSON, but not a valid JSON-RPC message (or an answer to no request the gateway relayed,
    /// or a notification the gateway cannot deliver). -32600.
    InvalidRequest,
    /// A method, name or URI beyond the gateway's bounds (`crate::limits`).
    TooLong,
    /// 2026-07-28: the standard headers are missing or disagree with the body. -32020.
    HeaderMismatch,
    /// Bad params: a routed request without its name or URI, or a 2026-07-28 request without
    /// its `_meta` envelope. -32602.
    InvalidParams,
    /// A name or URI that no server's prefix owns: -32602 (tools, prompts) or -32002
    /// (resources), as a server answers for a name it does not have.
    UnknownName,
    /// A name or URI outside the request's scope (its virtual server, the caller's access
    /// rules: `crate::scope`): told exactly as an unknown one, counted apart.
    OutOfScope,
    /// 2026-07-28: a method that does not exist in that revision. -32601.
    MethodNotFound,
    /// 2026-07-28: a protocol version the gateway does not serve. -32022.
    UnsupportedVersion,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::ParseError => "parse_error",
            Reason::Batch => "batch",
            Reason::InvalidRequest => "invalid_request",
            Reason::TooLong => "too_long",
            Reason::HeaderMismatch => "header_mismatch",
            Reason::InvalidParams => "invalid_params",
            Reason::UnknownName => "unknown_name",
            Reason::OutOfScope => "out_of_scope",
            Reason::MethodNotFound => "method_not_found",
            Reason::UnsupportedVersion => "unsupported_version",
        }
    }
}

/// A refused request: what the client is told, and with which HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub code: i32,
    pub status: u16,
    pub message: String,
    /// Raw JSON of the request's id, when known (else `null` is sent).
    pub id: Option<String>,
    /// Raw JSON of `error.data`, when the error has any.
    pub data: Option<String>,
}

impl Refusal {
    /// A refusal in `era`, its HTTP status from [`http_status`].
    pub fn new(era: Era, reason: Reason, code: i32, message: impl Into<String>) -> Refusal {
        Refusal { reason, code, status: http_status(era, code), message: message.into(), id: None, data: None }
    }

    /// The refusal of a body the parser rejected (always HTTP 400).
    pub fn parse(error: &ParseError) -> Refusal {
        let reason = match error {
            ParseError::Malformed(_) => Reason::ParseError,
            ParseError::Batch => Reason::Batch,
            ParseError::Invalid { .. } => Reason::InvalidRequest,
        };
        let id = match error {
            ParseError::Invalid { id, .. } => id.clone(),
            _ => None,
        };
        Refusal { reason, code: error.code(), status: 400, message: error.message(), id, data: None }
    }

    pub fn with_id(mut self, id: Option<&RawValue>) -> Refusal {
        self.id = id.map(|i| i.get().to_string());
        self
    }

    /// The JSON-RPC error body.
    pub fn body(&self) -> Vec<u8> {
        let id = self.id.as_deref().and_then(|i| serde_json::from_str::<&RawValue>(i).ok());
        let data = self.data.as_deref().and_then(|d| serde_json::from_str::<&RawValue>(d).ok());
        jsonrpc::error_body_with_data(id, self.code, &self.message, data)
    }
}

/// The HTTP status of a JSON-RPC error about a request's content, in `era` (see the module
/// docs). Refusals that are not about the content (session, size, origin) set their own.
pub fn http_status(era: Era, code: i32) -> u16 {
    use jsonrpc::*;
    match (era, code) {
        (_, PARSE_ERROR | INVALID_REQUEST | HEADER_MISMATCH) => 400,
        (Era::Session, _) => 200,
        (Era::Stateless, INVALID_PARAMS | MISSING_REQUIRED_CLIENT_CAPABILITY | UNSUPPORTED_PROTOCOL_VERSION) => 400,
        (Era::Stateless, METHOD_NOT_FOUND) => 404,
        (Era::Stateless, _) => 200,
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn status_table() {
        assert_eq!(http_status(Era::Session, jsonrpc::INVALID_PARAMS), 200);
        assert_eq!(http_status(Era::Session, jsonrpc::RESOURCE_NOT_FOUND), 200);
        assert_eq!(http_status(Era::Session, jsonrpc::INVALID_REQUEST), 400);
        assert_eq!(http_status(Era::Stateless, jsonrpc::INVALID_PARAMS), 400);
        assert_eq!(http_status(Era::Stateless, jsonrpc::RESOURCE_NOT_FOUND), 200);
        assert_eq!(http_status(Era::Stateless, jsonrpc::METHOD_NOT_FOUND), 404);
        assert_eq!(http_status(Era::Stateless, jsonrpc::UNSUPPORTED_PROTOCOL_VERSION), 400);
    }
}
