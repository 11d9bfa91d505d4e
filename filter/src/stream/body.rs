//! The request body: parse → decide (`mcpgw_common::protocol::decide`, the broker's decision
//! too) → apply. Everything about what the message is lives in the protocol module; this file
//! only counts it and hands the decision to [`super::routing`].

use std::rc::Rc;

use mcpgw_common::headers as mcp_headers;
use mcpgw_common::limits;
use mcpgw_common::message;
use mcpgw_common::protocol::{self, Decision, Method, Refusal};
use mcpgw_common::scope::Caller;

use super::{Action, CounterExt, Stream};
use crate::host::Host;
use crate::metadata;
use crate::stats::Other;

impl Stream {
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
        self.method = method;
        // A validly encoded Mcp-Method goes on decoded: methods are ASCII, and backends
        // compare the header with the body literally (decide checked that they agree).
        if let (Some(m), Some(h)) = (name, self.captured.mcp_method.as_deref()) {
            if h != m && h.starts_with("=?") {
                host.set_request_header(mcp_headers::METHOD, Some(m));
            }
        }
        match decided.decision {
            Decision::Backend(route) => {
                // Before any backend: the request's virtual server and the caller's access
                // rules (`mcpgw_common::scope`), refused as an unknown name.
                let scope = &plugin.config.scope;
                if scope.is_active() {
                    let rules = plugin.claims.rules_of(scope, self.captured.payload.as_deref());
                    let caller = Caller { virtual_server: self.virtual_server, rules };
                    if let Err(refusal) = protocol::check_scope(&route, scope, caller, decided.era, msg.id) {
                        self.publish(host, metadata::F_METHOD, name);
                        return self.refuse_decided(host, refusal);
                    }
                }
                self.route_routable(host, &msg, route, decided.declares_tasks)
            }
            Decision::Answer(answer) => match self.route_answer(host, &msg, &answer) {
                Some(action) => action,
                None => self.route_to_broker(host, Other::Unknown, Some(&msg)),
            },
            Decision::Broker => self.route_to_broker(host, Other::Unknown, Some(&msg)),
        }
    }
}
