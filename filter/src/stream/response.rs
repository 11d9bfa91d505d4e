//! The backend's (or broker's) answer: backend session ids hidden, backend sessions the broker
//! opened learnt, a restarted backend's 404 turned into a JSON-RPC error for that one call,
//! server-to-client request ids namespaced on SSE answers, and a `sessionless` server's result
//! completed for a 2026-07-28 client when it lacks what that revision requires (`resultType`,
//! the caching keys; `mcpgw_common::protocol::stateless_result`).
//!
//! Completing costs: a JSON answer is held (response headers paused) until it ends, read out of
//! Envoy once and, when something is missing, written back with `content-length` removed; an
//! SSE answer is cut into events until its response event. Both only until the server is seen
//! answering one such result complete (per VM, `Plugin::answers_complete`): from then on its
//! answers pass unread, as they did before.

use std::rc::Rc;

use mcpgw_common::backend_session;
use mcpgw_common::headers as mcp_headers;
use mcpgw_common::jsonrpc::{self, BACKEND_RESTARTED};
use mcpgw_common::protocol::stateless_result::{self, Inspection, Required};
use mcpgw_common::protocol::Era;
use mcpgw_common::sse::{Part, Splitter};
use serde_json::value::RawValue;

use super::{Action, CounterExt, DirectCall, Stream};
use crate::host::Host;
use crate::metadata;
use crate::revocation;
use crate::sse_ids::SseIdRewriter;
use crate::stats::ErrorKind;

impl Stream {
    pub fn on_response_headers(&mut self, host: &mut dyn Host) -> Action {
        if self.answered {
            return Action::Continue;
        }
        if self.via_broker {
            self.learn_backend_session(host);
        }
        let plugin = Rc::clone(&self.plugin);
        let Some(server) = self.routed_to.and_then(|i| plugin.config.servers.get(i)) else {
            return Action::Continue;
        };
        // Before anything else (the no-capabilities shortcut below included), and only for
        // calls sent with a backend session id: one header read, nothing more on other answers.
        if let Some(direct) = self.direct.take() {
            if host.response_header(":status").as_deref() == Some("404") {
                return self.backend_forgot_session(host, &server.name, &direct);
            }
        }
        host.remove_response_header(mcp_headers::SESSION_ID);
        // A session whose client declared no capabilities gets no server requests to
        // namespace: its answers pass through unread (each read copies the chunk out of
        // Envoy). Without a session (2026-07-28) the client's capabilities are not known here.
        if self.session.as_ref().is_some_and(|c| !c.accepts_server_requests) {
            return Action::Continue;
        }
        let content_type = host.response_header("content-type");
        let is_sse = content_type.as_deref().is_some_and(|ct| ct.trim_start().starts_with("text/event-stream"));
        if is_sse {
            self.sse = Some(SseIdRewriter::new(&server.name));
            // Rewriting changes the length; SSE is normally chunked anyway.
            host.remove_response_header("content-length");
        }
        self.start_completing(host, is_sse, content_type.as_deref())
    }

    /// A 2026-07-28 call sent straight to a `sessionless` server whose results are not known
    /// to be complete: its answer is checked (and completed). A JSON answer pauses the
    /// response headers until the body is whole (its `content-length` may change).
    fn start_completing(&mut self, host: &mut dyn Host, is_sse: bool, content_type: Option<&str>) -> Action {
        let (Some(index), Some(method)) = (self.routed_to, self.method) else { return Action::Continue };
        if self.era != Era::Stateless {
            return Action::Continue;
        }
        let required = Required::of(method);
        if !required.any() || self.plugin.answers_complete(index, required) {
            return Action::Continue;
        }
        if is_sse {
            self.completing = Some(Completing::Sse(SseCompleter::new(index, required, self.plugin.config.max_body_bytes)));
            return Action::Continue;
        }
        let is_json = content_type.is_some_and(|ct| ct.trim_start().starts_with("application/json"));
        // Pausing headers that end the stream would stall it (no body callback follows): only
        // a 200 with a body is held.
        if !is_json || host.response_header(":status").as_deref() != Some("200") || host.response_header("content-length").as_deref() == Some("0") {
            return Action::Continue;
        }
        self.completing = Some(Completing::Json { index, required });
        Action::Pause
    }

    /// The broker's answer to a session-bearing request: when it opened (or replaced) a
    /// backend session for the call, it says so in `x-mcp-backend-session`. The header is
    /// removed (a client never sees a backend session id) and the id written to shared data,
    /// so that every worker of this Envoy sends the session's later calls for that server
    /// straight to the backend. One header read per such answer; a write only when the broker
    /// taught something (the first call of a session to a server, or after a restart).
    pub(super) fn learn_backend_session(&mut self, host: &mut dyn Host) {
        let Some(value) = host.response_header(backend_session::HEADER) else { return };
        host.remove_response_header(backend_session::HEADER);
        let Some(claims) = self.session.clone() else { return };
        let now = host.now_unix_secs();
        for (server, id) in backend_session::decode(&value) {
            let known = self.plugin.config.servers.iter().any(|s| s.name == server);
            // The store bounds what it learns (visible ASCII, a bounded line).
            if !known || self.marks.learned(&server) == Some(id.as_str()) {
                continue;
            }
            revocation::learn(host, &claims.id, &server, &id, claims.expires_at, now);
        }
    }

