//! A 2026-07-28 client's request served through a throwaway backend session
//! ([`crate::client::ephemeral`]) and answered as an SSE stream: what the backend sends about
//! the request on the way (its `notifications/progress` for the request's progress token, and
//! log messages when the client asked for a log level) as it comes, then the response. The
//! 2026-07-28 transport lets a POST be answered this way; `exchange::request` instead waits
//! for the response alone, which loses the progress a client asked for.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use mcpgw_common::jsonrpc;
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::client::addressing::request_headers;
use crate::client::ephemeral::Ephemeral;
use crate::client::exchange::BackendError;
use crate::client::stream_reader::{Framing, Message, Reader};
use crate::config::Server;
use crate::sse;
use crate::state::App;

/// What the caller does to the final response before it goes out (e.g. completing
/// `resultType`), as it would to the response `exchange::request` returns.
pub type Finish = Box<dyn FnOnce(Value) -> Value + Send>;

/// The `_meta` key with which a 2026-07-28 request asks for log messages (and their level).
const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// Whether a request asked for progress (`params._meta.progressToken`): then its answer is
/// worth streaming.
pub fn wants_progress(request: &Value) -> bool {
    progress_token(request).is_some()
}

fn progress_token(request: &Value) -> Option<&Value> {
    request.pointer("/params/_meta/progressToken").filter(|t| t.is_string() || t.is_number())
}

/// Sends `request` on `throwaway` and returns its answer as SSE bytes (see the module docs),
/// bounded as `exchange::request` is: the whole exchange within the server's timeout, after
/// which the stream ends with a JSON-RPC error for the request. `client_meta` is the client's
/// `_meta` (log messages are relayed only when it names a log level). The throwaway session
/// is closed when the answer has ended or the client went away. An `Err` when the backend gave
/// no answer at all (the session is then closed already).
pub async fn request_streaming(
    app: Arc<App>,
    server: Arc<Server>,
    throwaway: Ephemeral,
    request: Value,
    client_meta: Option<&Value>,
    finish: Finish,
) -> Result<BoxStream<'static, Bytes>, BackendError> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + server.timeout;
    let method = request.get("method").and_then(Value::as_str).unwrap_or("?").to_string();
    let h = request_headers(&server, &throwaway.addressing, Some(&method));
    let sent = tokio::time::timeout_at(deadline, app.http.post(&server.url).headers(h).body(request.to_string()).send()).await;
    // Any HTTP answer is read: a JSON-RPC error body on a 4xx is still an answer to pass on.
    let resp = match sent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(gave_up(&app, &server, throwaway, failure("connect", e.to_string())).await),
        Err(_) => return Err(gave_up(&app, &server, throwaway, failure("timeout", format!("no answer to {method} within {} ms", server.timeout.as_millis()))).await),
    };
    let status = resp.status();
    // How a stream that ends without the response failed: an HTTP refusal says more.
    let unanswered = match status.as_u16() {
        404 => failure("session", "the backend no longer knows this session (404)"),
        s if !(200..300).contains(&s) => failure("status", format!("HTTP {s} to {method}")),
        _ => failure("protocol", "the event stream ended without a response"),
    };
    let is_sse = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/event-stream"));
    let want = Wanted {
        id: request.get("id").cloned().unwrap_or(Value::Null),
        progress: progress_token(&request).cloned(),
        logs: client_meta.and_then(|m| m.get(LOG_LEVEL)).is_some(),
    };
    let (tx, mut rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        // A JSON answer is read the same way: its one message is the response.
        let mut reader = Reader::new(if is_sse { Framing::Sse } else { Framing::Ndjson });
        let mut body = resp.bytes_stream();
        let mut finish = Some(finish);
        let outcome = loop {
            let chunk = tokio::select! {
                _ = tx.closed() => break Outcome::ClientGone,
                c = tokio::time::timeout_at(deadline, body.next()) => c,
            };
            let (messages, ended) = match chunk {
                Err(_) => break Outcome::Failed(failure("timeout", format!("no answer to {method} within {} ms", server.timeout.as_millis()))),
                Ok(Some(Ok(c))) => (reader.push(&c), false),
                Ok(Some(Err(e))) => break Outcome::Failed(failure("connect", e.to_string())),
                Ok(None) => (reader.finish(), true),
            };
            let mut answered = false;
            for Message { message, .. } in messages {
                if want.is_response(&message) {
                    let done = finish.take().map_or(message.clone(), |f| f(message));
                    let _ = tx.send(sse::encode(&done)).await;
                    answered = true;
                    break;
                }
                if want.concerns(&message) && tx.send(sse::encode(&message)).await.is_err() {
                    break;
                }
            }
            if answered {
                break Outcome::Answered;
            }
            if ended {
                break Outcome::Failed(unanswered);
            }
        };
        app.metrics.backend_latency(&server.name, &method, started.elapsed().as_secs_f64());
        match outcome {
            Outcome::Answered => app.record_ok(&server.name),
            Outcome::ClientGone => {}
            Outcome::Failed(e) => {
                app.record_error(&server.name, e.kind, &e.message);
                let message = format!("server {:?} failed ({})", server.name, e.reason());
                let error = json!({"jsonrpc": "2.0", "id": want.id, "error": {"code": jsonrpc::INTERNAL_ERROR, "message": message}});
                let _ = tx.send(sse::encode(&error)).await;
            }
        }
        drop(tx);
        throwaway.close(&app, &server).await;
    });
    Ok(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed())
}

