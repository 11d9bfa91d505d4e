//! Per-request logic: the decisions the filter takes for one HTTP stream.
//!
//! Headers phase: strip the headers no client may send ([`crate::header_hygiene`]), leave
//! non-MCP paths alone, refuse duplicated MCP headers, open the session token (and refuse a
//! revoked one, [`crate::revocation`]), send GET/DELETE to the broker (a DELETE revokes its
//! session first), and pause POSTs until their body is complete.
//! Body phase: parse, bound methods, names and URIs, validate the 2026-07-28 headers, route,
//! rewrite, publish metadata. Trailers while the body is awaited: refused (MCP never sends
//! them, and a stream that ends in trailers never ends its body).
//! Response phase: hide backend session ids; turn a backend's 404 for the session it was sent
//! (it restarted and forgot it) into a JSON-RPC error for that one call, and mark the backend
//! session stale so that the session's next calls to that server go to the broker, which
//! opens a replacement (issue 12).

use std::rc::Rc;

use mcpgw_common::backend_session;
use mcpgw_common::broker_auth;
use mcpgw_common::config::{host_allowed, ServerConfig};
use mcpgw_common::headers as mcp_headers;
use mcpgw_common::jsonrpc::{self, BACKEND_RESTARTED, INVALID_REQUEST, PARSE_ERROR, REQUEST_TOO_LARGE, SESSION_NOT_FOUND};
use mcpgw_common::limits;
use mcpgw_common::message::{self, Kind, Message};
use mcpgw_common::protocol::{self, Answer, Decision, Era, Method, Refusal, Route, StandardHeaders};
use mcpgw_common::session::{SessionClaims, TokenError};
use serde_json::value::RawValue;

use crate::header_hygiene;
use crate::host::Host;
use crate::metadata::{self, Fact};
use crate::plugin::Plugin;
use crate::revocation;
use crate::sse_ids::SseIdRewriter;
use crate::stats::{ErrorKind, Other};

/// What the host should do with the stream after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    /// Stop iteration (headers) or buffer (body); also returned after a local reply.
    Pause,
}

/// Request headers the body phase needs, captured in the single headers read.
#[derive(Debug, Default)]
struct Captured {
    /// The request's `:path`, to skip rewriting it to the same value (each write crosses
    /// into Envoy).
    path: String,
    protocol_version: Option<String>,
    mcp_method: Option<String>,
    mcp_name: Option<String>,
    has_session_header: bool,
}

impl Captured {
    fn standard_headers(&self) -> StandardHeaders<'_> {
        StandardHeaders {
            protocol_version: self.protocol_version.as_deref(),
            method: self.mcp_method.as_deref(),
            name: self.mcp_name.as_deref(),
        }
    }
}

/// The state of one stream.
#[derive(Debug)]
pub struct Stream {
    plugin: Rc<Plugin>,
    /// The request is on the MCP endpoint and waiting for its body.
    awaiting_body: bool,
    captured: Captured,
    /// The request's protocol era, once its body was decided.
    era: Era,
    session: Option<Rc<SessionClaims>>,
    /// The backend the request went straight to: its session id must not reach the client,
    /// and its server-to-client request ids are namespaced on the way back.
    routed_to: Option<usize>,
    /// Rewrites ids in the backend's SSE response.
    sse: Option<SseIdRewriter>,
    /// A local reply was sent: ignore later callbacks.
    answered: bool,
    /// What this Envoy recorded about the session (read with the revocation check).
    marks: revocation::Marks,
    /// Set when the request went straight to a backend with a learnt backend session id: a
    /// 404 then means the backend forgot that session.
    direct: Option<DirectCall>,
    /// A session-bearing request sent to the broker: its answer may carry a backend session
    /// the broker opened (`x-mcp-backend-session`), learnt and removed here.
    via_broker: bool,
}

/// A call sent straight to a backend under the token's backend session id.
#[derive(Debug)]
struct DirectCall {
    /// The request's id as raw JSON; `None` for a client's answer to a server request.
    request_id: Option<String>,
}

