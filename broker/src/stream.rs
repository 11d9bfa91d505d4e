//! Notification fan-in: one SSE stream for the client that merges the backends' streams and
//! the gateway's own events. Used by GET (session protocol) and `subscriptions/listen`
//! (2026-07-28).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use mcpgw_common::ids::map_server_request_id;
use mcpgw_common::names::expose_uri;
use reqwest::header::{HeaderValue, ACCEPT};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use crate::app::App;
use crate::backend::{self, Ctx};
use crate::config::Server;
use crate::{reply, sse};

/// Shapes a message before it reaches the client; `None` drops it.
pub type Shaper = Arc<dyn Fn(Value) -> Option<Value> + Send + Sync>;

/// Rewrites what a backend sent so that it names things as the client sees them: resource
/// URIs get the server's tag, and server-to-client request ids become `"<server>:<id>"` so
/// the client's response can be routed back (`mcpgw_common::protocol::decide` unmaps them).
pub fn from_backend(s: &Server, mut msg: Value) -> Value {
    let method = msg.get("method").and_then(Value::as_str).map(String::from);
    if method.as_deref() == Some("notifications/resources/updated") {
        if let Some(uri) = msg.pointer("/params/uri").and_then(Value::as_str) {
            let exposed = expose_uri(&s.name, s.is_default(), uri);
            msg["params"]["uri"] = Value::String(exposed);
        }
    }
    if method.is_some() {
        if let Some(id) = msg.get("id").filter(|v| !v.is_null()) {
            msg["id"] = Value::String(map_server_request_id(&s.name, &id.to_string()));
        }
    }
    msg
}

/// One message relayed to the client, with its SSE event id as the client sees it
/// (`<server>:<backend's event id>`, see [`event_id`]).
pub type Relayed = (Option<String>, Value);

/// The event id the client sees for event `id` of `server`'s stream. A client that resumes
/// with it (GET with `Last-Event-ID`) is resumed on that server alone.
pub fn event_id(server: &str, id: &str) -> String {
    format!("{server}:{id}")
}

/// How a GET resumes (its `Last-Event-ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// No `Last-Event-ID`: every backend's stream is opened afresh.
    Fresh,
    /// An id the broker minted (`<server>:<id>`, the server is in the session): that server
    /// resumes from its own id, the others' streams are opened afresh.
    Server(String, String),
    /// An id the broker did not mint: a tool call's SSE answer that went straight from a
    /// backend to the client through the filter, which leaves event ids alone. Whose it is
    /// cannot be told, so every backend of the session is asked to resume after it; a
    /// backend that does not know it answers with an error or an empty stream. The client's
    /// stream ends when every resumed backend stream has ended.
    Any(String),
}

impl Resume {
    pub fn parse(last_event_id: Option<&str>, is_member: impl Fn(&str) -> bool) -> Resume {
        let Some(l) = last_event_id.filter(|l| !l.is_empty()) else { return Resume::Fresh };
        match l.split_once(':') {
            Some((server, raw)) if is_member(server) => Resume::Server(server.to_string(), raw.to_string()),
            _ => Resume::Any(l.to_string()),
        }
    }

    /// The `Last-Event-ID` to send to `server`.
    fn for_server(&self, server: &str) -> Option<&str> {
        match self {
            Resume::Fresh => None,
            Resume::Server(s, raw) => (s == server).then_some(raw.as_str()),
            Resume::Any(l) => Some(l.as_str()),
        }
    }
}

/// Reads one backend SSE response into `tx` until the client goes away or it ends. A listen
/// stream (`listen`) drops the backend's acknowledgement and its closing result; a GET
/// stream relays responses too (a resumed request stream ends with its response).
pub async fn pump(app: Arc<App>, s: Arc<Server>, resp: reqwest::Response, tx: mpsc::Sender<Relayed>, listen: bool) {
    let mut parser = sse::Parser::default();
    let mut body = resp.bytes_stream();
    loop {
        let chunk = tokio::select! {
            _ = tx.closed() => return,
            c = body.next() => c,
        };
        let Some(Ok(chunk)) = chunk else {
            tracing::debug!(server = %s.name, "backend notification stream ended");
            return;
        };
        for ev in parser.push(&chunk) {
            let Ok(msg) = serde_json::from_str::<Value>(&ev.data) else { continue };
            let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
            if listen && method == "notifications/subscriptions/acknowledged" {
                continue;
            }
            if listen && msg.get("result").is_some() && msg.get("method").is_none() {
                // The end of a listen stream; the client's stream stays open.
                continue;
            }
            app.cache.invalidate_for_notification(&s.name, method);
            let id = ev.id.as_deref().filter(|i| !i.is_empty()).map(|i| event_id(&s.name, i));
            if tx.send((id, from_backend(&s, msg))).await.is_err() {
                return;
            }
        }
    }
}

