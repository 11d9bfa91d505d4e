//! Raw JSON-RPC over streamable HTTP towards one backend: a request and its answer (JSON or
//! SSE), a notification or client answer, the end of a backend session. Bodies stay
//! `serde_json::Value` (or bytes as the client sent them) so every field a backend sends
//! (annotations, outputSchema, _meta, icons…) survives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use mcpgw_common::headers;
use mcpgw_common::protocol::Method;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use serde_json::Value;

use crate::client::addressing::{request_headers, Addressing};
use crate::config::Server;
use crate::sse;
use crate::state::App;

#[derive(Debug, Clone)]
pub struct BackendError {
    pub kind: &'static str,
    pub message: String,
}

impl BackendError {
    /// What a client may be told about this failure: a stable word, never the details
    /// (addresses, URLs, OS errors, the backend's own error text), which go to the log,
    /// metrics (by kind) and the credential holder's `/status`.
    pub fn reason(&self) -> &'static str {
        match self.kind {
            "timeout" => "timeout",
            "status" => "refused",
            "protocol" => "invalid_response",
            "rpc" => "rpc_error",
            "session" => "session_lost",
            _ => "unavailable",
        }
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

fn err(kind: &'static str, message: impl Into<String>) -> BackendError {
    BackendError { kind, message: message.into() }
}

/// A backend's answer to one request.
#[derive(Debug)]
pub struct BackendReply {
    pub session_id: Option<String>,
    /// The JSON-RPC response (with `result` or `error`).
    pub message: Value,
}

impl BackendReply {
    pub fn result(&self) -> Result<&Value, BackendError> {
        if let Some(r) = self.message.get("result") {
            return Ok(r);
        }
        let e = self.message.get("error").cloned().unwrap_or(Value::Null);
        Err(err("rpc", format!("{}", e)))
    }
}

/// POSTs one JSON-RPC request and waits (within the server's timeout) for its response.
pub async fn request(app: &App, server: &Server, addressing: &Addressing, body: &Value) -> Result<BackendReply, BackendError> {
    let method = body.get("method").and_then(Value::as_str).unwrap_or("?").to_string();
    let started = Instant::now();
    let out = tokio::time::timeout(server.timeout, request_inner(app, server, addressing, body, &method)).await;
    app.metrics.backend_latency(&server.name, &method, started.elapsed().as_secs_f64());
    let out = match out {
        Ok(r) => r,
        Err(_) => Err(err("timeout", format!("no answer to {method} within {} ms", server.timeout.as_millis()))),
    };
    match &out {
        Ok(_) => app.record_ok(&server.name),
        Err(e) => app.record_error(&server.name, e.kind, &e.message),
    }
    out
}

/// The id of the next request the broker sends.
static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// `body` with an id of the broker's own: every request it sends has a different one, so two
/// in flight on one backend session (two lists a client asked for at once, each starting at
/// page 0) never share an id; the backend keys its answer streams by id and would lose one.
fn with_own_id(body: &Value) -> Value {
    let mut own = body.clone();
    if let Some(id) = own.get_mut("id") {
        *id = Value::from(NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed));
    }
    own
}

async fn request_inner(app: &App, server: &Server, addressing: &Addressing, body: &Value, method: &str) -> Result<BackendReply, BackendError> {
    let caller_id = body.get("id").cloned();
    let mut reply = send_request(app, server, addressing, &with_own_id(body), method).await?;
    // The caller sees its own id on the answer, as if it had been sent with it.
    if let (Some(id), Some(slot)) = (caller_id, reply.message.get_mut("id")) {
        *slot = id;
    }
    Ok(reply)
}

