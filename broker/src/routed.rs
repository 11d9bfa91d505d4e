//! Requests owned by one backend (`tools/call`, `prompts/get`, `resources/read`,
//! `resources/subscribe|unsubscribe`, `completion/complete`). In production the filter sends
//! session-protocol calls straight to the backend; the broker serves them when it is called
//! directly, and serves every such call of a 2026-07-28 client (see the README).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use mcpgw_common::protocol::era::{meta, STATELESS_VERSION};
use mcpgw_common::protocol::{Era, Method, Route};
use mcpgw_common::session::SessionClaims;
use mcpgw_common::{headers as mcp_headers, jsonrpc};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::app::App;
use crate::backend::{self, Ctx};
use crate::config::{Runtime, Server};
use crate::http::Posted;
use crate::{era, reply};

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

/// The backend answered HTTP 404 under a session id: it forgot that session (it restarted)
/// and so did not process the call.
struct Forgot;

/// Streams the backend's answer back (JSON or SSE), without its session id.
async fn proxy(app: &Arc<App>, s: &Server, ctx: &Ctx, method: &str, extra: Option<HeaderMap>, body: Vec<u8>, id: Option<&RawValue>) -> Result<Response, Forgot> {
    let mut h = backend::headers(s, ctx, Some(method));
    if let Some(extra) = extra {
        h.extend(extra);
    }
    // A routed call is bounded by silence, not by the fan-out budget: the backend may take as
    // long as it likes as long as it does not go quiet for longer than idle_timeout_ms.
    let sent = tokio::time::timeout(s.idle_timeout, app.http.post(&s.url).headers(h).body(body).send()).await;
    let resp = match sent {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            app.record_error(&s.name, "connect", &e.to_string());
            return Ok(reply::error(StatusCode::OK, id, jsonrpc::INTERNAL_ERROR, &format!("server {:?} is unavailable (unavailable)", s.name)));
        }
        Err(_) => {
            app.record_error(&s.name, "timeout", &format!("no answer to {method}"));
            return Ok(reply::error(StatusCode::OK, id, jsonrpc::INTERNAL_ERROR, &format!("server {:?} is unavailable (timeout)", s.name)));
        }
    };
    if resp.status().as_u16() == 404 && ctx.session.is_some() {
        app.record_error(&s.name, "session", &format!("{method}: the backend no longer knows this session (404)"));
        return Err(Forgot);
    }
    app.record_ok(&s.name);
    let mut out = Response::new(Body::empty());
    *out.status_mut() = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = resp.headers().get(header::CONTENT_TYPE).and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    let is_sse = content_type.as_ref().and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.trim_start().starts_with("text/event-stream"));
    if let Some(ct) = content_type {
        out.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    let silence_error = is_sse.then(|| {
        let message = format!("server {:?} is unavailable (timeout: silent for longer than its idle_timeout_ms)", s.name);
        let mut event = b"event: message\ndata: ".to_vec();
        event.extend_from_slice(&jsonrpc::error_body(id, jsonrpc::INTERNAL_ERROR, &message));
        event.extend_from_slice(b"\n\n");
        bytes::Bytes::from(event)
    });
    let (app, name, method) = (Arc::clone(app), s.name.clone(), method.to_string());
    let record = move || app.record_error(&name, "timeout", &format!("{method}: silent for longer than idle_timeout_ms"));
    let stream = silence_bounded(Box::pin(resp.bytes_stream()), s.idle_timeout, silence_error, record);
    *out.body_mut() = Body::from_stream(stream);
    Ok(out)
}

/// The backend's body, ended when it stays silent for `idle`: an SSE answer then gets a
/// JSON-RPC error event for the call (`on_silence` text) before it ends, so the client learns
/// why in-band; a JSON answer can only end. `on_timeout` records it.
fn silence_bounded<S>(
    body: S,
    idle: std::time::Duration,
    on_silence: Option<bytes::Bytes>,
    on_timeout: impl Fn() + Send + 'static,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send
where
    S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send + Unpin + 'static,
{
    futures::stream::unfold(Some((body, on_silence, on_timeout)), move |state| async move {
        let (mut body, on_silence, on_timeout) = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(chunk)) => Some((chunk.map_err(std::io::Error::other), Some((body, on_silence, on_timeout)))),
            Ok(None) => None,
            Err(_) => {
                on_timeout();
                match on_silence {
                    Some(event) => Some((Ok(event), None)),
                    None => Some((Err(std::io::Error::other("backend silent for longer than its idle_timeout_ms")), None)),
                }
            }
        }
    })
}

