//! Aggregated lists (`tools/list`, `prompts/list`, `resources/list`,
//! `resources/templates/list`): parallel fan-out, exposure under each server's prefix
//! (never listing a name another server would be routed), per-backend caching, and one
//! opaque cursor over the merged list.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::future::join_all;
use mcpgw_common::names::{expose_name, expose_uri};
use mcpgw_common::protocol::era::STATELESS_VERSION;
use mcpgw_common::protocol::Method;
use mcpgw_common::scope::{Caller, Kind};
use mcpgw_common::session::SessionClaims;
use mcpgw_common::tool_hints::Annotations;
use reqwest::header::HeaderValue;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::client::addressing::Addressing;
use crate::client::exchange::{self, BackendError};
use crate::client::{backend_sessions, capability_probe, ephemeral, identity};
use crate::config::{Runtime, Server};
use crate::handlers::discovery::stamp_stateless_result;
use crate::handlers::unavailable::{unavailable_entry, UNAVAILABLE_META};
use crate::handlers::{Posted, Reply};
use crate::state::list_cache::Listed;
use crate::state::App;

/// Who is asking, which decides how backends are reached.
#[derive(Clone, Copy)]
pub enum Access<'a> {
    /// A session-protocol client: its own backend sessions from the token.
    Session(&'a SessionClaims),
    /// A 2026-07-28 client: its request `_meta` travels along.
    Stateless(Option<&'a Value>),
}

/// One server's part of a merged list.
struct ServerItems {
    /// Exposed items, serialised once: a cached list is answered by copying bytes.
    items: Arc<Vec<Listed>>,
    ttl_ms: u64,
    private: bool,
}

/// Exposes one backend item, or drops it when the gateway config hides it
/// (`mcpgw_common::visibility`) or its exposed name would not route back here. Renames and
/// description overrides are applied here; the router applies the same rules to calls.
pub fn expose(rt: &Runtime, s: &Server, key: &str, mut item: Value) -> Option<Value> {
    let (field, rules) = match key {
        "tools" => ("name", &s.rules.tools),
        "prompts" => ("name", &s.rules.prompts),
        "resources" => ("uri", &s.rules.resources),
        "resourceTemplates" => ("uriTemplate", &s.rules.resources),
        _ => return None,
    };
    let original = item.get(field)?.as_str()?.to_string();
    let original = original.as_str();
    let shown = if field == "name" {
        let Some(shown) = rules.exposed(original) else {
            tracing::debug!(server = %s.name, name = original, "not listed: hidden by the config");
            return None;
        };
        if let Some(d) = rules.description(original) {
            item["description"] = Value::String(d.to_string());
        }
        // Clients see the hints the gateway publishes for policy, not the backend's claim.
        if let Some(a) = rules.annotations(original) {
            a.write_into(&mut item);
        }
        shown.to_string()
    } else {
        if !rules.visible(original) {
            tracing::debug!(server = %s.name, uri = original, "not listed: hidden by the config");
            return None;
        }
        original.to_string()
    };
    let original = shown.as_str();
    let (exposed, owner) = if field == "name" {
        let e = expose_name(&s.prefix, original)?;
        let o = rt.router.owner_of_name(&e);
        (e, o)
    } else {
        let e = expose_uri(&s.name, s.is_default(), original);
        let o = rt.router.owner_of_uri(&e);
        (e, o)
    };
    if owner != Some(s.index) {
        tracing::debug!(server = %s.name, name = original, "not listed: the exposed name routes elsewhere");
        return None;
    }
    item[field] = Value::String(exposed);
    Some(item)
}

/// An exposed item ready for the cache: its exposed name (or URI) and its bytes.
fn listed(key: &str, item: &Value) -> Option<Listed> {
    let field = match key {
        "resources" => "uri",
        "resourceTemplates" => "uriTemplate",
        _ => "name",
    };
    let exposed = item.get(field)?.as_str()?.to_string();
    Some(Listed { exposed, raw: serde_json::value::to_raw_value(item).ok()? })
}

/// The scope kind of a list's items.
fn kind_of(key: &str) -> Kind {
    match key {
        "tools" => Kind::Tool,
        "prompts" => Kind::Prompt,
        _ => Kind::Resource,
    }
}

async fn fetch_pages(app: &App, rt: &Runtime, s: &Server, method: &str, key: &str, addressing: &Addressing, meta: Option<&Value>) -> Result<(Vec<Listed>, Option<(u64, bool)>), BackendError> {
    let mut items = Vec::new();
    let mut cursor: Option<Value> = None;
    let mut hint: Option<(u64, bool)> = None;
    // What the backend declares of its tools, for the filter's facts (`state::tool_hints`).
    let mut declared = (key == "tools").then(BTreeMap::new);
    for page in 0..rt.config.limits.max_backend_pages {
        let mut params = json!({});
        if let Some(c) = &cursor {
            params["cursor"] = c.clone();
        }
        if let Some(m) = meta {
            params["_meta"] = m.clone();
        }
        let body = json!({"jsonrpc": "2.0", "id": page, "method": method, "params": params});
        let reply = exchange::request(app, s, addressing, &body).await?;
        let result = reply.result()?;
        if let Some(ttl) = result.get("ttlMs").and_then(Value::as_u64) {
            let private = result.get("cacheScope").and_then(Value::as_str) != Some("public");
            hint = Some(match hint {
                Some((t, p)) => (t.min(ttl), p || private),
                None => (ttl, private),
            });
        }
        if let Some(list) = result.get(key).and_then(Value::as_array) {
            if let Some(declared) = declared.as_mut() {
                declared.extend(list.iter().filter_map(|i| Some((i.get("name")?.as_str()?.to_string(), Annotations::from_tool(i)?))));
            }
            items.extend(list.iter().filter_map(|i| expose(rt, s, key, i.clone())).filter_map(|i| listed(key, &i)));
        }
        match result.get("nextCursor") {
            Some(c) if !c.is_null() => cursor = Some(c.clone()),
            _ => {
                if let Some(declared) = declared {
                    app.tool_hints.learn(&s.name, declared);
                }
                return Ok((items, hint));
            }
        }
    }
    tracing::warn!(server = %s.name, method, "stopped following pages at limits.max_backend_pages");
    Ok((items, hint))
}

async fn server_list(app: &App, rt: &Runtime, s: &Server, method: &'static str, key: &str, access: Access<'_>, auth: Option<HeaderValue>) -> Result<ServerItems, BackendError> {
    let cache_ttl = Duration::from_millis(rt.config.limits.list_cache_ttl_ms);
    if s.cache_lists {
        if let Some(e) = app.list_cache.get(&s.name, method) {
            app.metrics.cache("hit");
            let left = e.expires.saturating_duration_since(Instant::now()).as_millis() as u64;
            return Ok(ServerItems { items: e.items, ttl_ms: left, private: false });
        }
        app.metrics.cache("miss");
    }
    let (items, hint) = match access {
        // A list shared between sessions (cache_lists) needs no backend session of this one:
        // the session's own if it has one, else a throwaway one. Otherwise the list is the
        // session's use of the server, and opens its backend session if it has none.
        Access::Session(claims) if s.cache_lists && backend_sessions::known(app, claims, &s.name).is_none() => {
            let throwaway = ephemeral::open(app, s, None, auth).await?;
            let out = fetch_pages(app, rt, s, method, key, &throwaway.addressing, None).await;
            throwaway.close(app, s).await;
            out?
        }
        Access::Session(claims) => {
            let session = backend_sessions::ensure(app, claims, s, auth.clone()).await?;
            let addressing = Addressing { backend_session: session, protocol_version: Some(claims.protocol_version.clone()), authorization: auth.clone() };
            match fetch_pages(app, rt, s, method, key, &addressing, None).await {
                // The backend forgot the session (it restarted) and did not answer: once more
                // on a replacement backend session.
                Err(e) if exchange::forgot_session(&e) => {
                    let session = backend_sessions::renew(app, claims, s, addressing.backend_session.as_deref(), auth).await?;
                    fetch_pages(app, rt, s, method, key, &Addressing { backend_session: session, ..addressing }, None).await?
                }
                other => other?,
            }
        }
        Access::Stateless(meta) => {
            let probed = capability_probe::probe(app, rt.generation, s, auth.as_ref()).await?;
            if probed.speaks_stateless {
                let addressing = Addressing { backend_session: None, protocol_version: Some(STATELESS_VERSION.into()), authorization: auth };
                let meta = meta.cloned().unwrap_or_else(identity::broker_meta);
                fetch_pages(app, rt, s, method, key, &addressing, Some(&meta)).await?
            } else {
                let throwaway = ephemeral::open(app, s, meta, auth).await?;
                let out = fetch_pages(app, rt, s, method, key, &throwaway.addressing, None).await;
                throwaway.close(app, s).await;
                out?
            }
        }
    };
    if method == Method::ToolsList.as_str() {
        app.record_tool_count(&s.name, items.len());
    }
    let items = Arc::new(items);
    // A 2026-07-28 backend's own hints rule: cache only what it calls public, for as long
    // as it says. Session-protocol backends are cached for the configured TTL when allowed.
    let (ttl_ms, private) = match hint {
        Some((ttl, private)) => (ttl.min(cache_ttl.as_millis() as u64), private),
        None => (if s.cache_lists { cache_ttl.as_millis() as u64 } else { 0 }, !s.cache_lists),
    };
    if s.cache_lists && !private && ttl_ms > 0 {
        app.list_cache.put(&s.name, method, items.clone(), Duration::from_millis(ttl_ms));
    }
    Ok(ServerItems { items, ttl_ms, private })
}

/// Whether `s`'s tool exposed as `exposed` declares `annotations.destructiveHint: true`
/// explicitly, from its list as a client would get it (cached when the server's lists are
/// shared). `None` when the list could not be had.
pub async fn declares_destructive(app: &App, rt: &Runtime, s: &Server, exposed: &str, access: Access<'_>, auth: Option<HeaderValue>) -> Option<bool> {
    let listed = server_list(app, rt, s, Method::ToolsList.as_str(), "tools", access, auth).await.ok()?;
    let tool = listed.items.iter().find(|l| l.exposed == exposed).and_then(|l| serde_json::from_str::<Value>(l.raw.get()).ok());
    Some(tool.is_some_and(|t| t.pointer("/annotations/destructiveHint") == Some(&Value::Bool(true))))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    m: String,
    o: usize,
}

fn decode_cursor(method: &str, c: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(c).ok()?;
    let cur: Cursor = serde_json::from_slice(&raw).ok()?;
    (cur.m == method).then_some(cur.o)
}

fn encode_cursor(method: &str, offset: usize) -> String {
    let raw = serde_json::to_vec(&Cursor { m: method.to_string(), o: offset }).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(raw)
}

/// The merged result as it goes on the wire.
struct ResultOut<'a> {
    key: &'a str,
    items: &'a [&'a RawValue],
    rest: &'a Map<String, Value>,
}