/// Records a failure before any answer and closes the throwaway session.
async fn gave_up(app: &App, server: &Server, throwaway: Ephemeral, e: BackendError) -> BackendError {
    app.record_error(&server.name, e.kind, &e.message);
    throwaway.close(app, server).await;
    e
}

enum Outcome {
    Answered,
    ClientGone,
    Failed(BackendError),
}

fn failure(kind: &'static str, message: impl Into<String>) -> BackendError {
    BackendError { kind, message: message.into() }
}

/// What of the backend's stream the client gets.
struct Wanted {
    id: Value,
    progress: Option<Value>,
    logs: bool,
}

impl Wanted {
    fn is_response(&self, m: &Value) -> bool {
        (m.get("result").is_some() || m.get("error").is_some()) && m.get("method").is_none() && m.get("id") == Some(&self.id)
    }

    /// A notification about this request: its progress, or a log message it asked for. The
    /// backend's own requests (sampling, elicitation) cannot be put to a 2026-07-28 client on
    /// a response stream and are left out, as `exchange::request` leaves them.
    fn concerns(&self, m: &Value) -> bool {
        if m.get("id").is_some() {
            return false;
        }
        match m.get("method").and_then(Value::as_str) {
            Some("notifications/progress") => self.progress.is_some() && m.pointer("/params/progressToken") == self.progress.as_ref(),
            Some("notifications/message") => self.logs,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_what_concerns_the_request() {
        let req = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "t", "_meta": {"progressToken": "p1"}}});
        assert!(wants_progress(&req));
        assert!(!wants_progress(&json!({"id": 1, "params": {"_meta": {}}})));
        let w = Wanted { id: json!(7), progress: Some(json!("p1")), logs: false };
        assert!(w.concerns(&json!({"method": "notifications/progress", "params": {"progressToken": "p1", "progress": 1}})));
        assert!(!w.concerns(&json!({"method": "notifications/progress", "params": {"progressToken": "other", "progress": 1}})));
        assert!(!w.concerns(&json!({"method": "notifications/message", "params": {"level": "info"}})));
        assert!(!w.concerns(&json!({"id": 3, "method": "sampling/createMessage"})));
        assert!(Wanted { logs: true, ..w }.concerns(&json!({"method": "notifications/message", "params": {}})));
        let w = Wanted { id: json!(7), progress: None, logs: false };
        assert!(w.is_response(&json!({"jsonrpc": "2.0", "id": 7, "result": {}})));
        assert!(!w.is_response(&json!({"jsonrpc": "2.0", "id": 8, "result": {}})));
    }
}