/// A session-protocol client calling the broker directly (the session's first call to the
/// server, or the filter learnt no backend session for it).
pub async fn in_session(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>, route: &Route<'_>, claims: &SessionClaims) -> Response {
    let id = posted.id();
    let Some(s) = rt.servers.get(route.server) else {
        return reply::error(StatusCode::OK, id, jsonrpc::INTERNAL_ERROR, "router out of date");
    };
    let method = posted.msg.method.as_deref().unwrap_or_default();
    let body = backend_body(route, posted.body());
    let authorization = posted.authorization();
    let unavailable = |reason: &str| {
        reply::error(StatusCode::OK, id, jsonrpc::INTERNAL_ERROR, &format!("server {:?} is unavailable ({reason})", s.name))
    };
    // The session's first call to this server opens its backend session (initialize opened
    // none); later ones reuse it.
    let first_use = crate::sessions::known(app, claims, &s.name).is_none();
    let session = match crate::sessions::ensure(app, claims, s, authorization.clone()).await {
        Ok(session) => session,
        Err(e) => return unavailable(e.reason()),
    };
    if first_use {
        crate::stream::attach(app, claims, s, authorization.clone());
    }
    let ctx = Ctx { session, protocol_version: Some(claims.protocol_version.clone()), authorization: authorization.clone() };
    let stale = ctx.session.clone();
    let facts = facts(posted.headers);
    let (answer, used) = match proxy(app, s, &ctx, method, Some(facts.clone()), body.clone(), id).await {
        Ok(r) => (r, stale),
        // Not processed: repeated once on a replacement backend session, even a tools/call.
        // (A call that failed any other way may have run, and is never repeated.)
        Err(Forgot) => match crate::sessions::renew(app, claims, s, stale.as_deref(), authorization).await {
            Ok(session) => match proxy(app, s, &Ctx { session: session.clone(), ..ctx }, method, Some(facts), body, id).await {
                Ok(r) => (r, session),
                Err(Forgot) => return unavailable("session_lost"),
            },
            Err(e) => return unavailable(e.reason()),
        },
    };
    teach(answer, &s.name, used.as_deref())
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
fn teach(mut answer: Response, server: &str, session: Option<&str>) -> Response {
    let pair = mcpgw_common::backend_session::encode_pair(server, session.unwrap_or_default());
    if let Ok(v) = HeaderValue::from_str(&pair) {
        answer.headers_mut().insert(mcpgw_common::backend_session::HEADER, v);
    }
    answer
}

/// A 2026-07-28 client: straight through to a backend that speaks it; through a throwaway
/// backend session (opened for this request alone, then deleted) to one that does not.
pub async fn stateless(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>, route: &Route<'_>) -> Response {
    let id = posted.id();
    let fail = |code: i32, message: String| reply::rpc_error(Era::Stateless, id, code, &message);
    let Some(s) = rt.servers.get(route.server) else {
        return fail(jsonrpc::INTERNAL_ERROR, "router out of date".into());
    };
    let method = posted.msg.method.as_deref().unwrap_or_default();
    let body = backend_body(route, posted.body());
    let authorization = posted.authorization();
    let era = match era::probe(app, rt.generation, s, authorization.as_ref()).await {
        Ok(e) => e,
        Err(e) => return fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} is unavailable ({})", s.name, e.reason())),
    };
    if era.modern {
        let mcp_name = posted
            .method
            .and_then(Method::name_header_field)
            .and_then(|_| backend_name_header(posted.headers.get(mcp_headers::NAME), &route.exposed.value, route.own()));
        let extra = stateless_headers(posted.headers, mcp_name);
        let ctx = Ctx { session: None, protocol_version: Some(STATELESS_VERSION.into()), authorization };
        // No session id was sent, so a 404 is the backend's own answer: passed on.
        return match proxy(app, s, &ctx, method, Some(extra), body, id).await {
            Ok(r) => r,
            Err(Forgot) => fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} is unavailable (refused)", s.name)),
        };
    }
    // The one JSON tree of this request: the client's `_meta` (capabilities, client info) for
    // the throwaway session, and the body without the 2026-07-28 keys.
    let mut request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let client_meta = request.pointer("/params/_meta").cloned();
    let eph = match backend::open_ephemeral(app, s, client_meta.as_ref(), authorization).await {
        Ok(e) => e,
        Err(e) => return fail(jsonrpc::INTERNAL_ERROR, format!("server {:?} is unavailable ({})", s.name, e.reason())),
    };
    if let Some(m) = request.pointer_mut("/params/_meta").and_then(Value::as_object_mut) {
        // The 2026-07-28 per-request metadata means nothing to a session-protocol backend.
        m.retain(|k, _| !k.starts_with(meta::PREFIX));
    }
    let out = backend::request(app, s, &eph.ctx, &request).await;
    eph.close(app, s).await;
    match out {
        Ok(r) => {
            let mut msg = r.message;
            if let Some(res) = msg.get_mut("result").and_then(Value::as_object_mut) {
                res.entry("resultType").or_insert(Value::String("complete".into()));
            }
            reply::json(StatusCode::OK, msg.to_string().into_bytes())
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
