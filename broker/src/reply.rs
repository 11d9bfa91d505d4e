//! Building HTTP responses that carry JSON-RPC messages.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use mcpgw_common::protocol::refusal::http_status;
use mcpgw_common::protocol::Era;
use serde_json::value::RawValue;
use serde_json::Value;

pub fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub fn result(id: Option<&RawValue>, result: Value) -> Response {
    #[derive(serde::Serialize)]
    struct Success<'a> {
        jsonrpc: &'static str,
        id: Option<&'a RawValue>,
        result: Value,
    }
    json(StatusCode::OK, serde_json::to_vec(&Success { jsonrpc: "2.0", id, result }).unwrap_or_default())
}

/// A JSON-RPC error with the request's id (or null), in the shared crate's shape.
pub fn error(status: StatusCode, id: Option<&RawValue>, code: i32, message: &str) -> Response {
    json(status, mcpgw_common::jsonrpc::error_body(id, code, message))
}

/// A JSON-RPC error about a request of `era`, with the HTTP status that era gives the code
/// (`mcpgw_common::protocol::refusal::http_status`, the filter's table too).
pub fn rpc_error(era: Era, id: Option<&RawValue>, code: i32, message: &str) -> Response {
    let status = StatusCode::from_u16(http_status(era, code)).unwrap_or(StatusCode::OK);
    error(status, id, code, message)
}

pub fn accepted() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::ACCEPTED;
    r
}

pub fn plain(status: StatusCode, text: &str) -> Response {
    let mut r = Response::new(Body::from(text.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

pub fn sse_headers(r: &mut Response) {
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}
