//! Local replies: the filter's own refusals (fixed status, before the body) and decided ones
//! (`protocol::Refusal`, with their era's status). Each is counted and left in filter state.

use mcpgw_common::jsonrpc::{self, REQUEST_TOO_LARGE, SESSION_NOT_FOUND};
use mcpgw_common::protocol::Refusal;

use super::{Action, CounterExt, Stream};
use crate::host::Host;
use crate::metadata;
use crate::stats::ErrorKind;

impl Stream {
    pub(super) fn refuse_session(&mut self, host: &mut dyn Host, kind: ErrorKind) -> Action {
        self.refuse(host, kind, 404, SESSION_NOT_FOUND, "Session not found: initialize a new session")
    }

    pub(super) fn refuse_too_large(&mut self, host: &mut dyn Host) -> Action {
        let max = self.plugin.config.max_body_bytes;
        self.refuse(host, ErrorKind::BodyTooLarge, 413, REQUEST_TOO_LARGE, &format!("Request body exceeds the gateway's limit of {max} bytes"))
    }

    /// The filter's own refusals, taken before the body is read (session, size, origin,
    /// framing): their status is fixed, and no request id is known yet.
    pub(super) fn refuse(&mut self, host: &mut dyn Host, kind: ErrorKind, status: u32, code: i32, message: &str) -> Action {
        let body = jsonrpc::error_body(None, code, message);
        self.refuse_raw(host, kind, status, &body)
    }

    /// A refusal decided from the message (`protocol::decide`), with its era's status.
    pub(super) fn refuse_decided(&mut self, host: &mut dyn Host, refusal: Refusal) -> Action {
        self.refuse_raw(host, refusal.reason.into(), u32::from(refusal.status), &refusal.body())
    }

    pub(super) fn refuse_raw(&mut self, host: &mut dyn Host, kind: ErrorKind, status: u32, body: &[u8]) -> Action {
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
