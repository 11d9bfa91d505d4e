//! Building HTTP responses that carry JSON-RPC messages.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

pub fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub fn result(id: &Value, result: Value) -> Response {
    json(StatusCode::OK, json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string().into_bytes())
}

/// A JSON-RPC error with the request's id (or null), in the shared crate's shape.
pub fn error(status: StatusCode, id: Option<&Value>, code: i32, message: &str) -> Response {
    let raw = id.and_then(|v| serde_json::value::to_raw_value(v).ok());
    json(status, mcpgw_common::jsonrpc::error_body(raw.as_deref(), code, message))
}

/// The HTTP status a 2026-07-28 error travels with (the same table as the official SDKs):
/// client faults are 400, an unknown or removed method is 404, anything else 200.
pub fn modern_status(code: i32) -> StatusCode {
    use mcpgw_common::jsonrpc::*;
    match code {
        PARSE_ERROR | INVALID_REQUEST | INVALID_PARAMS | HEADER_MISMATCH => StatusCode::BAD_REQUEST,
        crate::modern::MISSING_REQUIRED_CLIENT_CAPABILITY | crate::modern::UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

/// A JSON-RPC error to a 2026-07-28 request, with the status [`modern_status`] gives.
pub fn modern_error(id: Option<&Value>, code: i32, message: &str) -> Response {
    error(modern_status(code), id, code, message)
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
