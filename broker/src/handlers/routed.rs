//! Requests owned by one backend (`tools/call`, `prompts/get`, `resources/read`,
//! `resources/subscribe|unsubscribe`, `completion/complete`). In production the filter sends
//! session-protocol calls straight to the backend; the broker serves them when it is called
//! directly, and serves every such call of a 2026-07-28 client (see the README).

use std::sync::Arc;

use mcpgw_common::protocol::era::{meta, STATELESS_VERSION};
use mcpgw_common::protocol::{stateless_result, Era, Method, Route};
use mcpgw_common::session::SessionClaims;
use mcpgw_common::{headers as mcp_headers, jsonrpc};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::client::addressing::Addressing;
use crate::client::relay::{complete_results, relay_call, RelayFailure};
use crate::client::{backend_sessions, capability_probe, ephemeral, ephemeral_stream, exchange};
use crate::config::{Runtime, Server};
use crate::handlers::confirm;
use crate::handlers::get_stream;
use crate::handlers::lists::Access;
use crate::handlers::{Posted, Reply};
use crate::state::App;

/// The prefix of the SEP-2243 custom headers (`Mcp-Param-<Name>`) that mirror tool
/// arguments; the backend checks them against the body, so they travel with the call.
pub const PARAM_HEADER_PREFIX: &str = "mcp-param-";

/// The 2026-07-28 headers for the backend, from the client's: every `Mcp-Param-*` as sent,
/// and `mcp_name` (see [`backend_name_header`]) when the method has one.
fn stateless_headers(client: &HeaderMap, mcp_name: Option<HeaderValue>) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in client {
        if k.as_str().starts_with(PARAM_HEADER_PREFIX) {
            h.append(k.clone(), v.clone());
        }
    }
    if let Some(v) = mcp_name {
        h.insert(mcp_headers::NAME, v);
    }
    h
}

/// `Mcp-Name` for the backend's own name `own`: the client's value as it came (plain or
/// `=?base64?…?=`) when the name is unchanged, else the backend's name, encoded.
fn backend_name_header(client: Option<&HeaderValue>, exposed: &str, own: &str) -> Option<HeaderValue> {
    match client {
        Some(v) if exposed == own => Some(v.clone()),
        _ => HeaderValue::from_str(&mcp_headers::encode_value(own)).ok(),
    }
}

/// The body for the backend: the server's own name in place of the exposed one.
fn backend_body(route: &Route<'_>, body: &[u8]) -> Vec<u8> {
    route.rewritten_body(body).unwrap_or_else(|| body.to_vec())
}

/// A routed call of a session, owned, so that it can be made later (after a confirmation).
pub struct SessionCall {
    pub method: String,
    /// The body for the backend (its own name in it).
    pub body: Vec<u8>,
    pub id: Option<Box<RawValue>>,
    /// The filter's facts, passed on ([`facts`]).
    pub facts: HeaderMap,
    pub authorization: Option<HeaderValue>,
}

/// A session-protocol client calling the broker directly (the session's first call to the
/// server, the filter learnt no backend session for it, or the call needs the human's
/// confirmation first: `confirm`).
pub async fn in_session(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>, route: &Route<'_>, claims: &SessionClaims) -> Reply {
    let id = posted.id();
    let Some(s) = rt.servers.get(route.server) else {
        return Reply::error(200, id, jsonrpc::INTERNAL_ERROR, "router out of date");
    };
    let call = SessionCall {
        method: posted.msg.method.as_deref().unwrap_or_default().to_string(),
        body: backend_body(route, posted.body()),
        id: id.map(ToOwned::to_owned),
        facts: facts(posted.headers),
        authorization: posted.authorization(),
    };
    if confirm::needed(app, rt, s, route, Access::Session(claims), call.authorization.clone()).await {
        let exposed = route.exposed.value.as_ref();
        if claims.elicitation {
            let arguments = posted.tree().pointer("/params/arguments").cloned().unwrap_or(Value::Null);
            return confirm::session::ask(app, rt, Arc::clone(s), claims.clone(), call, (exposed, route.own()), &arguments);
        }
        if let Some(refused) = confirm::unasked(app, rt, Era::Session, id, exposed) {
            return refused;
        }
    }
    match relay_in_session(app, s, claims, call).await {
        (answer, Some(used)) => teach(answer, &s.name, used.as_deref()),
        (answer, None) => answer,
    }
}

