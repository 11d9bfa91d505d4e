//! Per-request logic: the decisions the filter takes for one HTTP stream.
//!
//! Headers phase: strip the headers no client may send ([`crate::header_hygiene`]), leave
//! non-MCP paths alone, refuse duplicated MCP headers, open the session token (and refuse a
//! revoked one, [`crate::revocation`]), send GET/DELETE to the broker (a DELETE revokes its
//! session first), and pause POSTs until their body is complete.
//! Body phase: parse → decide (`mcpgw_common::protocol::decide`, the one decision the broker
//! takes too: bounds, 2026-07-28 checks, the owning server) → apply (route, rewrite, publish). Trailers while the body is awaited: refused (MCP never sends
//! them, and a stream that ends in trailers never ends its body).
//! Response phase: hide backend session ids; turn a backend's 404 for the session it was sent
//! (it restarted and forgot it) into a JSON-RPC error for that one call, and mark the backend
//! session stale so that the session's next calls to that server go to the broker, which
//! opens a replacement (issue 12).
//!
//! The phases live in their own files: [`request`] (headers, trailers, session, origin),
//! [`body`] (parse → decide → apply), [`routing`] (where a decided request goes), [`response`],
//! [`facts`] (what policy reads), [`refusals`] (local replies).

mod body;
mod facts;
mod refusals;
mod request;
mod response;
mod routing;

use std::rc::Rc;

use mcpgw_common::message::Message;
use mcpgw_common::protocol::{Era, Method, StandardHeaders};
use mcpgw_common::session::SessionClaims;

use crate::host::Host;
use crate::plugin::Plugin;
use crate::revocation;
use crate::sse_ids::SseIdRewriter;

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
    /// `X-Mcp-Virtualserver` as the client sent it (removed from the request on the way),
    /// and whether it came more than once.
    virtual_server_header: Option<String>,
    virtual_server_repeated: bool,
    /// The verified claims header (`identity.payload_header`), kept only when access rules
    /// read it.
    payload: Option<String>,
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
    /// The request's method, once its body was decided (a known one).
    method: Option<Method>,
    /// Completes a `sessionless` server's result for a 2026-07-28 client ([`response`]).
    completing: Option<response::Completing>,
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
    /// The virtual server the request is for (by path or header), by index.
    virtual_server: Option<usize>,
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
            method: None,
            completing: None,
            answered: false,
            marks: revocation::Marks::default(),
            direct: None,
            via_broker: false,
            virtual_server: None,
        }
    }
}


/// Replaces the buffered body with a rewritten one and fixes `content-length` when the length
/// changed (rewrites keep it where they can: each header write costs Envoy CPU).
pub(super) fn replace_body(host: &mut dyn Host, msg: &Message<'_>, body: &[u8]) {
    host.replace_request_body(msg.body().len(), body);
    if body.len() != msg.body().len() {
        host.set_request_header("content-length", Some(&body.len().to_string()));
    }
}

pub(super) trait CounterExt {
    fn increment_counter_opt(&mut self, id: Option<u32>);
}

impl CounterExt for dyn Host + '_ {
    fn increment_counter_opt(&mut self, id: Option<u32>) {
        if let Some(id) = id {
            self.increment_counter(id);
        }
    }
}