impl Stream {
    pub fn new(plugin: Rc<Plugin>) -> Stream {
        Stream {
            plugin,
            awaiting_body: false,
            captured: Captured::default(),
            era: Era::Session,
            session: None,
            routed_to: None,
            sse: None,
            answered: false,
            marks: revocation::Marks::default(),
            direct: None,
            via_broker: false,
        }
    }

    pub fn on_request_headers(&mut self, host: &mut dyn Host, end_of_stream: bool) -> Action {
        let headers = host.request_headers();
        let mut path = None;
        let mut method = None;
        let mut content_length = None;
        let mut session_token = None;
        let mut subject = None;
        let subject_header = self.plugin.config.subject_header.as_deref();
        // Names removed so far: a repeated reserved header needs one removal (no allocation
        // unless the request carries one).
        let mut stripped: Vec<&str> = Vec::new();
        for (name, value) in &headers {
            match name.as_str() {
                ":path" => path = Some(value.as_str()),
                ":method" => method = Some(value.as_str()),
                "content-length" => content_length = value.trim().parse::<usize>().ok(),
                mcp_headers::SESSION_ID => session_token = Some(value.as_str()),
                mcp_headers::PROTOCOL_VERSION => self.captured.protocol_version = Some(value.clone()),
                mcp_headers::METHOD => self.captured.mcp_method = Some(value.clone()),
                mcp_headers::NAME => self.captured.mcp_name = Some(value.clone()),
                n if header_hygiene::is_reserved(n) && !stripped.contains(&n) => {
                    host.set_request_header(n, None);
                    stripped.push(n);
                }
                _ => {}
            }
            if Some(name.as_str()) == subject_header {
                subject = Some(value.as_str());
            }
        }
        let plugin = Rc::clone(&self.plugin);
        let Some(path) = path.filter(|p| plugin.is_mcp_path(p)) else {
            return Action::Continue;
        };
        self.captured.path = path.to_string();
        // Before anything else is decided: which of two session ids (or versions, methods,
        // names) would count is exactly what must not be left to chance.
        if let Some(header) = limits::duplicated_mcp_header(headers.iter().map(|(k, v)| (k, v))) {
            return self.refuse(host, ErrorKind::DuplicateHeader, 400, INVALID_REQUEST, &limits::duplicated_header_message(header));
        }
        if let Err(why) = self.check_host_and_origin(&headers) {
            return self.refuse(host, ErrorKind::ForbiddenOrigin, 403, INVALID_REQUEST, &why);
        }

        let mut now = 0;
        if let Some(token) = session_token {
            self.captured.has_session_header = true;
            now = host.now_unix_secs();
            match self.open_session(token, subject, now) {
                // One shared-data read per session-bearing request: a DELETE seen by any
                // worker of this Envoy ends the session here too, and the same read says
                // which of its backend sessions restarted backends forgot.
                Ok(claims) => {
                    let marks = revocation::lookup(host, &claims.id);
                    if marks.revoked || plugin.sessions.is_refused(&claims.id, now) {
                        plugin.sessions.remove(token);
                        return self.refuse_session(host, ErrorKind::SessionRevoked);
                    }
                    self.marks = marks;
                    self.session = Some(claims);
                }
                Err(kind) => return self.refuse_session(host, kind),
            }
        }

        match method {
            Some("POST") => {
                if content_length.is_some_and(|n| n > plugin.config.max_body_bytes) {
                    return self.refuse_too_large(host);
                }
                if end_of_stream {
                    return self.refuse(host, ErrorKind::ParseError, 400, PARSE_ERROR, "Parse error: empty body");
                }
                self.awaiting_body = true;
                Action::Pause
            }
            Some("GET") => self.route_to_broker(host, Other::Get, None),
            Some("DELETE") => {
                if let (Some(claims), Some(token)) = (&self.session, session_token) {
                    // Revoked before the broker hears of it, so that no request racing the
                    // DELETE through another worker gets through afterwards.
                    // Should the shared write keep losing to other VMs, this VM refuses
                    // the session anyway.
                    if !revocation::revoke(host, &claims.id, claims.expires_at, now) {
                        plugin.sessions.refuse(&claims.id, claims.expires_at, now);
                    }
                    plugin.sessions.remove(token);
                }
                self.route_to_broker(host, Other::Delete, None)
            }
            _ => self.route_to_broker(host, Other::Unknown, None),
        }
    }

