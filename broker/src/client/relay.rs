//! A routed call relayed to its backend: the answer (JSON or SSE) streams back to the client
//! as it comes, bounded by the backend's silence rather than by a fan-out budget; for a
//! 2026-07-28 client, completed with what its revision requires of the result when the
//! backend omits it ([`complete_results`]).

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use mcpgw_common::jsonrpc;
use mcpgw_common::protocol::stateless_result::{self, Inspection, Required};
use mcpgw_common::protocol::Method;
use mcpgw_common::sse::{Part, Splitter};
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

/// Largest answer (a JSON body, or one SSE event) held to be completed; a larger one goes on
/// as it is. Generous: the broker holds it for one call, and a result the client cannot
/// parse is worse than a few megabytes held for a moment.
pub const MAX_COMPLETED_BYTES: usize = 16 * 1024 * 1024;

/// A modern backend's answer to a 2026-07-28 client's `method`, completed with what the
/// revision requires of its result (`resultType`, the caching keys; see
/// `mcpgw_common::protocol::stateless_result`) when the backend omits it. A JSON answer is
/// held until it ends (it is one document) and spliced; an SSE answer streams on, its events
/// byte for byte, except the response event, rebuilt when it lacks something.
///
/// Once one of a server's answers was complete, its later ones go on unread
/// (`state::result_compliance`, per config generation). The backend's silence bound is the
/// relay's own, below this: holding a JSON answer waits for its chunks under the same bound.
pub fn complete_results(app: &Arc<App>, server: &str, generation: u64, method: Method, answer: RelayedAnswer) -> RelayedAnswer {
    let required = Required::of(method);
    if !required.any() || !(200..300).contains(&answer.status) || app.result_compliance.complies(server, generation, required) {
        return answer;
    }
    let ct = answer.content_type.as_ref().and_then(|v| v.to_str().ok()).map(|v| v.trim_start().to_ascii_lowercase());
    let (app, server) = (Arc::clone(app), server.to_string());
    let on_compliant = Box::new(move || app.result_compliance.remember(&server, generation, required));
    let learn = Learn { required, on_compliant };
    let RelayedAnswer { status, content_type, body } = answer;
    let body = match ct {
        Some(ct) if ct.starts_with("text/event-stream") => complete_sse(body, learn),
        Some(ct) if ct.starts_with("application/json") => complete_json(body, learn),
        _ => body,
    };
    RelayedAnswer { status, content_type, body }
}

/// What the answer must hold, and what to do on finding it complete (remember the server).
struct Learn {
    required: Required,
    on_compliant: Box<dyn Fn() + Send + Sync>,
}

impl Learn {
    fn saw(&self, found: &Inspection) {
        if *found == Inspection::Compliant {
            (self.on_compliant)();
        }
    }
}

pub type Body = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// A JSON answer: held whole (up to [`MAX_COMPLETED_BYTES`]), then completed or passed on.
fn complete_json(body: Body, learn: Learn) -> Body {
    rewrite_json(body, MAX_COMPLETED_BYTES, move |buf| {
        let found = stateless_result::inspect(&buf, learn.required);
        learn.saw(&found);
        match found {
            Inspection::Missing(m) => m.apply(&buf).unwrap_or(buf),
            Inspection::Compliant | Inspection::OtherKind | Inspection::NotAResult => buf,
        }
    })
}

/// A JSON answer held whole, up to `limit` bytes, and passed on as `rewrite` makes it. A longer
/// one goes on as it came (what was held, then the rest); a broken one too (what came, then
/// the error). The one place the relay holds an answer back (result completion, task ids).
pub fn rewrite_json(mut body: Body, limit: usize, rewrite: impl FnOnce(Vec<u8>) -> Vec<u8> + Send + 'static) -> Body {
    let held = async move {
        let mut buf: Vec<u8> = Vec::new();
        while let Some(item) = body.next().await {
            match item {
                Ok(chunk) => {
                    buf.extend_from_slice(&chunk);
                    if buf.len() > limit {
                        return (vec![Ok(Bytes::from(buf))], Some(body));
                    }
                }
                Err(e) => return (vec![Ok(Bytes::from(buf)), Err(e)], None),
            }
        }
        (vec![Ok(Bytes::from(rewrite(buf)))], None)
    };
    futures::stream::once(held)
        .flat_map(|(head, rest)| {
            let head = futures::stream::iter(head.into_iter().filter(|c| c.as_ref().map_or(true, |b| !b.is_empty())));
            head.chain(rest.unwrap_or_else(|| futures::stream::empty().boxed()))
        })
        .boxed()
}