/// Opens a backend's GET stream (session protocol), resuming after `last_event_id` if given.
/// `None` when it offers none.
pub async fn open_get(app: &App, s: &Server, ctx: &Ctx, last_event_id: Option<&str>) -> Option<reqwest::Response> {
    open_get_status(app, s, ctx, last_event_id).await.ok()
}

/// [`open_get`], telling a refusal's HTTP status (`Err(Some(404))`: the backend forgot the
/// session) from no answer at all (`Err(None)`).
pub async fn open_get_status(app: &App, s: &Server, ctx: &Ctx, last_event_id: Option<&str>) -> Result<reqwest::Response, Option<u16>> {
    let mut h = backend::headers(s, ctx, None);
    h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    if let Some(v) = last_event_id.and_then(|l| HeaderValue::from_str(l).ok()) {
        h.insert("last-event-id", v);
    }
    h.remove(reqwest::header::CONTENT_TYPE);
    let resp = match tokio::time::timeout(s.timeout, app.http.get(&s.url).headers(h).send()).await {
        Ok(Ok(r)) => r,
        _ => return Err(None),
    };
    if !resp.status().is_success() {
        tracing::debug!(server = %s.name, status = %resp.status(), "backend offers no GET stream");
        return Err(Some(resp.status().as_u16()));
    }
    Ok(resp)
}

/// A gateway-made `notifications/message` at level `warning`.
pub fn warning(text: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "warning", "logger": "mcp-gateway", "data": text}})
}

