//! What a handler answers, before it is HTTP: a status, the headers it adds (a new session's
//! `Mcp-Session-Id`, the backend session the filter is taught), and a body: nothing, one
//! JSON-RPC message, a notification stream, or a backend's answer relayed as it comes. The
//! JSON-RPC messages are built here; the surface (`http::response`) writes the rest.

use bytes::Bytes;
use futures::stream::BoxStream;
use mcpgw_common::jsonrpc;
use mcpgw_common::protocol::refusal::http_status;
use mcpgw_common::protocol::{Era, Refusal};
use reqwest::header::HeaderMap;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::client::relay::RelayedAnswer;

pub struct Reply {
    pub status: u16,
    /// Headers beyond the body's content type.
    pub headers: HeaderMap,
    pub body: ReplyBody,
}

pub enum ReplyBody {
    Empty,
    /// One JSON-RPC message (`application/json`).
    Json(Vec<u8>),
    /// A notification stream (`text/event-stream`), SSE-encoded.
    Events(BoxStream<'static, Bytes>),
    /// A backend's answer to a routed call, with the content type it gave.
    Relayed(RelayedAnswer),
}

impl Reply {
    pub fn json(status: u16, body: Vec<u8>) -> Reply {
        Reply { status, headers: HeaderMap::new(), body: ReplyBody::Json(body) }
    }

    /// A JSON-RPC result for request `id` (HTTP 200).
    pub fn result(id: Option<&RawValue>, result: Value) -> Reply {
        #[derive(serde::Serialize)]
        struct Success<'a> {
            jsonrpc: &'static str,
            id: Option<&'a RawValue>,
            result: Value,
        }
        Reply::json(200, serde_json::to_vec(&Success { jsonrpc: "2.0", id, result }).unwrap_or_default())
    }

    /// A JSON-RPC error with the request's id (or null), with the HTTP status given.
    pub fn error(status: u16, id: Option<&RawValue>, code: i32, message: &str) -> Reply {
        Reply::json(status, jsonrpc::error_body(id, code, message))
    }

    /// A JSON-RPC error about a request of `era`, with the HTTP status that era gives the
    /// code (`mcpgw_common::protocol::refusal::http_status`, the filter's table too).
    pub fn rpc_error(era: Era, id: Option<&RawValue>, code: i32, message: &str) -> Reply {
        Reply::error(http_status(era, code), id, code, message)
    }

    /// A request `mcpgw_common::protocol::decide` refused, as the filter refuses it.
    pub fn refused(refusal: &Refusal) -> Reply {
        Reply::json(refusal.status, refusal.body())
    }

    /// HTTP 202: a notification or a client's answer, taken.
    pub fn accepted() -> Reply {
        Reply::empty(202)
    }

    pub fn empty(status: u16) -> Reply {
        Reply { status, headers: HeaderMap::new(), body: ReplyBody::Empty }
    }

    /// A notification stream (HTTP 200).
    pub fn events(stream: BoxStream<'static, Bytes>) -> Reply {
        Reply { status: 200, headers: HeaderMap::new(), body: ReplyBody::Events(stream) }
    }

    /// A backend's answer, relayed with its own status.
    pub fn relayed(answer: RelayedAnswer) -> Reply {
        Reply { status: answer.status, headers: HeaderMap::new(), body: ReplyBody::Relayed(answer) }
    }
}
