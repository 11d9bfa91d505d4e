//! The request's headers and trailers: hygiene, the session token, Host/Origin, and
//! whether the body must be awaited (POST) or the request goes to the broker (GET, DELETE).

use std::rc::Rc;

use mcpgw_common::config::host_allowed;
use mcpgw_common::headers as mcp_headers;
use mcpgw_common::jsonrpc::{INVALID_REQUEST, PARSE_ERROR};
use mcpgw_common::limits;
use mcpgw_common::scope::VIRTUAL_SERVER_HEADER;
use mcpgw_common::session::{SessionClaims, TokenError};

use super::{Action, Stream};
use crate::header_hygiene;
use crate::metadata;
use crate::host::Host;
use crate::revocation;
use crate::stats::{ErrorKind, Other};

impl Stream {
    pub fn on_request_headers(&mut self, host: &mut dyn Host, end_of_stream: bool) -> Action {
        let headers = host.request_headers();
        let mut path = None;
        let mut method = None;
        let mut content_length = None;
        let mut session_token = None;
        let mut subject = None;
        let subject_header = self.plugin.config.subject_header.as_deref();
        let scope = &self.plugin.config.scope;
        let payload_header = scope.reads_identity().then(|| scope.payload_header());
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
                // The client's choice of virtual server: read, then removed as every x-mcp-*
                // header is (the filter sets its own, validated, for the broker).
                VIRTUAL_SERVER_HEADER => {
                    self.captured.virtual_server_repeated |= self.captured.virtual_server_header.is_some();
                    self.captured.virtual_server_header = Some(value.clone());
                    if !stripped.contains(&VIRTUAL_SERVER_HEADER) {
                        host.set_request_header(VIRTUAL_SERVER_HEADER, None);
                        stripped.push(VIRTUAL_SERVER_HEADER);
                    }
                }
                n if header_hygiene::is_reserved(n) && !stripped.contains(&n) => {
                    host.set_request_header(n, None);
                    stripped.push(n);
                }
                _ => {}
            }
            if Some(name.as_str()) == subject_header {
                subject = Some(value.as_str());
            }
            if Some(name.as_str()) == payload_header {
                self.captured.payload = Some(value.clone());
            }
        }
        let plugin = Rc::clone(&self.plugin);
        let Some((path, by_path)) = path.and_then(|p| Some((p, plugin.mcp_endpoint(p)?))) else {
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
        match self.choose_virtual_server(by_path) {
            Ok(chosen) => {
                self.virtual_server = chosen;
                let name = chosen.and_then(|i| plugin.config.scope.virtual_server_name(i));
                self.publish(host, metadata::F_VIRTUAL_SERVER, name);
            }
            Err((status, why)) => return self.refuse(host, ErrorKind::VirtualServer, status, INVALID_REQUEST, &why),
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

    /// The request's virtual server: its path's, or the one `X-Mcp-Virtualserver` names on
    /// the gateway's own path. The header may repeat the path's choice, never contradict it;
    /// it must name a configured one and come once (which of two would count is exactly what
    /// must not be left to chance).
    fn choose_virtual_server(&self, by_path: Option<usize>) -> Result<Option<usize>, (u32, String)> {
        let Some(named) = self.captured.virtual_server_header.as_deref() else { return Ok(by_path) };
        if self.captured.virtual_server_repeated {
            return Err((400, limits::duplicated_header_message(VIRTUAL_SERVER_HEADER)));
        }
        let scope = &self.plugin.config.scope;
        // Echoed bounded: virtual server names are at most 63 characters.
        let shown: String = named.chars().take(64).collect();
        let Some(index) = scope.virtual_server(named.trim()) else {
            return Err((404, format!("Not found: no virtual server is named {shown:?}")));
        };
        match by_path {
            Some(p) if p != index => Err((400, format!("Invalid Request: X-Mcp-Virtualserver {shown:?} contradicts the path"))),
            _ => Ok(Some(index)),
        }
    }

    pub(super) fn open_session(&self, token: &str, subject: Option<&str>, now: u64) -> Result<Rc<SessionClaims>, ErrorKind> {
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
        // A session belongs to the virtual server it was opened on (or to none): used on
        // another, it is not found there.
        let here = self.virtual_server.and_then(|i| self.plugin.config.scope.virtual_server_name(i));
        if claims.virtual_server.as_deref() != here {
            return Err(ErrorKind::SessionScope);
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
    pub(super) fn check_host_and_origin(&self, headers: &[(String, String)]) -> Result<(), String> {
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
}
