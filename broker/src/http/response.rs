//! Writing HTTP responses: a handler's [`Reply`] (its status, its headers, and its body with
//! the content type that body has), and the surface's own plain-text and JSON answers.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures::StreamExt;

use crate::handlers::{Reply, ReplyBody};

/// The HTTP response for a handler's reply.
pub fn write(reply: Reply) -> Response {
    let Reply { status, headers, body } = reply;
    let mut r = match body {
        ReplyBody::Empty => Response::new(Body::empty()),
        ReplyBody::Json(bytes) => json(StatusCode::OK, bytes),
        ReplyBody::Events(events) => {
            let mut r = Response::new(Body::from_stream(events.map(Ok::<_, std::convert::Infallible>)));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            r
        }
        ReplyBody::Relayed(answer) => {
            let mut r = Response::new(Body::from_stream(answer.body));
            if let Some(ct) = answer.content_type {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r
        }
    };
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    r.headers_mut().extend(headers);
    r
}

pub fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub fn plain(status: StatusCode, text: &str) -> Response {
    let mut r = Response::new(Body::from(text.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}