    /// The backend answered 404 to a call sent with a learnt backend session id: it no
    /// longer knows that session (it restarted), so it did not run the call. The 404 must not
    /// reach the client (the spec tells a client to drop its whole session on a 404, every
    /// other backend's state with it). The session's later calls to this server go to the
    /// broker (a stale mark in shared data, seen by every worker of this Envoy), which opens a
    /// replacement backend session; this call gets a JSON-RPC error saying it was not run and
    /// that retrying it will work.
    ///
    /// The reply is a local reply sent from the response path: Envoy defers it until the VM
    /// call returns and, the upstream's headers not having been sent downstream yet, writes it
    /// straight to the codec in place of the backend's answer (`sendDirectLocalReply`).
    pub(super) fn backend_forgot_session(&mut self, host: &mut dyn Host, server: &str, direct: &DirectCall) -> Action {
        if let Some(claims) = self.session.clone() {
            let now = host.now_unix_secs();
            revocation::mark_stale(host, &claims.id, server, claims.expires_at, now);
        }
        let kind = ErrorKind::BackendRestarted;
        host.increment_counter_opt(self.plugin.stats.error(kind));
        if self.plugin.config.filter_state {
            host.set_filter_state(metadata::F_ERROR.state_key, kind.name());
        }
        self.answered = true;
        self.sse = None;
        match &direct.request_id {
            Some(id) => {
                let message = format!(
                    "Server {server:?} restarted and no longer knew this session, so the call was not run. Retry it: the gateway now uses a new session with {server:?} (state kept by the server for this session, such as the log level or resource subscriptions, was lost)"
                );
                let id = serde_json::from_str::<&RawValue>(id).ok();
                host.send_response(200, &[("content-type", "application/json")], &jsonrpc::error_body(id, BACKEND_RESTARTED, &message));
            }
            // A client's answer to a server request: the request it answers died with the
            // backend. Accepted (as the backend would have), not a 404.
            None => host.send_response(202, &[], b""),
        }
        Action::Pause
    }

    pub fn on_response_body(&mut self, host: &mut dyn Host, body_size: usize, end_of_stream: bool) -> Action {
        if self.answered {
            return Action::Continue;
        }
        if let Some(Completing::Json { index, required }) = self.completing {
            return self.complete_json(host, index, required, body_size, end_of_stream);
        }
        if self.sse.is_none() && self.completing.is_none() {
            return Action::Continue;
        }
        let chunk = host.response_body(body_size).unwrap_or_default();
        let ids = match &mut self.sse {
            Some(rewriter) => rewriter.push(&chunk, end_of_stream),
            None => None,
        };
        let completed = match &mut self.completing {
            Some(Completing::Sse(c)) => c.push(&self.plugin, ids.as_deref().unwrap_or(&chunk), end_of_stream),
            _ => None,
        };
        if let Some(out) = completed.or(ids) {
            host.replace_response_body(body_size, &out);
        }
        Action::Continue
    }

    /// The JSON answer held whole (headers paused): completed, or passed on as it is; too large
    /// an answer goes on unread before Envoy's buffer limit is reached.
    fn complete_json(&mut self, host: &mut dyn Host, index: usize, required: Required, body_size: usize, end_of_stream: bool) -> Action {
        if body_size > self.plugin.config.max_body_bytes {
            self.completing = None;
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.completing = None;
        let body = host.response_body(body_size).unwrap_or_default();
        match stateless_result::inspect(&body, required) {
            Inspection::Missing(m) => {
                if let Some(out) = m.apply(&body) {
                    host.replace_response_body(body_size, &out);
                    // Envoy then sends the answer chunked (HTTP/1.1) or framed (HTTP/2).
                    host.remove_response_header("content-length");
                }
            }
            Inspection::Compliant => self.plugin.learn_answers_complete(index, required),
            Inspection::OtherKind | Inspection::NotAResult => {}
        }
        Action::Continue
    }
}

/// A result being completed (see the module docs).
#[derive(Debug)]
pub(super) enum Completing {
    /// A JSON answer, held until it ends.
    Json { index: usize, required: Required },
    /// An SSE answer, cut into events until its response event.
    Sse(SseCompleter),
}

/// Finds the response event on an SSE answer and completes it; every other event goes on byte
/// for byte. Events are held up to the request bound (`max_body_bytes`); a longer one goes on
/// unread.
#[derive(Debug)]
pub(super) struct SseCompleter {
    index: usize,
    required: Required,
    split: Splitter,
    /// The response event went by: the rest passes unread.
    done: bool,
}

impl SseCompleter {
    fn new(index: usize, required: Required, limit: usize) -> SseCompleter {
        SseCompleter { index, required, split: Splitter::new(limit), done: false }
    }

    /// Feeds one chunk; `None`: forward it as it is, `Some(bytes)`: forward `bytes` instead
    /// (possibly empty, while an event is held).
    fn push(&mut self, plugin: &crate::plugin::Plugin, chunk: &[u8], end_of_stream: bool) -> Option<Vec<u8>> {
        if self.done && self.split.skip(chunk, end_of_stream) {
            return None;
        }
        let mut out = Vec::with_capacity(chunk.len());
        // Every piece so far is the chunk's own, unchanged, in order: the chunk may go on as
        // it is if that holds to its end.
        let mut same = true;
        let (done, required, index) = (&mut self.done, self.required, self.index);
        self.split.push(chunk, end_of_stream, |piece| {
            let mut rebuilt = None;
            if piece.part == Part::Event && !*done {
                let (found, r) = stateless_result::inspect_event(piece.bytes, required);
                match found {
                    Inspection::Compliant => plugin.learn_answers_complete(index, required),
                    Inspection::Missing(_) | Inspection::OtherKind | Inspection::NotAResult => {}
                }
                *done = found != Inspection::NotAResult;
                rebuilt = r;
            }
            same &= piece.in_chunk && rebuilt.is_none();
            out.extend_from_slice(rebuilt.as_deref().unwrap_or(piece.bytes));
        });
        (!same || out.len() != chunk.len()).then_some(out)
    }
}