/// Relays `call` on the session's backend session with `s` (opened on first use, renewed
/// once when the backend forgot it). The answer, and the backend session it used when there
/// is one to teach the filter.
pub async fn relay_in_session(app: &Arc<App>, s: &Arc<Server>, claims: &SessionClaims, call: SessionCall) -> (Reply, Option<Option<String>>) {
    let SessionCall { method, body, id, facts, authorization } = call;
    let id = id.as_deref();
    let method = method.as_str();
    let unavailable = |reason: &str| Reply::error(200, id, jsonrpc::INTERNAL_ERROR, &format!("server {:?} is unavailable ({reason})", s.name));
    // The session's first call to this server opens its backend session (initialize opened
    // none); later ones reuse it.
    let first_use = backend_sessions::known(app, claims, &s.name).is_none();
    let session = match backend_sessions::ensure(app, claims, s, authorization.clone()).await {
        Ok(session) => session,
        Err(e) => return (unavailable(e.reason()), None),
    };
    if first_use {
        get_stream::attach(app, claims, s, authorization.clone());
    }
    let addressing = Addressing { backend_session: session, protocol_version: Some(claims.protocol_version.clone()), authorization: authorization.clone() };
    let stale = addressing.backend_session.clone();
    let (answer, used) = match relay_call(app, s, &addressing, method, facts.clone(), body.clone(), id).await {
        Ok(a) => (Reply::relayed(a), stale),
        Err(RelayFailure::Unreachable(reason)) => (unavailable(reason), stale),
        // Not processed: repeated once on a replacement backend session, even a tools/call.
        // (A call that failed any other way may have run, and is never repeated.)
        Err(RelayFailure::ForgotSession) => match backend_sessions::renew(app, claims, s, stale.as_deref(), authorization).await {
            Ok(session) => {
                let replacement = Addressing { backend_session: session.clone(), ..addressing };
                match relay_call(app, s, &replacement, method, facts, body, id).await {
                    Ok(a) => (Reply::relayed(a), session),
                    Err(RelayFailure::Unreachable(reason)) => (unavailable(reason), session),
                    Err(RelayFailure::ForgotSession) => return (unavailable("session_lost"), None),
                }
            }
            Err(e) => return (unavailable(e.reason()), None),
        },
    };
    (answer, Some(used))
}

/// The facts the filter published for policy (`x-mcp-method`, `x-mcp-servername`,
/// `x-mcp-toolname`, `x-mcp-sessionid`, … as configured), passed on to the backend as the
/// filter passes them on a call it sends straight: a backend sees the same headers whether
/// the session's call was its first (through the broker) or a later one. Never the broker
/// credential or the backend-session header.
fn facts(client: &HeaderMap) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in client {
        let name = k.as_str();
        if name.starts_with("x-mcp-") && name != mcpgw_common::broker_auth::HEADER && name != mcpgw_common::backend_session::HEADER {
            h.append(k.clone(), v.clone());
        }
    }
    h
}

/// Tells the filter which backend session the call used (`x-mcp-backend-session`), so that the
/// session's later calls to the server go straight to it. The filter removes the header before
/// the client sees the answer.
fn teach(mut answer: Reply, server: &str, session: Option<&str>) -> Reply {
    let pair = mcpgw_common::backend_session::encode_pair(server, session.unwrap_or_default());
    if let Ok(v) = HeaderValue::from_str(&pair) {
        answer.headers.insert(mcpgw_common::backend_session::HEADER, v);
    }
    answer
}

