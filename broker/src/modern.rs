//! 2026-07-28 clients: `server/discover` (aggregated) and `subscriptions/listen` (one
//! stream fanned in from every backend; backends that only speak the session protocol get a
//! broker-owned session that lives exactly as long as this listen stream).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use futures::future::join_all;
use mcpgw_common::jsonrpc;
use reqwest::header::{HeaderValue, ACCEPT};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::app::App;
use crate::backend::{self, Ctx, MODERN_VERSION};
use crate::config::Runtime;
use crate::http::Incoming;
use crate::init::{merge_capabilities, merge_instructions, server_info};
use crate::lists::UNAVAILABLE_META;
use crate::{era, reply, stream};

pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
pub const PROTOCOL_VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";
pub const CLIENT_CAPABILITIES_META: &str = "io.modelcontextprotocol/clientCapabilities";

/// The versions `server/discover` lists, and the only ones an unsupported-version error
/// names (clients compare the two): the session-protocol versions are negotiated by
/// `initialize`, which a 2026-07-28 client does not send.
pub const SUPPORTED_VERSIONS: &[&str] = &[MODERN_VERSION];

/// Stamps a 2026-07-28 result as the spec requires.
pub fn finish(mut result: Value) -> Value {
    if let Some(o) = result.as_object_mut() {
        o.entry("resultType").or_insert(json!("complete"));
        let meta = o.entry("_meta").or_insert(json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.entry("io.modelcontextprotocol/serverInfo").or_insert(server_info());
        }
    }
    result
}

pub fn unsupported_version(id: Option<&Value>, asked: &str) -> Response {
    let supported = SUPPORTED_VERSIONS;
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": UNSUPPORTED_PROTOCOL_VERSION,
        "message": format!("Unsupported protocol version {asked}"),
        "data": {"supported": supported, "requested": asked}}});
    reply::json(StatusCode::BAD_REQUEST, body.to_string().into_bytes())
}

/// The per-request checks of a 2026-07-28 request, in the official SDK's order (first
/// failure wins): `params._meta` carries the protocol version and the client capabilities
/// (else -32602); `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` mirror the body (else
/// -32020); the version is one this gateway serves (else -32022 with `data.supported` and
/// `data.requested`). All are HTTP 400.
// The error is the finished HTTP response, built only on the refusal path: the same
// trade-off as sessions::open.
#[allow(clippy::result_large_err)]
pub fn check_request(req: &Incoming, header_version: Option<&str>, check_headers: impl FnOnce() -> Result<(), String>) -> Result<(), Response> {
    let id = req.id.as_ref();
    let bad = |code: i32, m: String| reply::modern_error(id, code, &m);
    let Some(meta) = req.meta.as_ref().and_then(Value::as_object) else {
        return Err(bad(jsonrpc::INVALID_PARAMS, format!("params._meta must be an object carrying {PROTOCOL_VERSION_META:?} and {CLIENT_CAPABILITIES_META:?}")));
    };
    let missing: Vec<&str> = [PROTOCOL_VERSION_META, CLIENT_CAPABILITIES_META].into_iter().filter(|k| !meta.contains_key(*k)).collect();
    if !missing.is_empty() {
        return Err(bad(jsonrpc::INVALID_PARAMS, format!("params._meta is missing {}", missing.join(", "))));
    }
    let version = meta.get(PROTOCOL_VERSION_META).and_then(Value::as_str);
    match header_version {
        Some(h) if Some(h) == version => {}
        Some(_) => return Err(bad(jsonrpc::HEADER_MISMATCH, "MCP-Protocol-Version header does not match params._meta's protocol version".into())),
        None => return Err(bad(jsonrpc::HEADER_MISMATCH, "MCP-Protocol-Version header is required at protocol 2026-07-28".into())),
    }
    check_headers().map_err(|why| bad(jsonrpc::HEADER_MISMATCH, why))?;
    let Some(version) = version else {
        return Err(bad(jsonrpc::INVALID_PARAMS, "the protocol version in params._meta must be a string".into()));
    };
    if !SUPPORTED_VERSIONS.contains(&version) {
        return Err(unsupported_version(id, version));
    }
    Ok(())
}

pub async fn discover(app: &Arc<App>, rt: &Arc<Runtime>, req: &Incoming) -> Response {
    let id = req.id.clone().unwrap_or(Value::Null);
    let eras = join_all(rt.servers.iter().map(|s| era::probe(app, rt.generation, s, req.authorization.as_ref()))).await;
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
        "supportedVersions": SUPPORTED_VERSIONS,
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
    reply::result(&id, finish(result))
}

const LIST_FLAGS: [(&str, &str); 3] = [
    ("toolsListChanged", "notifications/tools/list_changed"),
    ("promptsListChanged", "notifications/prompts/list_changed"),
    ("resourcesListChanged", "notifications/resources/list_changed"),
];

pub async fn listen(app: &Arc<App>, rt: &Arc<Runtime>, req: &Incoming) -> Response {
    let Some(id) = req.id.clone() else {
        return reply::modern_error(None, jsonrpc::INVALID_REQUEST, "subscriptions/listen requires a request id");
    };
    let requested = req.value.pointer("/params/notifications").cloned().unwrap_or_else(|| json!({}));
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
        "params": {"notifications": honored, "_meta": {SUBSCRIPTION_ID: id}}});

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
        let meta = req.meta.clone();
        let auth = req.authorization.clone();
        tokio::spawn(async move {
            let Ok(era) = era::probe(&app, rt.generation, &s, auth.as_ref()).await else { return };
            if era.modern {
                let ctx = Ctx { session: None, protocol_version: Some(MODERN_VERSION.into()), authorization: auth };
                let mut h = backend::headers(&s, &ctx, Some("subscriptions/listen"));
                h.insert(ACCEPT, HeaderValue::from_static("text/event-stream, application/json"));
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
                    "params": {"notifications": Value::Object(filter), "_meta": meta.unwrap_or_else(era::broker_meta)}});
                let sent = tokio::time::timeout(s.timeout, app.http.post(&s.url).headers(h).body(body.to_string()).send()).await;
                if let Ok(Ok(resp)) = sent {
                    if resp.status().is_success() {
                        stream::pump(app, s, resp, tx, true).await;
                    }
                }
            } else {
                let Ok(eph) = backend::open_ephemeral(&app, &s, meta.as_ref(), auth).await else { return };
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
        let meta = m["params"].as_object_mut()?.entry("_meta").or_insert(json!({}));
        meta.as_object_mut()?.insert(SUBSCRIPTION_ID.into(), id.clone());
        Some(m)
    });
    stream::respond(app, Some(ack), rx, shaper, false)
}