impl Serialize for ResultOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(self.key, self.items)?;
        for (k, v) in self.rest {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    jsonrpc: &'static str,
    id: Option<&'a RawValue>,
    result: ResultOut<'a>,
}

/// The whole JSON-RPC response body for a list request (`method`, whose result holds its
/// items in the field `key`), or `Err((code, message))` (a bad cursor).
#[allow(clippy::too_many_arguments)]
async fn aggregated(app: &Arc<App>, rt: &Arc<Runtime>, id: Option<&RawValue>, method: Method, key: &'static str, params: Option<&Value>, access: Access<'_>, caller: Caller, auth: Option<HeaderValue>) -> Result<Vec<u8>, (i32, String)> {
    let method = method.as_str();
    let stateless = matches!(access, Access::Stateless(_));
    let offset = match params.and_then(|p| p.get("cursor")).and_then(Value::as_str) {
        Some(c) => decode_cursor(method, c).ok_or((mcpgw_common::jsonrpc::INVALID_PARAMS, "Invalid cursor".to_string()))?,
        None => 0,
    };
    // Every configured server: a session holds no fixed set (backend sessions are opened on
    // first use), so a server added by a reload, or one that was down at initialize, is
    // listed as soon as it answers.
    let servers: Vec<&Arc<Server>> = rt.servers.iter().collect();
    let parts = join_all(servers.iter().map(|s| server_list(app, rt, s, method, key, access, auth.clone()))).await;
    let mut all: Vec<&RawValue> = Vec::new();
    let mut failed: Vec<Value> = Vec::new();
    let mut ttl: Option<u64> = None;
    let mut private = false;
    // What this request may see: its virtual server's subset and its caller's access rules.
    // Cursors are offsets into this scoped list, so one never reaches past its own scope.
    let (scope, kind) = (&rt.scope, kind_of(key));
    let in_scope = |l: &&Listed| !scope.is_active() || scope.allows(caller, kind, &l.exposed);
    for (s, p) in servers.iter().zip(&parts) {
        match p {
            Ok(p) => {
                all.extend(p.items.iter().filter(in_scope).map(|l| &*l.raw));
                ttl = Some(ttl.map_or(p.ttl_ms, |t| t.min(p.ttl_ms)));
                private |= p.private;
            }
            Err(e) => failed.push(unavailable_entry(&s.name, e.reason())),
        }
    }
    let page = rt.config.limits.list_page_size;
    let end = offset.saturating_add(page).min(all.len());
    let slice = all.get(offset.min(end)..end).unwrap_or_default();
    let mut rest = Map::new();
    if end < all.len() {
        rest.insert("nextCursor".into(), Value::String(encode_cursor(method, end)));
    }
    if !failed.is_empty() {
        rest.insert("_meta".into(), json!({ UNAVAILABLE_META: failed }));
    }
    if stateless {
        // A merged result is as fresh as its stalest part and private if any part is;
        // a partial result (a backend missing) is not worth caching at all.
        let ttl = if failed.is_empty() { ttl.unwrap_or(0) } else { 0 };
        rest.insert("ttlMs".into(), json!(ttl));
        rest.insert("cacheScope".into(), json!(if private { "private" } else { "public" }));
        if let Value::Object(m) = stamp_stateless_result(Value::Object(std::mem::take(&mut rest))) {
            rest = m;
        }
    }
    let out = Envelope { jsonrpc: "2.0", id, result: ResultOut { key, items: slice, rest: &rest } };
    serde_json::to_vec(&out).map_err(|e| (mcpgw_common::jsonrpc::INTERNAL_ERROR, e.to_string()))
}

/// A list request of a session-protocol client (`claims`, its session) or of a 2026-07-28
/// one (`None`): the merged list, or the error (a bad cursor).
pub async fn answer(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>, method: Method, key: &'static str, claims: Option<&SessionClaims>) -> Reply {
    let request = posted.tree();
    let params = request.get("params");
    let access = match claims {
        Some(c) => Access::Session(c),
        None => Access::Stateless(params.and_then(|p| p.get("_meta"))),
    };
    match aggregated(app, rt, posted.id(), method, key, params, access, posted.caller, posted.authorization()).await {
        Ok(body) => Reply::json(200, body),
        Err((code, message)) => Reply::rpc_error(posted.era, posted.id(), code, &message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_is_opaque_and_bound_to_its_method() {
        let c = encode_cursor("tools/list", 500);
        assert_eq!(decode_cursor("tools/list", &c), Some(500));
        assert_eq!(decode_cursor("prompts/list", &c), None);
        assert_eq!(decode_cursor("tools/list", "garbage!"), None);
    }
}