    pub fn on_request_body(&mut self, host: &mut dyn Host, body_size: usize, end_of_stream: bool) -> Action {
        if !self.awaiting_body || self.answered {
            return Action::Continue;
        }
        if body_size > self.plugin.config.max_body_bytes {
            return self.refuse_too_large(host);
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.awaiting_body = false;
        let body = host.request_body(body_size).unwrap_or_default();
        let plugin = Rc::clone(&self.plugin);
        // Parse → decide (`mcpgw_common::protocol`, the broker's decision too) → apply.
        let msg = match message::parse(&body) {
            Ok(m) => m,
            Err(e) => {
                host.increment_counter_opt(plugin.stats.other(Other::Unknown));
                let refusal = Refusal::parse(&e);
                return self.refuse_decided(host, refusal);
            }
        };
        let name = msg.method.as_deref();
        let method = name.and_then(Method::parse);
        match name {
            Some(n) => host.increment_counter_opt(plugin.stats.method(n, method)),
            None => host.increment_counter_opt(plugin.stats.other(Other::Response)),
        }
        let decided = match protocol::decide(&msg, self.captured.standard_headers(), &plugin.config.router) {
            Ok(d) => d,
            Err(refusal) => {
                // The method is a fact for policy and logs, once it is known to be bounded.
                if name.is_some_and(|m| limits::check_method(m).is_ok()) {
                    self.publish(host, metadata::F_METHOD, name);
                }
                return self.refuse_decided(host, refusal);
            }
        };
        self.era = decided.era;
        // A validly encoded Mcp-Method goes on decoded: methods are ASCII, and backends
        // compare the header with the body literally (decide checked that they agree).
        if let (Some(m), Some(h)) = (name, self.captured.mcp_method.as_deref()) {
            if h != m && h.starts_with("=?") {
                host.set_request_header(mcp_headers::METHOD, Some(m));
            }
        }
        match decided.decision {
            Decision::Backend(route) => self.route_routable(host, &msg, route),
            Decision::Answer(answer) => match self.route_answer(host, &msg, &answer) {
                Some(action) => action,
                None => self.route_to_broker(host, Other::Unknown, Some(&msg)),
            },
            Decision::Broker => self.route_to_broker(host, Other::Unknown, Some(&msg)),
        }
    }

    /// Request trailers. MCP never sends them; and a request whose body ends in trailers never
    /// sees the end of its body, so the body phase would never run and the request would go
    /// on undecided. While the body is still awaited (headers → trailers included), the
    /// request is refused: HTTP 400, JSON-RPC -32600.
    pub fn on_request_trailers(&mut self, host: &mut dyn Host) -> Action {
        if self.answered || !self.awaiting_body {
            return Action::Continue;
        }
        self.refuse(host, ErrorKind::RequestTrailers, 400, INVALID_REQUEST, "Invalid Request: trailers are not allowed on the MCP endpoint")
    }

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
    fn learn_backend_session(&mut self, host: &mut dyn Host) {
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
    fn backend_forgot_session(&mut self, host: &mut dyn Host, server: &str, direct: &DirectCall) -> Action {
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

    // ---- routing -------------------------------------------------------------------------

    /// The client's answer to a server request whose id the gateway namespaced: straight to
    /// that server, with its own id back. `None` when this Envoy cannot send it straight (the
    /// broker holds the backend session that asked, and forwards it).
    fn route_answer(&mut self, host: &mut dyn Host, msg: &Message<'_>, answer: &Answer) -> Option<Action> {
        let plugin = Rc::clone(&self.plugin);
        let server = plugin.config.servers.get(answer.server)?;
        if self.marks.is_stale(&server.name) {
            // The broker holds the replacement backend session: it forwards the answer.
            return None;
        }
        // Within a session, only a backend session this Envoy learnt can take the answer
        // straight; otherwise the broker (which opened it) forwards it.
        let backend_session = match &self.session {
            Some(_) => Some(self.marks.learned(&server.name)?.to_string()),
            None => None,
        };
        let body = answer.rewritten_body(msg)?;
        replace_body(host, msg, &body);
        let backend_session = backend_session.as_deref().filter(|id| !id.is_empty());
        Some(self.forward_to_server(host, msg, answer.server, server, backend_session))
    }

    /// A request that names one backend: straight to it, or via the broker when the client
    /// speaks 2026-07-28 and the backend does not (the broker then holds a short-lived backend
    /// session for it), or refused when the client's session does not include the backend.
    fn route_routable(&mut self, host: &mut dyn Host, msg: &Message<'_>, route: Route<'_>) -> Action {
        let plugin = Rc::clone(&self.plugin);
        let Some(server) = plugin.config.servers.get(route.server) else {
            return self.route_to_broker(host, Other::Unknown, Some(msg));
        };
        // Within a session: the backend session this Envoy learnt for the server, if any.
        // `initialize` opened none; the broker opens one on first use and teaches it on its
        // answer (`x-mcp-backend-session`), so the session's later calls go straight.
        let learned = if self.session.is_some() { self.marks.learned(&server.name).map(String::from) } else { None };
        // A restarted backend forgot this session's backend session (stale), or the session
        // has none with this server yet: the broker serves the call (as for 2026-07-28 calls
        // below), opening the backend session it needs.
        let via_broker = self.session.is_some() && learned.is_none();
        if via_broker || (self.era == Era::Stateless && !server.sessionless) {
            // The broker routes by the exposed name itself: body and headers go on untouched,
            // but policy still gets the facts.
            self.publish(host, metadata::F_SERVER, Some(&server.name));
            self.publish(host, metadata::fact_of(route.named), Some(route.own()));
            if via_broker {
                // The broker relays the backend's answer as it is: its server requests are
                // namespaced here, as on the direct path, so the client's answers find the
                // backend that asked.
                self.routed_to = Some(route.server);
            }
            return self.route_to_broker(host, Other::Unknown, Some(msg));
        }
        // An empty learnt id: the backend issues no session ids.
        let backend_session = learned.as_deref().filter(|id| !id.is_empty());
        self.route_to_backend(host, msg, &route, server, backend_session)
    }

    fn route_to_backend(&mut self, host: &mut dyn Host, msg: &Message<'_>, route: &Route<'_>, server: &ServerConfig, backend_session: Option<&str>) -> Action {
        if let Some(new_body) = route.rewritten_body(msg.body()) {
            replace_body(host, msg, &new_body);
            if self.captured.mcp_name.is_some() {
                host.set_request_header(mcp_headers::NAME, Some(&route.own_name_header()));
            }
        }
        self.publish(host, metadata::F_METHOD, msg.method.as_deref());
        self.publish(host, metadata::fact_of(route.named), Some(route.own()));
        self.forward_to_server(host, msg, route.server, server, backend_session)
    }

    /// Sends the request to server `index`: its virtual host and path, its own session id in
    /// place of the client's token (or none), the server and common facts, and remembers it
    /// for the response (session id hidden, server request ids namespaced).
    fn forward_to_server(
        &mut self,
        host: &mut dyn Host,
        msg: &Message<'_>,
        index: usize,
        server: &ServerConfig,
        backend_session: Option<&str>,
    ) -> Action {
        host.set_request_header(":authority", Some(&server.authority));
        self.set_path(host, &server.path);
        if self.captured.has_session_header || backend_session.is_some() {
            host.set_request_header(mcp_headers::SESSION_ID, backend_session);
        }
        if backend_session.is_some() {
            let request_id = if msg.kind == Kind::Request { Some(msg.id_text().unwrap_or("null").to_string()) } else { None };
            self.direct = Some(DirectCall { request_id });
        }
        self.publish(host, metadata::F_SERVER, Some(&server.name));
        self.publish_common(host, msg);
        host.set_filter_state(metadata::ROUTE_STATE_KEY, &server.name);
        host.clear_route_cache();
        host.increment_counter_opt(self.plugin.stats.server(index));
        self.routed_to = Some(index);
        Action::Continue
    }

    fn route_to_broker(&mut self, host: &mut dyn Host, class: Other, msg: Option<&Message<'_>>) -> Action {
        let plugin = Rc::clone(&self.plugin);
        if msg.is_none() {
            host.increment_counter_opt(plugin.stats.other(class));
        }
        host.set_request_header(":authority", Some(&plugin.config.broker.authority));
        self.set_path(host, &plugin.config.broker.path);
        // Only here: a backend never sees it (and any client-sent copy was stripped).
        host.set_request_header(broker_auth::HEADER, Some(&plugin.config.broker_credential));
        if self.session.is_some() {
            // The backend sessions this Envoy learnt for the session, so that a broker that
            // restarted (or another replica) uses them rather than opening new ones; and the
            // answer may teach one (read in the response phase).
            if let Some(pairs) = self.marks.learned_header() {
                host.set_request_header(backend_session::HEADER, Some(&pairs));
            }
            self.via_broker = true;
        }
        if let Some(msg) = msg {
            self.publish(host, metadata::F_METHOD, msg.method.as_deref());
            self.publish_common(host, msg);
        } else {
            self.publish_session(host);
        }
        host.set_filter_state(metadata::ROUTE_STATE_KEY, mcpgw_common::gateway::BROKER_ROUTE);
        host.clear_route_cache();
        host.increment_counter_opt(plugin.stats.broker());
        Action::Continue
    }

    fn set_path(&self, host: &mut dyn Host, path: &str) {
        if self.captured.path != path {
            host.set_request_header(":path", Some(path));
        }
    }

    // ---- metadata ------------------------------------------------------------------------

    fn publish(&self, host: &mut dyn Host, fact: Fact, value: Option<&str>) {
        let Some(value) = value else { return };
        let wanted = fact.header.filter(|(_, bit)| self.plugin.config.metadata_headers & bit != 0);
        if let Some((header, _)) = wanted {
            host.set_request_header(header, Some(&mcp_headers::encode_value(value)));
        }
        if self.plugin.config.filter_state {
            host.set_filter_state(fact.state_key, value);
        }
    }

    fn publish_common(&self, host: &mut dyn Host, msg: &Message<'_>) {
        if self.plugin.config.filter_state {
            if let Some(id) = msg.id_text() {
                host.set_filter_state(metadata::F_ID.state_key, id);
            }
        }
        self.publish_session(host);
    }

    fn publish_session(&self, host: &mut dyn Host) {
        if let Some(claims) = &self.session {
            self.publish(host, metadata::F_SESSION, Some(&claims.id));
        }
    }

    // ---- validation ----------------------------------------------------------------------

    fn open_session(&self, token: &str, subject: Option<&str>, now: u64) -> Result<Rc<SessionClaims>, ErrorKind> {
        let cache = &self.plugin.sessions;
        let claims = match cache.get(token) {
            Some(c) => c,
            None => {
                let opened = self.plugin.config.sessions.open(token, now).map_err(|e| match e {
                    TokenError::Malformed => ErrorKind::SessionMalformed,
                    TokenError::Forged => ErrorKind::SessionForged,
                    TokenError::Expired => ErrorKind::SessionExpired,
                })?;
                let opened = Rc::new(opened);
                cache.insert(token, Rc::clone(&opened));
                opened
            }
        };
        // Checked on every request, cached or not.
        if now >= claims.expires_at {
            return Err(ErrorKind::SessionExpired);
        }
        match (&claims.subject, subject) {
            // Bound sessions need the configured identity header to match; with no header
            // configured a bound session cannot be checked, so it is refused (fail closed).
            (Some(bound), Some(caller)) if bound == caller => Ok(claims),
            (Some(_), _) => Err(ErrorKind::SessionSubject),
            (None, _) => Ok(claims),
        }
    }

    /// DNS-rebinding protection: `Host` and `Origin` must name this gateway, when configured.
    fn check_host_and_origin(&self, headers: &[(String, String)]) -> Result<(), String> {
        let cfg = &self.plugin.config;
        if cfg.allowed_hosts.is_empty() && cfg.allowed_origins.is_empty() {
            return Ok(());
        }
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        if !cfg.allowed_hosts.is_empty() {
            let authority = get(":authority").or_else(|| get("host")).unwrap_or_default();
            if !host_allowed(&cfg.allowed_hosts, authority) {
                return Err(format!("Forbidden: Host {authority:?} is not allowed on this gateway"));
            }
        }
        if let (false, Some(origin)) = (cfg.allowed_origins.is_empty(), get("origin")) {
            let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap_or_default());
            if !host_allowed(&cfg.allowed_origins, origin_host) {
                return Err(format!("Forbidden: Origin {origin:?} is not allowed on this gateway"));
            }
        }
        Ok(())
    }

    // ---- refusals ------------------------------------------------------------------------

    fn refuse_session(&mut self, host: &mut dyn Host, kind: ErrorKind) -> Action {
        self.refuse(host, kind, 404, SESSION_NOT_FOUND, "Session not found: initialize a new session")
    }

    fn refuse_too_large(&mut self, host: &mut dyn Host) -> Action {
        let max = self.plugin.config.max_body_bytes;
        self.refuse(host, ErrorKind::BodyTooLarge, 413, REQUEST_TOO_LARGE, &format!("Request body exceeds the gateway's limit of {max} bytes"))
    }

    /// The filter's own refusals, taken before the body is read (session, size, origin,
    /// framing): their status is fixed, and no request id is known yet.
    fn refuse(&mut self, host: &mut dyn Host, kind: ErrorKind, status: u32, code: i32, message: &str) -> Action {
        let body = jsonrpc::error_body(None, code, message);
        self.refuse_raw(host, kind, status, &body)
    }

    /// A refusal decided from the message (`protocol::decide`), with its era's status.
    fn refuse_decided(&mut self, host: &mut dyn Host, refusal: Refusal) -> Action {
        self.refuse_raw(host, refusal.reason.into(), u32::from(refusal.status), &refusal.body())
    }

    fn refuse_raw(&mut self, host: &mut dyn Host, kind: ErrorKind, status: u32, body: &[u8]) -> Action {
        host.increment_counter_opt(self.plugin.stats.error(kind));
        if self.plugin.config.filter_state {
            host.set_filter_state(metadata::F_ERROR.state_key, kind.name());
        }
        host.send_response(status, &[("content-type", "application/json")], body);
        self.answered = true;
        self.awaiting_body = false;
        Action::Pause
    }
}

/// Replaces the buffered body with a rewritten one and fixes `content-length` when the length
/// changed (rewrites keep it where they can: each header write costs Envoy CPU).
fn replace_body(host: &mut dyn Host, msg: &Message<'_>, body: &[u8]) {
    host.replace_request_body(msg.body().len(), body);
    if body.len() != msg.body().len() {
        host.set_request_header("content-length", Some(&body.len().to_string()));
    }
}

trait CounterExt {
    fn increment_counter_opt(&mut self, id: Option<u32>);
}

impl CounterExt for dyn Host + '_ {
    fn increment_counter_opt(&mut self, id: Option<u32>) {
        if let Some(id) = id {
            self.increment_counter(id);
        }
    }
}