/// The client-facing SSE response: `first` (e.g. a listen acknowledgement), then backend
/// messages and gateway events, each passed through `shape`, with keep-alive comments.
/// With `replay_only` the stream carries backend messages alone and ends with them.
pub fn respond(app: &Arc<App>, first: Option<Value>, mut rx: mpsc::Receiver<Relayed>, shape: Shaper, replay_only: bool) -> Response {
    let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(64);
    let mut gw = app.events.subscribe();
    let gauge = app.metrics.streams_open.clone();
    gauge.inc();
    tokio::spawn(async move {
        struct Open(prometheus_client::metrics::gauge::Gauge);
        impl Drop for Open {
            fn drop(&mut self) {
                self.0.dec();
            }
        }
        let _open = Open(gauge);
        if let Some(f) = first {
            if out_tx.send(sse::encode(&f)).await.is_err() {
                return;
            }
        }
        let mut keepalive = tokio::time::interval(Duration::from_secs(15));
        keepalive.tick().await;
        loop {
            let msg = tokio::select! {
                _ = out_tx.closed() => return,
                m = rx.recv() => match m {
                    Some(m) => Some(m),
                    None if replay_only => return,
                    None => { rx = mpsc::channel(1).1; None }
                },
                g = gw.recv(), if !replay_only => match g { Ok(g) => Some((None, g)), Err(broadcast::error::RecvError::Lagged(_)) => None, Err(_) => None },
                _ = keepalive.tick() => {
                    if out_tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() { return; }
                    None
                }
            };
            if let Some((id, m)) = msg.and_then(|(id, m)| Some((id, shape(m)?))) {
                if out_tx.send(sse::encode_with_id(id.as_deref(), &m)).await.is_err() {
                    return;
                }
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| out_rx.poll_recv(cx)).map(Ok::<_, std::convert::Infallible>);
    let mut r = Response::new(Body::from_stream(stream));
    reply::sse_headers(&mut r);
    r
}

/// GET on the endpoint: merges the client's backend sessions' streams, resuming them as
/// `last_event_id` says (see [`Resume`]). Only servers the session has a backend session with
/// (opened on its first use, by this broker or learnt by the filter and passed on) get one: a
/// server the session never used has no session to notify it about. A backend session this
/// broker opens later joins the streams open then ([`attach`]).
pub async fn get(app: &Arc<App>, claims: &mcpgw_common::session::SessionClaims, auth: Option<HeaderValue>, last_event_id: Option<&str>) -> Response {
    let rt = app.runtime();
    let resume = Resume::parse(last_event_id, |name| crate::sessions::known(app, claims, name).is_some());
    let (tx, rx) = mpsc::channel(256);
    let shared_claims = Arc::new(claims.clone());
    for s in &rt.servers {
        let ctx = crate::sessions::ctx(app, claims, s, auth.clone());
        if ctx.session.is_none() {
            continue;
        }
        let after = resume.for_server(&s.name).map(String::from);
        let (app, s, tx, claims, auth) = (app.clone(), s.clone(), tx.clone(), shared_claims.clone(), auth.clone());
        tokio::spawn(async move {
            let resp = match open_get_status(&app, &s, &ctx, after.as_deref()).await {
                Ok(r) => Some(r),
                // The backend forgot the session (it restarted): a replacement, and its stream.
                Err(Some(404)) => match crate::sessions::renew(&app, &claims, &s, ctx.session.as_deref(), auth).await {
                    Ok(session) => open_get(&app, &s, &Ctx { session, ..ctx }, None).await,
                    Err(_) => None,
                },
                Err(_) => None,
            };
            if let Some(resp) = resp {
                pump(app, s, resp, tx, false).await;
            }
        });
    }
    let replay_only = matches!(resume, Resume::Any(_));
    if !replay_only {
        // Kept open for the gateway's own messages to this session (a backend restart's cost).
        app.register_stream(&claims.id, tx.clone());
    }
    drop(tx);
    respond(app, None, rx, Arc::new(Some), replay_only)
}

/// A backend session was just opened for `claims` with `s` (the session's first use of the
/// server, or a replacement): its GET stream joins the session's GET streams already open on
/// this broker, so that a client that opened its GET stream right after `initialize` (as the
/// SDKs do, before any backend session existed) hears from the servers it goes on to use.
pub fn attach(app: &Arc<App>, claims: &mcpgw_common::session::SessionClaims, s: &Arc<Server>, auth: Option<HeaderValue>) {
    let senders = app.session_stream_senders(&claims.id);
    if senders.is_empty() {
        return;
    }
    let ctx = crate::sessions::ctx(app, claims, s, auth);
    if ctx.session.is_none() {
        return;
    }
    for tx in senders {
        let (app, s, ctx) = (app.clone(), s.clone(), ctx.clone());
        tokio::spawn(async move {
            if let Some(resp) = open_get(&app, &s, &ctx, None).await {
                pump(app, s, resp, tx, false).await;
            }
        });
    }
}

/// Forwards a client's answer to a server request (`body`, with the server's own id back in
/// it) to the server that asked: on the client's session's backend session with it, or
/// without a session (2026-07-28, or an answer sent without a session id).
pub async fn forward_answer(app: &Arc<App>, claims: Option<&mcpgw_common::session::SessionClaims>, server: &Server, body: Bytes, auth: Option<HeaderValue>) {
    match claims {
        Some(c) => crate::sessions::notify(app, c, server, auth, None, body).await,
        None => {
            let ctx = Ctx { session: None, protocol_version: None, authorization: auth };
            backend::send(app, server, &ctx, None, body).await;
        }
    }
}

/// An answer whose id the broker did not tag (a request that reached the client on a stream
/// the broker did not relay, e.g. a tool call's SSE answer through the filter) goes to every
/// backend session of the client's session; the backends that did not ask ignore it.
pub async fn broadcast_answer(app: &Arc<App>, claims: &mcpgw_common::session::SessionClaims, body: Bytes, auth: Option<HeaderValue>) {
    let rt = app.runtime();
    let sends = rt.servers.iter().filter_map(|s| {
        crate::sessions::known(app, claims, &s.name)?;
        Some(crate::sessions::notify(app, claims, s, auth.clone(), None, body.clone()))
    });
    futures::future::join_all(sends).await;
}

/// A gateway-made notification.
pub fn notification(method: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": method})
}

#[cfg(test)]
mod tests {
    use mcpgw_common::ids::unmap_server_request_id;

    use super::*;

    #[test]
    fn server_request_ids_round_trip() {
        let s = Server {
            index: 0,
            name: "alpha".into(),
            prefix: "a_".into(),
            url: String::new(),
            timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(1),
            credential: None,
            forward_authorization: false,
            cache_lists: true,
        };
        let unmap = |id: &Value| unmap_server_request_id(id.as_str().unwrap()).map(|(s, raw)| (s.to_string(), raw.to_string()));
        let m = from_backend(&s, json!({"jsonrpc":"2.0","id":7,"method":"roots/list"}));
        assert_eq!(m["id"], "alpha:7");
        assert_eq!(unmap(&m["id"]), Some(("alpha".into(), "7".into())));
        let m = from_backend(&s, json!({"jsonrpc":"2.0","id":"req:1","method":"roots/list"}));
        assert_eq!(m["id"], r#"alpha:"req:1""#);
        assert_eq!(unmap(&m["id"]), Some(("alpha".into(), r#""req:1""#.into())));
        assert_eq!(unmap(&json!("alpha:abc")), None, "not one of ours");
        let n = from_backend(&s, json!({"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file:///x"}}));
        assert_eq!(n["params"]["uri"], "alpha+file:///x");
    }
}
