//! The backend's (or broker's) answer: backend session ids hidden, backend sessions the broker
//! opened learnt, a restarted backend's 404 turned into a JSON-RPC error for that one call, and
//! server-to-client request ids namespaced on SSE answers.

use std::rc::Rc;

use mcpgw_common::backend_session;
use mcpgw_common::headers as mcp_headers;
use mcpgw_common::jsonrpc::{self, BACKEND_RESTARTED};
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
        let is_sse = host.response_header("content-type").is_some_and(|ct| ct.trim_start().starts_with("text/event-stream"));
        if is_sse {
            self.sse = Some(SseIdRewriter::new(&server.name));
            // Rewriting changes the length; SSE is normally chunked anyway.
            host.remove_response_header("content-length");
        }
        Action::Continue
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
        if let Some(rewriter) = &mut self.sse {
            let chunk = host.response_body(body_size).unwrap_or_default();
            if let Some(out) = rewriter.push(&chunk, end_of_stream) {
                host.replace_response_body(body_size, &out);
            }
        }
        Action::Continue
    }
}
