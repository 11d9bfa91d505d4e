//! Publishing facts for policy: request headers (the configured ones) and filter state.
//! See [`crate::metadata`] for the list.

use mcpgw_common::headers as mcp_headers;
use mcpgw_common::message::Message;
use mcpgw_common::protocol::{Named, Route};

use super::Stream;
use crate::host::Host;
use crate::metadata::{self, Fact};

impl Stream {
    pub(super) fn publish(&self, host: &mut dyn Host, fact: Fact, value: Option<&str>) {
        let Some(value) = value else { return };
        let wanted = fact.header.filter(|(_, bit)| self.plugin.config.metadata_headers & bit != 0);
        if let Some((header, _)) = wanted {
            host.set_request_header(header, Some(&mcp_headers::encode_value(value)));
        }
        if self.plugin.config.filter_state {
            host.set_filter_state(fact.state_key, value);
        }
    }

    /// What a routed request names (tool, prompt, resource, task) and, for a tool, its hints:
    /// a lookup in the table built when the configuration loaded, whose ready value is written
    /// as it is ([`mcpgw_common::tool_hints`]).
    pub(super) fn publish_named(&self, host: &mut dyn Host, route: &Route<'_>) {
        self.publish(host, metadata::fact_of(route.named), Some(route.own()));
        if route.named == Named::Tool {
            let hints = self.plugin.config.tool_hints.fact(route.server, route.own());
            self.publish(host, metadata::F_TOOL_HINTS, Some(hints));
        }
    }

    pub(super) fn publish_common(&self, host: &mut dyn Host, msg: &Message<'_>) {
        if self.plugin.config.filter_state {
            if let Some(id) = msg.id_text() {
                host.set_filter_state(metadata::F_ID.state_key, id);
            }
        }
        self.publish_session(host);
    }

    pub(super) fn publish_session(&self, host: &mut dyn Host) {
        if let Some(claims) = &self.session {
            self.publish(host, metadata::F_SESSION, Some(&claims.id));
        }
    }
}
