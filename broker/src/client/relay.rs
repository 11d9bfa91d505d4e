//! A routed call relayed to its backend: the answer (JSON or SSE) streams back to the client
//! as it comes, bounded by the backend's silence rather than by a fan-out budget.

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use mcpgw_common::jsonrpc;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde_json::value::RawValue;

use crate::client::addressing::{request_headers, Addressing};
use crate::config::Server;
use crate::state::App;

/// A backend's answer to a routed call, as it comes (its session id left behind).
pub struct RelayedAnswer {
    pub status: u16,
    pub content_type: Option<HeaderValue>,
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

/// Why a routed call got no answer to relay.
pub enum RelayFailure {
    /// The backend could not be reached, or did not start answering within its
    /// `idle_timeout_ms`: the stable reason a client may be told (`unavailable`, `timeout`).
    Unreachable(&'static str),
    /// The backend answered HTTP 404 under a session id: it forgot that session (it
    /// restarted) and so did not process the call.
    ForgotSession,
}

/// POSTs a routed call (`body`, JSON-RPC request `id`) to `server` with the call's own
/// headers (`extra`) and relays the answer. An SSE answer that goes silent for longer than
/// `idle_timeout_ms` gets a JSON-RPC error event for the call before it ends.
pub async fn relay_call(
    app: &Arc<App>,
    server: &Server,
    addressing: &Addressing,
    method: &str,
    extra: HeaderMap,
    body: Vec<u8>,
    id: Option<&RawValue>,
) -> Result<RelayedAnswer, RelayFailure> {
    let mut h = request_headers(server, addressing, Some(method));
    h.extend(extra);
    // A routed call is bounded by silence, not by the fan-out budget: the backend may take as
    // long as it likes as long as it does not go quiet for longer than idle_timeout_ms.
    let sent = tokio::time::timeout(server.idle_timeout, app.http.post(&server.url).headers(h).body(body).send()).await;
    let resp = match sent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            app.record_error(&server.name, "connect", &e.to_string());
            return Err(RelayFailure::Unreachable("unavailable"));
        }
        Err(_) => {
            app.record_error(&server.name, "timeout", &format!("no answer to {method}"));
            return Err(RelayFailure::Unreachable("timeout"));
        }
    };
    if resp.status().as_u16() == 404 && addressing.backend_session.is_some() {
        app.record_error(&server.name, "session", &format!("{method}: the backend no longer knows this session (404)"));
        return Err(RelayFailure::ForgotSession);
    }
    app.record_ok(&server.name);
    let status = resp.status().as_u16();
    let content_type = resp.headers().get(CONTENT_TYPE).and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    let is_sse = content_type.as_ref().and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.trim_start().starts_with("text/event-stream"));
    let silence_error = is_sse.then(|| {
        let message = format!("server {:?} is unavailable (timeout: silent for longer than its idle_timeout_ms)", server.name);
        let mut event = b"event: message\ndata: ".to_vec();
        event.extend_from_slice(&jsonrpc::error_body(id, jsonrpc::INTERNAL_ERROR, &message));
        event.extend_from_slice(b"\n\n");
        Bytes::from(event)
    });
    let (app, name, method) = (Arc::clone(app), server.name.clone(), method.to_string());
    let record = move || app.record_error(&name, "timeout", &format!("{method}: silent for longer than idle_timeout_ms"));
    let body = silence_bounded(Box::pin(resp.bytes_stream()), server.idle_timeout, silence_error, record).boxed();
    Ok(RelayedAnswer { status, content_type, body })
}

/// The backend's body, ended when it stays silent for `idle`: an SSE answer then gets a
/// JSON-RPC error event for the call (`on_silence` text) before it ends, so the client learns
/// why in-band; a JSON answer can only end. `on_timeout` records it.
fn silence_bounded<S>(
    body: S,
    idle: std::time::Duration,
    on_silence: Option<Bytes>,
    on_timeout: impl Fn() + Send + 'static,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: futures::Stream<Item = reqwest::Result<Bytes>> + Send + Unpin + 'static,
{
    futures::stream::unfold(Some((body, on_silence, on_timeout)), move |state| async move {
        let (mut body, on_silence, on_timeout) = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(chunk)) => Some((chunk.map_err(std::io::Error::other), Some((body, on_silence, on_timeout)))),
            Ok(None) => None,
            Err(_) => {
                on_timeout();
                match on_silence {
                    Some(event) => Some((Ok(event), None)),
                    None => Some((Err(std::io::Error::other("backend silent for longer than its idle_timeout_ms")), None)),
                }
            }
        }
    })
}
