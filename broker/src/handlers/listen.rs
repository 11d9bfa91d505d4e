//! `subscriptions/listen` (2026-07-28): one stream fanned in from every backend, carrying
//! the notifications the client asked for, each tagged with its subscription; backends that
//! only speak the session protocol get a throwaway session that lives exactly as long as
//! this listen stream.

use std::sync::Arc;

use mcpgw_common::protocol::era::{meta, STATELESS_VERSION};
use mcpgw_common::scope::Kind;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::client::addressing::Addressing;
use crate::client::{backend_stream, capability_probe, ephemeral, exchange, identity};
use crate::config::Runtime;
use crate::handlers::fan_in;
use crate::handlers::{Posted, Reply};
use crate::state::App;

const LIST_FLAGS: [(&str, &str); 3] = [
    ("toolsListChanged", "notifications/tools/list_changed"),
    ("promptsListChanged", "notifications/prompts/list_changed"),
    ("resourcesListChanged", "notifications/resources/list_changed"),
];

pub async fn listen(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>) -> Reply {
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
            // A URI the config hides, or outside the request's scope, is not subscribed to
            // (as it could not be read).
            if rt.router.rules(idx).is_some_and(|r| !r.resources.visible(own)) {
                continue;
            }
            if rt.scope.is_active() && !rt.scope.allows(posted.caller, Kind::Resource, uri) {
                continue;
            }
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
            let Ok(probed) = capability_probe::probe(&app, rt.generation, &s, auth.as_ref()).await else { return };
            if probed.speaks_stateless {
                let addressing = Addressing { backend_session: None, protocol_version: Some(STATELESS_VERSION.into()), authorization: auth };
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
                    "params": {"notifications": Value::Object(filter), "_meta": client_meta.unwrap_or_else(identity::broker_meta)}});
                if let Some(resp) = backend_stream::open_listen(&app, &s, &addressing, &body).await {
                    backend_stream::pump(app, s, resp, tx, true).await;
                }
            } else {
                let Ok(throwaway) = ephemeral::open(&app, &s, client_meta.as_ref(), auth).await else { return };
                for uri in &uris {
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/subscribe", "params": {"uri": uri}});
                    let _ = exchange::request(&app, &s, &throwaway.addressing, &body).await;
                }
                if let Some(resp) = backend_stream::open_get(&app, &s, &throwaway.addressing, None).await {
                    backend_stream::pump(app.clone(), s.clone(), resp, tx, true).await;
                }
                throwaway.close(&app, &s).await;
            }
        });
    }
    drop(tx);
    let wanted: Vec<&'static str> = LIST_FLAGS.iter().filter(|(f, _)| honored.get(*f).is_some()).map(|(_, m)| *m).collect();
    let uris_ok = !honored_uris.is_empty();
    let shaper: fan_in::Shaper = Arc::new(move |mut m: Value| {
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
    fan_in::respond(app, Some(ack), rx, shaper, false)
}
