//! Backend streams: a backend's GET stream (session protocol) or `subscriptions/listen`
//! stream (2026-07-28) opened, and its messages (SSE events or JSON lines, as the backend
//! framed them) read into a client's stream, renamed as the client sees them (resource URIs
//! tagged with their server, server request ids namespaced, event ids made `<server>:<id>`).

use std::sync::Arc;

use futures::StreamExt;
use mcpgw_common::ids::map_server_request_id;
use mcpgw_common::names::expose_uri;
use reqwest::header::{HeaderValue, ACCEPT};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::client::addressing::{request_headers, Addressing};
use crate::client::stream_reader::{Message, Reader};
use crate::config::Server;
use crate::state::app::Relayed;
use crate::state::App;

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

/// The event id the client sees for event `id` of `server`'s stream. A client that resumes
/// with it (GET with `Last-Event-ID`) is resumed on that server alone.
pub fn event_id(server: &str, id: &str) -> String {
    format!("{server}:{id}")
}

/// Reads one backend stream into `tx` until the client goes away or it ends, in the framing
/// the backend gave it (SSE or newline-delimited JSON, `client::stream_reader`). A listen
/// stream (`listen`) drops the backend's acknowledgement and its closing result; a GET
/// stream relays responses too (a resumed request stream ends with its response).
pub async fn pump(app: Arc<App>, s: Arc<Server>, resp: reqwest::Response, tx: mpsc::Sender<Relayed>, listen: bool) {
    let mut reader = Reader::for_response(&resp);
    let mut body = resp.bytes_stream();
    loop {
        let chunk = tokio::select! {
            _ = tx.closed() => return,
            c = body.next() => c,
        };
        let (messages, ended) = match chunk {
            Some(Ok(chunk)) => (reader.push(&chunk), false),
            // The end (or a broken stream): a last line without its line end still counts.
            _ => (reader.finish(), true),
        };
        for m in messages {
            if !relay(&app, &s, &tx, m, listen).await {
                return;
            }
        }
        if ended {
            tracing::debug!(server = %s.name, "backend notification stream ended");
            return;
        }
    }
}

/// Passes one message of a backend stream on (see [`pump`]); false once the client is gone.
async fn relay(app: &App, s: &Server, tx: &mpsc::Sender<Relayed>, m: Message, listen: bool) -> bool {
    let msg = m.message;
    let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
    if listen && method == "notifications/subscriptions/acknowledged" {
        return true;
    }
    if listen && msg.get("result").is_some() && msg.get("method").is_none() {
        // The end of a listen stream; the client's stream stays open.
        return true;
    }
    app.list_cache.invalidate_for_notification(&s.name, method);
    let id = m.id.as_deref().filter(|i| !i.is_empty()).map(|i| event_id(&s.name, i));
    tx.send((id, from_backend(s, msg))).await.is_ok()
}

/// Opens a backend's GET stream (session protocol), resuming after `last_event_id` if given.
/// `None` when it offers none.
pub async fn open_get(app: &App, s: &Server, addressing: &Addressing, last_event_id: Option<&str>) -> Option<reqwest::Response> {
    open_get_status(app, s, addressing, last_event_id).await.ok()
}

/// [`open_get`], telling a refusal's HTTP status (`Err(Some(404))`: the backend forgot the
/// session) from no answer at all (`Err(None)`).
pub async fn open_get_status(app: &App, s: &Server, addressing: &Addressing, last_event_id: Option<&str>) -> Result<reqwest::Response, Option<u16>> {
    let mut h = request_headers(s, addressing, None);
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

/// Opens a backend's 2026-07-28 `subscriptions/listen` stream (`body`, the request). `None`
/// when the backend refuses it or does not answer within its timeout.
pub async fn open_listen(app: &App, s: &Server, addressing: &Addressing, body: &Value) -> Option<reqwest::Response> {
    let mut h = request_headers(s, addressing, Some("subscriptions/listen"));
    h.insert(ACCEPT, HeaderValue::from_static("text/event-stream, application/json"));
    let sent = tokio::time::timeout(s.timeout, app.http.post(&s.url).headers(h).body(body.to_string()).send()).await;
    match sent {
        Ok(Ok(resp)) if resp.status().is_success() => Some(resp),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use mcpgw_common::ids::unmap_server_request_id;
    use serde_json::json;

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
            rules: Default::default(),
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
