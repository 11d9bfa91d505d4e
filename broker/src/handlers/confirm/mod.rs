//! Confirmation before dangerous tools (issue 16, item 5): a `tools/call` the config marks
//! (`tools.confirm`), or whose tool declares `destructiveHint: true` when
//! `confirmation.destructive_hint` is on, reaches its backend only after the human accepted
//! it through the client. The filter sends every such call here (it cannot wait for an
//! answer); the broker asks, then forwards or refuses:
//!
//! - session protocol ([`session`]): the call's answer is an SSE stream whose first event is
//!   the gateway's own `elicitation/create`; the client POSTs its answer, which the broker
//!   matches by id and gateway session (`state::confirmations`), then relays the call on the
//!   same stream;
//! - 2026-07-28 ([`stateless`]): an `input_required` result holding the elicitation and a
//!   sealed `requestState` (`config::confirm_seal`); the client's retry carries the answer, and
//!   any broker replica can verify it.
//!
//! Anything but an accepted answer is a JSON-RPC error and the backend is never called.

pub mod session;
pub mod stateless;

use std::sync::Arc;

use mcpgw_common::jsonrpc;
use mcpgw_common::protocol::{Era, Named, Route};
use reqwest::header::HeaderValue;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::config::{Runtime, Server};
use crate::handlers::lists::{self, Access};
use crate::handlers::Reply;
use crate::state::App;

/// The most of the arguments' JSON the question shows; the rest is cut with a note (the
/// human must be able to read the question; the arguments bind the answer in full anyway).
const MAX_SHOWN_ARGUMENTS: usize = 2000;

/// Whether the call `route` of `s` must be confirmed first.
pub async fn needed(app: &App, rt: &Runtime, s: &Server, route: &Route<'_>, access: Access<'_>, auth: Option<HeaderValue>) -> bool {
    if route.named != Named::Tool {
        return false;
    }
    if s.rules.tools.confirms(route.own()) {
        return true;
    }
    if !rt.config.confirmation.destructive_hint {
        return false;
    }
    // A list that cannot be had leaves the hint unknown: ask rather than let it through.
    lists::declares_destructive(app, rt, s, &route.exposed.value, access, auth).await.unwrap_or(true)
}

/// The `elicitation/create` params (form mode): which server, which tool, which arguments,
/// and a form with nothing to fill in (accepting it is the confirmation).
pub fn question(server: &str, exposed: &str, own: &str, arguments: &Value) -> Value {
    let mut shown = serde_json::to_string_pretty(arguments).unwrap_or_default();
    if shown.len() > MAX_SHOWN_ARGUMENTS {
        let cut = (0..=MAX_SHOWN_ARGUMENTS).rev().find(|i| shown.is_char_boundary(*i)).unwrap_or(0);
        shown.truncate(cut);
        shown.push_str("\n… (arguments cut for display)");
    }
    let tool = if exposed == own { format!("{exposed:?}") } else { format!("{exposed:?} ({own:?} on the server)") };
    let message = format!("Confirm: run the tool {tool} on server {server:?} with these arguments?\n{shown}");
    json!({
        "mode": "form",
        "message": message,
        "requestedSchema": {"type": "object", "properties": {}},
    })
}

/// What the human answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accept,
    Decline,
    Cancel,
    /// No answer within `confirmation.timeout_ms`.
    Timeout,
    /// The client answered with an error, or with something that is not an elicitation result.
    Error,
}

impl Outcome {
    /// Of an elicitation result (`{"action": …}`).
    pub fn of_result(result: &Value) -> Outcome {
        match result.get("action").and_then(Value::as_str) {
            Some("accept") => Outcome::Accept,
            Some("decline") => Outcome::Decline,
            Some("cancel") => Outcome::Cancel,
            _ => Outcome::Error,
        }
    }