/// A 2026-07-28 client: straight through to a backend that speaks it; through a throwaway
/// backend session (opened for this request alone, then deleted) to one that does not.
pub async fn stateless(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>, route: &Route<'_>) -> Reply {
    let id = posted.id();
    let fail = |code: i32, message: String| Reply::rpc_error(Era::Stateless, id, code, &message);
    let Some(s) = rt.servers.get(route.server) else {
        return fail(jsonrpc::INTERNAL_ERROR, "router out of date".into());
    };
    let method = posted.msg.method.as_deref().unwrap_or_default();
    let mut body = backend_body(route, posted.body());
    let authorization = posted.authorization();
    // The client's `_meta` is read (one parse) only for the hints' list.
    let client_meta = if rt.config.confirmation.destructive_hint { posted.tree().pointer("/params/_meta").cloned() } else { None };
    if confirm::needed(app, rt, s, route, Access::Stateless(client_meta.as_ref()), authorization.clone()).await {
        match confirm::stateless::gate(app, rt, s, posted, (&route.exposed.value, route.own()), body) {
            confirm::stateless::Gate::Reply(reply) => return reply,
            confirm::stateless::Gate::Forward(confirmed) => body = confirmed,
        }
    }
    let probed = match capability_probe::probe(app, rt.generation, s, authorization.as_ref()).await {
        Ok(p) => p,
        Err(e) => return fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} is unavailable ({})", s.name, e.reason())),
    };
    if probed.speaks_stateless {
        let mcp_name = posted
            .method
            .and_then(Method::name_header_field)
            .and_then(|_| backend_name_header(posted.headers.get(mcp_headers::NAME), &route.exposed.value, route.own()));
        let extra = stateless_headers(posted.headers, mcp_name);
        let addressing = Addressing { backend_session: None, protocol_version: Some(STATELESS_VERSION.into()), authorization };
        // No session id was sent, so a 404 is the backend's own answer: passed on. A backend
        // that speaks 2026-07-28 may still omit what the revision requires of a result (an
        // SDK that predates it): the answer is completed, until the server is seen to comply.
        return match relay_call(app, s, &addressing, method, extra, body, id).await {
            Ok(a) => {
                let a = match posted.method {
                    Some(m) => complete_results(app, &s.name, rt.generation, m, a),
                    None => a,
                };
                Reply::relayed(crate::client::task_ids::expose(a, &s.name, posted.method))
            }
            Err(RelayFailure::Unreachable(reason)) => fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} is unavailable ({reason})", s.name)),
            Err(RelayFailure::ForgotSession) => fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} is unavailable (refused)", s.name)),
        };
    }
    // The one JSON tree of this request: the client's `_meta` (capabilities, client info) for
    // the throwaway session, and the body without the 2026-07-28 keys.
    let mut request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let client_meta = request.pointer("/params/_meta").cloned();
    let throwaway = match ephemeral::open(app, s, client_meta.as_ref(), authorization).await {
        Ok(e) => e,
        Err(e) => return fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} is unavailable ({})", s.name, e.reason())),
    };
    if let Some(m) = request.pointer_mut("/params/_meta").and_then(Value::as_object_mut) {
        // The 2026-07-28 per-request metadata means nothing to a session-protocol backend.
        m.retain(|k, _| !k.starts_with(meta::PREFIX));
    }
    // A client that asked for progress gets it: the answer streams (progress, then the response).
    if ephemeral_stream::wants_progress(&request) {
        // The response completed as on the path below (`stateless_result`).
        let method = posted.method;
        let complete = Box::new(move |msg: Value| {
            let body = msg.to_string().into_bytes();
            match method.and_then(|m| stateless_result::complete(&body, m)) {
                Some(done) => serde_json::from_slice(&done).unwrap_or(msg),
                None => msg,
            }
        });
        return match ephemeral_stream::request_streaming(app.clone(), s.clone(), throwaway, request, client_meta.as_ref(), complete).await {
            Ok(events) => Reply::events(events),
            Err(e) => fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} failed ({})", s.name, e.reason())),
        };
    }
    let out = exchange::request(app, s, &throwaway.addressing, &request).await;
    throwaway.close(app, s).await;
    match out {
        Ok(r) => {
            // A session-protocol backend's result lacks what 2026-07-28 requires of it
            // (`resultType`, and the caching keys on `resources/read`).
            let body = r.message.to_string().into_bytes();
            let completed = posted.method.and_then(|m| stateless_result::complete(&body, m));
            Reply::json(200, completed.unwrap_or(body))
        }
        Err(e) => fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} failed ({})", s.name, e.reason())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn param_headers_travel_and_mcp_name_names_the_backends_tool() {
        let c = client(&[("mcp-param-region", "us-east"), ("mcp-param-tags", "a"), ("mcp-param-tags", "b"), ("mcp-name", "a_echo"), ("x-other", "no")]);
        let h = stateless_headers(&c, backend_name_header(c.get("mcp-name"), "a_echo", "echo"));
        assert_eq!(h.get("mcp-param-region").unwrap(), "us-east");
        assert_eq!(h.get_all("mcp-param-tags").iter().count(), 2);
        assert_eq!(h.get("mcp-name").unwrap(), "echo");
        assert!(h.get("x-other").is_none());

        // A stripped name that is not plain ASCII is sent base64-encoded.
        let c = client(&[("mcp-name", "=?base64?YV9ow6lsbG8=?=")]);
        let h = stateless_headers(&c, backend_name_header(c.get("mcp-name"), "a_héllo", "héllo"));
        assert_eq!(h.get("mcp-name").unwrap(), "=?base64?aMOpbGxv?=");

        // An unchanged name keeps the client's own form.
        let c = client(&[("mcp-name", "=?base64?ZWNobw==?=")]);
        let h = stateless_headers(&c, backend_name_header(c.get("mcp-name"), "echo", "echo"));
        assert_eq!(h.get("mcp-name").unwrap(), "=?base64?ZWNobw==?=");

        // A method without a name header (completion/complete) sends none.
        assert!(stateless_headers(&c, None).get("mcp-name").is_none());
    }
}
