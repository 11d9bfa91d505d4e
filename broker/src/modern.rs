//! 2026-07-28 clients: `server/discover` (aggregated) and `subscriptions/listen` (one
//! stream fanned in from every backend; backends that only speak the session protocol get a
//! broker-owned session that lives exactly as long as this listen stream).

use std::sync::Arc;

use axum::response::Response;
use futures::future::join_all;
use mcpgw_common::protocol::era::{meta, STATELESS_VERSION, STATELESS_VERSIONS};
use reqwest::header::{HeaderValue, ACCEPT};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::app::App;
use crate::backend::{self, Ctx};
use crate::config::Runtime;
use crate::http::Posted;
use crate::init::{merge_capabilities, merge_instructions, server_info};
use crate::lists::UNAVAILABLE_META;
use crate::{era, reply, stream};

/// Stamps a 2026-07-28 result as the spec requires.
pub fn finish(mut result: Value) -> Value {
    if let Some(o) = result.as_object_mut() {
        o.entry("resultType").or_insert(json!("complete"));
        let result_meta = o.entry("_meta").or_insert(json!({}));
        if let Some(m) = result_meta.as_object_mut() {
            m.entry(meta::SERVER_INFO).or_insert(server_info());
        }
    }
    result
}

pub async fn discover(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>) -> Response {
    let authorization = posted.authorization();
    let eras = join_all(rt.servers.iter().map(|s| era::probe(app, rt.generation, s, authorization.as_ref()))).await;
    let mut caps = Vec::new();
    let mut instructions = Vec::new();
    let mut failed = Vec::new();
    for (s, e) in rt.servers.iter().zip(eras) {
        match e {
            Ok(e) => {
                caps.push(e.capabilities.clone());
                if let Some(i) = e.instructions {
                    instructions.push((s.name.clone(), i));
                }
            }
            Err(e) => failed.push(crate::backend::unavailable_entry(&s.name, e.reason())),
        }
    }
    let mut result = json!({
        "supportedVersions": STATELESS_VERSIONS,
        "capabilities": merge_capabilities(caps.iter()),
        "ttlMs": 0,
        "cacheScope": "private",
    });
    if let Some(i) = merge_instructions(instructions.iter().map(|(a, b)| (a.as_str(), b.as_str()))) {
        result["instructions"] = json!(i);
    }
    if !failed.is_empty() {
        result["_meta"] = json!({ UNAVAILABLE_META: failed });
    }
    reply::result(posted.id(), finish(result))
}

const LIST_FLAGS: [(&str, &str); 3] = [
    ("toolsListChanged", "notifications/tools/list_changed"),
    ("promptsListChanged", "notifications/prompts/list_changed"),
    ("resourcesListChanged", "notifications/resources/list_changed"),
];

pub async fn listen(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>) -> Response {
    // A request (`decide` said so): it has an id, which names the subscription.
    let id: Value = posted.id().and_then(|i| serde_json::from_str(i.get()).ok()).unwrap_or(Value::Null);
    let request = posted.tree();
    let requested = request.pointer("/params/notifications").cloned().unwrap_or_else(|| json!({}));
    let client_meta = request.pointer("/params/_meta").cloned();
    let mut honored = Map::new();
    for (flag, _) in LIST_FLAGS {
        if requested.get(flag).and_then(Value::as_bool) == Some(true) {
            honored.insert(flag.into(), json!(true));
        }
    }
    // Resource subscriptions, split per owning server (in the server's own URI form).
    let mut per_server: Vec<Vec<String>> = vec![Vec::new(); rt.servers.len()];
    let mut honored_uris = Vec::new();
    for uri in requested.get("resourceSubscriptions").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if let Some((idx, own)) = rt.router.route_uri(uri) {
            if let Some(v) = per_server.get_mut(idx) {
                v.push(own.to_string());
                honored_uris.push(json!(uri));
            }
        }
    }
    if !honored_uris.is_empty() {
        honored.insert("resourceSubscriptions".into(), Value::Array(honored_uris.clone()));
    }
    let honored = Value::Object(honored);
    let ack = json!({"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
        "params": {"notifications": honored, "_meta": {meta::SUBSCRIPTION_ID: id}}});

    let (tx, rx) = mpsc::channel(256);
    for (s, uris) in rt.servers.iter().zip(per_server) {
        let mut filter = Map::new();
        for (flag, _) in LIST_FLAGS {
            if honored.get(flag).is_some() {
                filter.insert(flag.into(), json!(true));
            }
        }
        if !uris.is_empty() {
            filter.insert("resourceSubscriptions".into(), json!(uris));
        }
        if filter.is_empty() {
            continue;
        }
        let (app, rt, s, tx) = (app.clone(), rt.clone(), s.clone(), tx.clone());
        let client_meta = client_meta.clone();
        let auth = posted.authorization();
        tokio::spawn(async move {
            let Ok(era) = era::probe(&app, rt.generation, &s, auth.as_ref()).await else { return };
            if era.modern {
                let ctx = Ctx { session: None, protocol_version: Some(STATELESS_VERSION.into()), authorization: auth };
                let mut h = backend::headers(&s, &ctx, Some("subscriptions/listen"));
                h.insert(ACCEPT, HeaderValue::from_static("text/event-stream, application/json"));
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
                    "params": {"notifications": Value::Object(filter), "_meta": client_meta.unwrap_or_else(era::broker_meta)}});
                let sent = tokio::time::timeout(s.timeout, app.http.post(&s.url).headers(h).body(body.to_string()).send()).await;
                if let Ok(Ok(resp)) = sent {
                    if resp.status().is_success() {
                        stream::pump(app, s, resp, tx, true).await;
                    }
                }
            } else {
                let Ok(eph) = backend::open_ephemeral(&app, &s, client_meta.as_ref(), auth).await else { return };
                for uri in &uris {
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": uri}});
                    let _ = backend::request(&app, &s, &eph.ctx, &body).await;
                }
                if let Some(resp) = stream::open_get(&app, &s, &eph.ctx, None).await {
                    stream::pump(app.clone(), s.clone(), resp, tx, true).await;
                }
                eph.close(&app, &s).await;
            }
        });
    }
    drop(tx);
    let wanted: Vec<&'static str> = LIST_FLAGS.iter().filter(|(f, _)| honored.get(*f).is_some()).map(|(_, m)| *m).collect();
    let uris_ok = !honored_uris.is_empty();
    let shaper: stream::Shaper = Arc::new(move |mut m: Value| {
        let method = m.get("method").and_then(Value::as_str)?;
        let ok = wanted.contains(&method) || (uris_ok && method == "notifications/resources/updated");
        if !ok {
            return None;
        }
        if !m.get("params").is_some_and(Value::is_object) {
            m["params"] = json!({});
        }
        let message_meta = m["params"].as_object_mut()?.entry("_meta").or_insert(json!({}));
        message_meta.as_object_mut()?.insert(meta::SUBSCRIPTION_ID.into(), id.clone());
        Some(m)
    });
    stream::respond(app, Some(ack), rx, shaper, false)
}
