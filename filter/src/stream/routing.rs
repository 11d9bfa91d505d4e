//! Applying a decision: where a request goes (a backend's internal route, with its own name
//! and backend session id, or the broker's, with the broker credential), written as the route
//! filter state and the `:authority`/`:path` Envoy's router matches.

use std::rc::Rc;

use mcpgw_common::backend_session;
use mcpgw_common::broker_auth;
use mcpgw_common::config::ServerConfig;
use mcpgw_common::headers as mcp_headers;
use mcpgw_common::message::{Kind, Message};
use mcpgw_common::protocol::{Answer, Era, Named, Route};
use mcpgw_common::scope::VIRTUAL_SERVER_HEADER;

use super::{replace_body, Action, CounterExt, DirectCall, Stream};
use crate::host::Host;
use crate::metadata;
use crate::stats::Other;

impl Stream {
    /// The client's answer to a server request whose id the gateway namespaced: straight to
    /// that server, with its own id back. `None` when this Envoy cannot send it straight (the
    /// broker holds the backend session that asked, and forwards it).
    pub(super) fn route_answer(&mut self, host: &mut dyn Host, msg: &Message<'_>, answer: &Answer) -> Option<Action> {
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
    pub(super) fn route_routable(&mut self, host: &mut dyn Host, msg: &Message<'_>, route: Route<'_>, declares_tasks: bool) -> Action {
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
        // A tool call the human must confirm first never goes straight to the backend: the
        // broker asks the client (it can hold the stream open and wait) and then forwards it.
        let confirm = route.named == Named::Tool && server.call_needs_confirmation(route.own());
        let via_broker = self.session.is_some() && (learned.is_none() || confirm);
        // A 2026-07-28 answer that may carry a task id (a task method's, or a call from a
        // client that declared the tasks extension: no other gets a task) needs that id
        // namespaced by server; the broker does it (`protocol::tasks`), so such calls to a
        // `sessionless` server go through it too. Other calls to it go straight.
        let may_carry_task = self.era == Era::Stateless
            && (route.named == Named::Task || (route.named == Named::Tool && declares_tasks));
        if via_broker || (self.era == Era::Stateless && (!server.sessionless || may_carry_task || confirm)) {
            // The broker routes by the exposed name itself: body and headers go on untouched,
            // but policy still gets the facts.
            self.publish(host, metadata::F_SERVER, Some(&server.name));
            self.publish_named(host, &route);
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

    pub(super) fn route_to_backend(&mut self, host: &mut dyn Host, msg: &Message<'_>, route: &Route<'_>, server: &ServerConfig, backend_session: Option<&str>) -> Action {
        if let Some(new_body) = route.rewritten_body(msg.body()) {
            replace_body(host, msg, &new_body);
            if self.captured.mcp_name.is_some() {
                host.set_request_header(mcp_headers::NAME, Some(&route.own_name_header()));
            }
        }
        self.publish(host, metadata::F_METHOD, msg.method.as_deref());
        self.publish_named(host, route);
        self.forward_to_server(host, msg, route.server, server, backend_session)
    }

    /// Sends the request to server `index`: its virtual host and path, its own session id in
    /// place of the client's token (or none), the server and common facts, and remembers it
    /// for the response (session id hidden, server request ids namespaced).
    pub(super) fn forward_to_server(
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

    pub(super) fn route_to_broker(&mut self, host: &mut dyn Host, class: Other, msg: Option<&Message<'_>>) -> Action {
        let plugin = Rc::clone(&self.plugin);
        if msg.is_none() {
            host.increment_counter_opt(plugin.stats.other(class));
        }
        host.set_request_header(":authority", Some(&plugin.config.broker.authority));
        self.set_path(host, &plugin.config.broker.path);
        // Only here: a backend never sees it (and any client-sent copy was stripped).
        host.set_request_header(broker_auth::HEADER, Some(&plugin.config.broker_credential));
        // The virtual server the filter validated (the client's copy was removed): the broker
        // scopes lists and new sessions by it.
        if let Some(name) = self.virtual_server.and_then(|i| plugin.config.scope.virtual_server_name(i)) {
            host.set_request_header(VIRTUAL_SERVER_HEADER, Some(name));
        }
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

    pub(super) fn set_path(&self, host: &mut dyn Host, path: &str) {
        if self.captured.path != path {
            host.set_request_header(":path", Some(path));
        }
    }
}
