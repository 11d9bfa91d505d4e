//! Local replies: the filter answers bad input itself, with a JSON-RPC error body, and
//! forwards nothing.

use mcpgw_common::jsonrpc;
use serde_json::value::RawValue;

use crate::host::Host;

/// A refusal: HTTP status, JSON-RPC code and message, and the request id to echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u32,
    pub code: i32,
    pub message: String,
    /// Raw JSON of the id, when known.
    pub id: Option<String>,
}

impl Refusal {
    pub fn new(status: u32, code: i32, message: impl Into<String>) -> Refusal {
        Refusal { status, code, message: message.into(), id: None }
    }

    pub fn with_id(mut self, id: Option<&RawValue>) -> Refusal {
        self.id = id.map(|i| i.get().to_string());
        self
    }

    pub fn body(&self) -> Vec<u8> {
        let id = self.id.as_deref().and_then(|i| serde_json::from_str::<&RawValue>(i).ok());
        jsonrpc::error_body(id, self.code, &self.message)
    }

    pub fn send(&self, host: &mut dyn Host) {
        let body = self.body();
        host.send_response(self.status, &[("content-type", "application/json")], &body);
    }
}