    /// Of the client's JSON-RPC response to the gateway's question.
    pub fn of_response(message: &Value) -> Outcome {
        message.get("result").map_or(Outcome::Error, Outcome::of_result)
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Accept => "accept",
            Outcome::Decline => "decline",
            Outcome::Cancel => "cancel",
            Outcome::Timeout => "timeout",
            Outcome::Error => "error",
        }
    }

    fn said(self) -> &'static str {
        match self {
            Outcome::Accept => "accepted",
            Outcome::Decline => "the user declined it",
            Outcome::Cancel => "the user cancelled",
            Outcome::Timeout => "no answer came in time",
            Outcome::Error => "the client could not ask the user",
        }
    }
}

/// The JSON-RPC error body for a call that was not confirmed (`outcome` is not `Accept`).
pub fn refusal_body(id: Option<&RawValue>, exposed: &str, outcome: Outcome) -> Vec<u8> {
    let message = format!("Tool {exposed:?} was not run: it needs the user's confirmation, and {}", outcome.said());
    let data = json!({"confirmation": outcome.label(), "tool": exposed});
    let data = serde_json::value::to_raw_value(&data).ok();
    jsonrpc::error_body_with_data(id, jsonrpc::CONFIRMATION_REFUSED, &message, data.as_deref())
}

/// A client that cannot be asked (no elicitation capability, form mode): refused unless
/// `confirmation.without_elicitation: allow` (then `None`: the call goes on unasked).
pub fn unasked(app: &Arc<App>, rt: &Runtime, era: Era, id: Option<&RawValue>, exposed: &str) -> Option<Reply> {
    use mcpgw_common::gateway::WithoutElicitation;
    match rt.config.confirmation.without_elicitation {
        WithoutElicitation::Allow => {
            app.metrics.confirmation("allowed_unasked");
            None
        }
        WithoutElicitation::Refuse => {
            app.metrics.confirmation("refused");
            let message = format!(
                "Tool {exposed:?} needs the user's confirmation, and this client did not declare the elicitation capability (form mode), so the gateway cannot ask: not run"
            );
            Some(Reply::rpc_error(era, id, jsonrpc::MISSING_REQUIRED_CLIENT_CAPABILITY, &message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_names_server_tool_and_arguments_and_stays_readable() {
        let q = question("alpha", "alpha_clear", "wipe", &json!({"target": "db"}));
        let m = q["message"].as_str().unwrap();
        assert!(m.contains("\"alpha\"") && m.contains("\"alpha_clear\"") && m.contains("\"wipe\"") && m.contains("\"target\": \"db\""), "{m}");
        assert_eq!(q["mode"], "form");
        assert_eq!(q["requestedSchema"]["type"], "object");
        let long = question("alpha", "alpha_wipe", "alpha_wipe", &json!({"blob": "é".repeat(5000)}));
        let m = long["message"].as_str().unwrap();
        assert!(m.len() < MAX_SHOWN_ARGUMENTS + 300 && m.ends_with("(arguments cut for display)"), "{}", m.len());
    }

    #[test]
    fn outcomes_and_refusals() {
        assert_eq!(Outcome::of_response(&json!({"result": {"action": "accept"}})), Outcome::Accept);
        assert_eq!(Outcome::of_response(&json!({"result": {"action": "decline"}})), Outcome::Decline);
        assert_eq!(Outcome::of_response(&json!({"result": {"action": "cancel"}})), Outcome::Cancel);
        assert_eq!(Outcome::of_response(&json!({"error": {"code": -32601, "message": "no"}})), Outcome::Error);
        assert_eq!(Outcome::of_result(&json!({"action": "maybe"})), Outcome::Error);
        let id = RawValue::from_string("7".into()).unwrap();
        let body: Value = serde_json::from_slice(&refusal_body(Some(&id), "alpha_wipe", Outcome::Decline)).unwrap();
        assert_eq!(body["id"], 7);
        assert_eq!(body["error"]["code"], jsonrpc::CONFIRMATION_REFUSED);
        assert_eq!(body["error"]["data"], json!({"confirmation": "decline", "tool": "alpha_wipe"}));
        assert!(body["error"]["message"].as_str().unwrap().contains("declined"));
    }
}
