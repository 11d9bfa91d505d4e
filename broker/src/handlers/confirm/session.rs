//! The session-protocol confirmation: the call is answered with an SSE stream whose first
//! event is the gateway's `elicitation/create`; the stream then waits (up to
//! `confirmation.timeout_ms`) for the client's POSTed answer, which `http::post` hands to
//! `state::confirmations` by id and gateway session. Accepted, the call is relayed to its
//! backend and the backend's answer follows on the same stream (its own server requests
//! namespaced by the filter as on any relayed call); otherwise one JSON-RPC error ends it.
//!
//! The answer must reach the broker replica that asked (it holds the waiting stream): with
//! several replicas, Envoy's broker cluster must hash on `Mcp-Session-Id` (README). An answer
//! that reaches another replica matches nothing there and the question times out.

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream};
use futures::StreamExt;
use mcpgw_common::jsonrpc;
use mcpgw_common::session::SessionClaims;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::{question, refusal_body, Outcome};
use crate::config::{Runtime, Server};
use crate::handlers::routed::{relay_in_session, SessionCall};
use crate::handlers::{Reply, ReplyBody};
use crate::state::App;

/// Asks the client to confirm `call` (the tool `names.0` as exposed, `names.1` its own name)
/// and relays it once accepted. See the module docs.
pub fn ask(app: &Arc<App>, rt: &Runtime, s: Arc<Server>, claims: SessionClaims, call: SessionCall, names: (&str, &str), arguments: &Value) -> Reply {
    let (exposed, own) = names;
    let Some(mut ticket) = app.confirmations.ask(&claims.id) else {
        return Reply::error(200, call.id.as_deref(), jsonrpc::INTERNAL_ERROR, "the gateway cannot ask for a confirmation now (too many waiting)");
    };
    app.metrics.confirmation("asked");
    let request = json!({"jsonrpc": "2.0", "id": ticket.id, "method": "elicitation/create", "params": question(&s.name, exposed, own, arguments)});
    let first = event(request.to_string().as_bytes());
    let timeout = rt.config.confirmation.timeout();
    let (app, exposed) = (Arc::clone(app), exposed.to_string());
    let rest = async move {
        let answered = tokio::time::timeout(timeout, &mut ticket.answer).await;
        // The question is over, whatever came.
        drop(ticket);
        let outcome = match answered {
            Ok(Ok(message)) => Outcome::of_response(&message),
            Ok(Err(_)) => Outcome::Error,
            Err(_) => Outcome::Timeout,
        };
        app.metrics.confirmation(outcome.label());
        if outcome != Outcome::Accept {
            tracing::info!(server = %s.name, tool = %exposed, outcome = outcome.label(), "tool call not confirmed: not run");
            return stream::once(async move { event(&refusal_body(call.id.as_deref(), &exposed, outcome)) }).boxed();
        }
        let id = call.id.clone();
        let (answer, _) = relay_in_session(&app, &s, &claims, call).await;
        as_events(answer, id)
    };
    Reply::events(stream::once(async move { first }).chain(stream::once(rest).flatten()).boxed())
}

/// One SSE event carrying the JSON-RPC message `json` (a message spread over several lines,
/// as a backend may write it, becomes several `data:` lines of the one event).
fn event(json: &[u8]) -> Bytes {
    let mut out = b"event: message\n".to_vec();
    for line in json.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
    Bytes::from(out)
}

/// The backend's answer to the confirmed call, as events of the stream already open: an SSE
/// answer as it comes (ended at its first transport error), a JSON one as one event, anything
/// else as a JSON-RPC error for the call.
fn as_events(reply: Reply, id: Option<Box<RawValue>>) -> BoxStream<'static, Bytes> {
    let failed = move |why: String| stream::once(async move { event(&jsonrpc::error_body(id.as_deref(), jsonrpc::INTERNAL_ERROR, &why)) }).boxed();
    match reply.body {
        ReplyBody::Json(body) => stream::once(async move { event(&body) }).boxed(),
        ReplyBody::Events(events) => events,
        ReplyBody::Empty => failed(format!("the server answered HTTP {} with no body", reply.status)),
        ReplyBody::Relayed(answer) => {
            let ct = answer.content_type.as_ref().and_then(|v| v.to_str().ok()).map(|v| v.trim_start().to_ascii_lowercase()).unwrap_or_default();
            if ct.starts_with("text/event-stream") {
                return answer.body.take_while(|c| futures::future::ready(c.is_ok())).filter_map(|c| futures::future::ready(c.ok())).boxed();
            }
            if !ct.starts_with("application/json") {
                return failed(format!("the server answered HTTP {} ({ct:?})", answer.status));
            }
            let whole = answer.body.collect::<Vec<_>>();
            stream::once(async move {
                let mut body = Vec::new();
                for chunk in whole.await.into_iter().map_while(Result::ok) {
                    body.extend_from_slice(&chunk);
                }
                event(&body)
            })
            .boxed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_one_message_however_it_was_written() {
        assert_eq!(event(br#"{"a":1}"#), Bytes::from_static(b"event: message\ndata: {\"a\":1}\n\n"));
        let e = event(b"{\r\n\"a\": 1\n}");
        let parsed = mcpgw_common::sse::Event::parse(&e).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&parsed.data).unwrap(), json!({"a": 1}));
    }
}