/// An SSE answer: cut into events as it comes; the first event holding a result is
/// completed (or found complete), everything else goes on byte for byte.
fn complete_sse(body: Body, learn: Learn) -> Body {
    struct State {
        body: Body,
        split: Splitter,
        learn: Learn,
        /// The response event went by: the rest is passed on.
        done: bool,
    }
    impl State {
        fn feed(&mut self, chunk: &[u8], end: bool) -> Vec<u8> {
            let mut out = Vec::with_capacity(chunk.len());
            let (done, learn) = (&mut self.done, &self.learn);
            self.split.push(chunk, end, |piece| {
                if piece.part == Part::Event && !*done {
                    let (found, rebuilt) = stateless_result::inspect_event(piece.bytes, learn.required);
                    if found != Inspection::NotAResult {
                        *done = true;
                        learn.saw(&found);
                    }
                    out.extend_from_slice(rebuilt.as_deref().unwrap_or(piece.bytes));
                } else {
                    out.extend_from_slice(piece.bytes);
                }
            });
            out
        }
    }
    let state = State { body, split: Splitter::new(MAX_COMPLETED_BYTES), learn, done: false };
    futures::stream::unfold(Some(state), |state| async move {
        let mut st = state?;
        match st.body.next().await {
            Some(Ok(chunk)) => {
                // After the response event, whole events go on as the chunks they came in.
                if st.done && st.split.skip(&chunk, false) {
                    return Some((Ok(chunk), Some(st)));
                }
                let out = st.feed(&chunk, false);
                Some((Ok(Bytes::from(out)), Some(st)))
            }
            Some(Err(e)) => {
                let held = st.feed(&[], true);
                let item = if held.is_empty() { Err(e) } else { Ok(Bytes::from(held)) };
                Some((item, None))
            }
            None => {
                let held = st.feed(&[], true);
                (!held.is_empty()).then(|| (Ok(Bytes::from(held)), None))
            }
        }
    })
    .filter(|item| futures::future::ready(item.as_ref().map_or(true, |b| !b.is_empty())))
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn body(chunks: &[&'static str]) -> Body {
        let items: Vec<Result<Bytes, std::io::Error>> = chunks.iter().map(|c| Ok(Bytes::from_static(c.as_bytes()))).collect();
        futures::stream::iter(items).boxed()
    }

    fn learn(method: Method) -> (Learn, Arc<AtomicBool>) {
        let seen = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&seen);
        (Learn { required: Required::of(method), on_compliant: Box::new(move || flag.store(true, Ordering::SeqCst)) }, seen)
    }

    async fn text(b: Body) -> String {
        let chunks: Vec<_> = b.collect().await;
        let bytes: Vec<u8> = chunks.into_iter().flat_map(|c| c.unwrap().to_vec()).collect();
        String::from_utf8(bytes).unwrap()
    }

    #[tokio::test]
    async fn json_answers_are_completed_and_compliant_ones_learnt() {
        let (l, seen) = learn(Method::ToolsCall);
        let out = text(complete_json(body(&[r#"{"jsonrpc":"2.0","id":1,"res"#, r#"ult":{"content":[]}}"#]), l)).await;
        assert_eq!(out, r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"complete"}}"#);
        assert!(!seen.load(Ordering::SeqCst));

        let (l, seen) = learn(Method::ToolsCall);
        let ok = r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}"#;
        assert_eq!(text(complete_json(body(&[ok]), l)).await, ok);
        assert!(seen.load(Ordering::SeqCst));

        // Nor does an input_required result: the server may leave its complete ones bare.
        let (l, seen) = learn(Method::ToolsCall);
        let ir = r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","inputRequests":{}}}"#;
        assert_eq!(text(complete_json(body(&[ir]), l)).await, ir);
        assert!(!seen.load(Ordering::SeqCst));

        // An error teaches nothing.
        let (l, seen) = learn(Method::ToolsCall);
        let err = r#"{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"m"}}"#;
        assert_eq!(text(complete_json(body(&[err]), l)).await, err);
        assert!(!seen.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn sse_answers_complete_the_response_event_only() {
        let progress = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n";
        let (l, _) = learn(Method::ResourcesRead);
        let b = body(&[progress, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,", "\"result\":{\"contents\":[]}}\n\n"]);
        assert_eq!(
            text(complete_sse(b, l)).await,
            format!("{progress}event: message\ndata: {{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"contents\":[],\"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":\"private\"}}}}\n\n")
        );
        // A cut-off event goes on as it came.
        let (l, _) = learn(Method::ToolsCall);
        assert_eq!(text(complete_sse(body(&[progress, "data: {\"jsonrpc\""]), l)).await, format!("{progress}data: {{\"jsonrpc\""));
        // A compliant response is learnt, and passed on byte for byte.
        let (l, seen) = learn(Method::ToolsCall);
        let ok = "id: 4\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\"}}\r\n\r\n";
        assert_eq!(text(complete_sse(body(&[ok, progress]), l)).await, format!("{ok}{progress}"));
        assert!(seen.load(Ordering::SeqCst));
    }
}