async fn send_request(app: &App, server: &Server, addressing: &Addressing, body: &Value, method: &str) -> Result<BackendReply, BackendError> {
    let mut h = request_headers(server, addressing, Some(method));
    if let (Some(name), true) = (mcp_name(body), h.contains_key(headers::METHOD)) {
        if let Ok(v) = HeaderValue::from_str(&headers::encode_value(&name)) {
            h.insert(headers::NAME, v);
        }
    }
    let resp = app
        .http
        .post(&server.url)
        .headers(h)
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| err("connect", e.to_string()))?;
    let status = resp.status().as_u16();
    let session_id = resp.headers().get(headers::SESSION_ID).and_then(|v| v.to_str().ok()).map(String::from);
    let is_sse = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if status == 404 && addressing.backend_session.is_some() {
        return Err(err("session", "the backend no longer knows this session (404)"));
    }
    if !(200..300).contains(&status) {
        let text = resp.text().await.unwrap_or_default();
        // A JSON-RPC error body on a 4xx is still an answer worth passing on.
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            if v.get("error").is_some() {
                return Ok(BackendReply { session_id, message: v });
            }
        }
        return Err(err("status", format!("HTTP {status}: {}", text.chars().take(200).collect::<String>())));
    }
    let want_id = body.get("id").cloned();
    if !is_sse {
        let bytes = resp.bytes().await.map_err(|e| err("connect", e.to_string()))?;
        if bytes.is_empty() {
            return Ok(BackendReply { session_id, message: Value::Null });
        }
        let message: Value = serde_json::from_slice(&bytes).map_err(|e| err("protocol", format!("invalid JSON: {e}")))?;
        return Ok(BackendReply { session_id, message });
    }
    let mut parser = sse::Parser::with_limit(crate::client::stream_reader::MAX_MESSAGE_BYTES);
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| err("connect", e.to_string()))?;
        for ev in parser.push(&chunk) {
            let Ok(msg) = serde_json::from_str::<Value>(&ev.data) else { continue };
            let is_response = msg.get("result").is_some() || msg.get("error").is_some();
            if is_response && (want_id.is_none() || msg.get("id") == want_id.as_ref()) {
                return Ok(BackendReply { session_id, message: msg });
            }
            // Anything else the backend sends on the way (notifications, its own requests)
            // is not relayed: callers of `request` want the response alone.
        }
    }
    Err(err("protocol", "the event stream ended without a response"))
}

/// `params.name` / `params.uri` of requests whose name travels in `Mcp-Name`.
fn mcp_name(body: &Value) -> Option<String> {
    let method = Method::parse(body.get("method")?.as_str()?)?;
    let field = match method.name_header_field()? {
        headers::NameField::Name => "name",
        headers::NameField::Uri => "uri",
        headers::NameField::TaskId => "taskId",
    };
    body.get("params")?.get(field)?.as_str().map(String::from)
}

/// POSTs a notification (202 expected); failures are logged, not fatal. The HTTP status, when
/// there was an answer (a 404 under a session id: the backend forgot the session).
pub async fn notify(app: &App, server: &Server, addressing: &Addressing, body: &Value) -> Option<u16> {
    let method = body.get("method").and_then(Value::as_str);
    send(app, server, addressing, method, Bytes::from(body.to_string())).await
}

/// [`notify`] for a body as the client sent it (a notification, or an answer to a server
/// request, which has no method): passed on byte for byte.
pub async fn send(app: &App, server: &Server, addressing: &Addressing, method: Option<&str>, body: Bytes) -> Option<u16> {
    let fut = app.http.post(&server.url).headers(request_headers(server, addressing, method)).body(body).send();
    let method = method.unwrap_or("a response");
    match tokio::time::timeout(server.timeout, fut).await {
        Ok(Ok(r)) if r.status().is_success() => Some(r.status().as_u16()),
        Ok(Ok(r)) if r.status().as_u16() == 404 && addressing.backend_session.is_some() => Some(404),
        Ok(Ok(r)) => {
            app.record_error(&server.name, "status", &format!("HTTP {} to {method}", r.status()));
            Some(r.status().as_u16())
        }
        Ok(Err(e)) => {
            app.record_error(&server.name, "connect", &e.to_string());
            None
        }
        Err(_) => {
            app.record_error(&server.name, "timeout", &format!("no answer to {method}"));
            None
        }
    }
}

/// Whether a failed call means the backend forgot the session it was sent (HTTP 404): it did
/// not process the call, so repeating it on a replacement session is safe.
pub fn forgot_session(e: &BackendError) -> bool {
    e.kind == "session"
}

/// Ends a backend session (DELETE); best effort.
pub async fn delete_session(app: &App, server: &Server, addressing: &Addressing) -> bool {
    let fut = app.http.delete(&server.url).headers(request_headers(server, addressing, None)).send();
    match tokio::time::timeout(server.timeout, fut).await {
        Ok(Ok(r)) => r.status().is_success() || r.status().as_u16() == 404 || r.status().as_u16() == 405,
        _ => false,
    }
}

