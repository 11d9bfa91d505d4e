//! The 2026-07-28 confirmation: one input-required round (SEP-2322). The first call is
//! answered with `resultType: "input_required"`, the elicitation under [`INPUT_KEY`], and a
//! sealed `requestState` (`config::confirm_seal`) bound to the exposed tool name, a digest of
//! the arguments, the caller and an expiry. The client retries with `inputResponses` and that
//! `requestState`; whichever broker replica takes the retry verifies the state and, when the
//! answer is "accept", forwards the call without the gateway's own `requestState` and input
//! response. Nothing is kept between the two requests.
//!
//! A `requestState` that is not the gateway's (a backend's own, from a round it started) does
//! not confirm anything: the gateway asks again (see the README's limits).

use std::sync::Arc;

use mcpgw_common::jsonrpc;
use mcpgw_common::protocol::era::meta;
use mcpgw_common::protocol::Era;
use serde_json::{json, Value};

use super::{question, refusal_body, unasked, Outcome};
use crate::config::{Runtime, Server};
use crate::handlers::{Posted, Reply};
use crate::config::confirm_seal::{args_digest, Binding, Opened, STATE_PREFIX};
use crate::state::App;

/// The key of the gateway's question in `inputRequests` (and of its answer in `inputResponses`).
pub const INPUT_KEY: &str = "mcpgw-confirm";

/// What becomes of the call.
pub enum Gate {
    /// Answered here (the question, or a refusal): the backend is not called.
    Reply(Reply),
    /// Confirmed (or let through unasked): this body goes to the backend.
    Forward(Vec<u8>),
}

/// Confirms the call `posted` (the tool `names.0` as exposed, `names.1` its own name) whose
/// backend body is `body`.
pub fn gate(app: &Arc<App>, rt: &Runtime, s: &Server, posted: &Posted<'_>, names: (&str, &str), body: Vec<u8>) -> Gate {
    let (exposed, own) = names;
    let id = posted.id();
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return Gate::Reply(Reply::rpc_error(Era::Stateless, id, jsonrpc::INVALID_PARAMS, "Invalid params"));
    };
    let arguments = request.pointer("/params/arguments").cloned().unwrap_or(Value::Null);
    let subject = rt.subject_header.as_deref().and_then(|h| posted.headers.get(h)).and_then(|v| v.to_str().ok()).map(str::to_string);
    let binding = Binding { tool: exposed.to_string(), args: args_digest(&arguments), subject };
    let state = request.pointer("/params/requestState").and_then(Value::as_str).filter(|s| s.starts_with(STATE_PREFIX));
    if let Some(state) = state {
        match rt.confirm_seal.open(state, &binding, now_ms()) {
            Opened::Invalid => {
                app.metrics.confirmation("invalid_state");
                let why = "Invalid params: requestState was not issued by this gateway for this call";
                return Gate::Reply(Reply::rpc_error(Era::Stateless, id, jsonrpc::INVALID_PARAMS, why));
            }
            // Too late: asked again below.
            Opened::Expired => app.metrics.confirmation("timeout"),
            Opened::Valid => {
                let answer = request.get("params").and_then(|p| p.get("inputResponses")).and_then(|r| r.get(INPUT_KEY)).map(Outcome::of_result);
                match answer {
                    Some(Outcome::Accept) => {
                        app.metrics.confirmation("accept");
                        strip_confirmation(&mut request);
                        return Gate::Forward(serde_json::to_vec(&request).unwrap_or(body));
                    }
                    Some(outcome) => {
                        app.metrics.confirmation(outcome.label());
                        tracing::info!(server = %s.name, tool = %exposed, outcome = outcome.label(), "tool call not confirmed: not run");
                        return Gate::Reply(Reply::json(200, refusal_body(id, exposed, outcome)));
                    }
                    // The state without its answer: asked again.
                    None => {}
                }
            }
        }
    }
    if !can_elicit(&request) {
        return match unasked(app, rt, Era::Stateless, id, exposed) {
            Some(refused) => Gate::Reply(refused),
            None => Gate::Forward(body),
        };
    }
    let mut nonce = [0u8; 24];
    let sealed = getrandom::fill(&mut nonce)
        .map_err(|e| e.to_string())
        .and_then(|()| rt.confirm_seal.seal(&binding, now_ms().saturating_add(rt.config.confirmation.timeout_ms), nonce));
    let Ok(sealed) = sealed else {
        return Gate::Reply(Reply::rpc_error(Era::Stateless, id, jsonrpc::INTERNAL_ERROR, "the gateway cannot ask for a confirmation now"));
    };
    app.metrics.confirmation("asked");
    let ask = json!({"method": "elicitation/create", "params": question(&s.name, exposed, own, &arguments)});
    Gate::Reply(Reply::result(id, json!({"resultType": "input_required", "inputRequests": {INPUT_KEY: ask}, "requestState": sealed})))
}

/// Whether the request's client declared elicitation in form mode (`elicitation: {}` means
/// form, as does `{form: …}`; `{url: …}` alone does not).
fn can_elicit(request: &Value) -> bool {
    let declared = request.pointer("/params/_meta").and_then(|m| m.get(meta::CLIENT_CAPABILITIES)).and_then(|c| c.get("elicitation"));
    match declared.and_then(Value::as_object) {
        Some(e) => e.is_empty() || e.contains_key("form"),
        None => false,
    }
}

/// The request without the gateway's round: its `requestState` and its input response (a
/// backend's own input responses stay).
fn strip_confirmation(request: &mut Value) {
    let Some(params) = request.get_mut("params").and_then(Value::as_object_mut) else { return };
    params.remove("requestState");
    let emptied = match params.get_mut("inputResponses").and_then(Value::as_object_mut) {
        Some(responses) => {
            responses.remove(INPUT_KEY);
            responses.is_empty()
        }
        None => false,
    };
    if emptied {
        params.remove("inputResponses");
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_elicitation_is_what_counts() {
        let with = |caps: Value| json!({"params": {"_meta": {meta::CLIENT_CAPABILITIES: caps}}});
        assert!(can_elicit(&with(json!({"elicitation": {}}))));
        assert!(can_elicit(&with(json!({"elicitation": {"form": {}, "url": {}}}))));
        assert!(!can_elicit(&with(json!({"elicitation": {"url": {}}}))));
        assert!(!can_elicit(&with(json!({"sampling": {}}))));
        assert!(!can_elicit(&json!({"params": {}})));
    }

    #[test]
    fn the_forwarded_call_carries_none_of_the_gateways_round() {
        let mut r = json!({"params": {"name": "wipe", "requestState": "mcpgw-confirm.x", "inputResponses": {INPUT_KEY: {"action": "accept"}}}});
        strip_confirmation(&mut r);
        assert_eq!(r, json!({"params": {"name": "wipe"}}));
        let mut r = json!({"params": {"requestState": "mcpgw-confirm.x", "inputResponses": {INPUT_KEY: {}, "theirs": {"action": "accept"}}}});
        strip_confirmation(&mut r);
        assert_eq!(r, json!({"params": {"inputResponses": {"theirs": {"action": "accept"}}}}));
    }
}
