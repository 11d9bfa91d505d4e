//! What the servers offer together, as one server: their capabilities merged and their
//! instructions joined, from the per-server capability cache (for `initialize` and
//! `server/discover`, which present the gateway as one server in each era).

use std::sync::Arc;

use futures::future::join_all;
use reqwest::header::HeaderValue;
use serde_json::{json, Map, Value};

use crate::client::capability_probe;
use crate::config::Runtime;
use crate::handlers::unavailable::unavailable_entry;
use crate::state::App;

/// The servers' offer, merged.
pub struct Offered {
    pub capabilities: Value,
    pub instructions: Option<String>,
    /// `unavailable_entry`s of the servers whose probe failed.
    pub unavailable: Vec<Value>,
}

/// Every server's capabilities and instructions as this caller sees them (`authorization`, for
/// servers with `forward_authorization`): from the capability cache, probed now only where the
/// cache has nothing. An entry due for a refresh is used once more and refreshed behind this
/// answer, with this caller's credential when the entry is that credential's own
/// (`state::capability_cache::View`).
pub async fn offered(app: &Arc<App>, rt: &Arc<Runtime>, authorization: Option<&HeaderValue>) -> Offered {
    let probes = rt.servers.iter().map(|s| async move {
        if capability_probe::due(app, s, authorization) {
            let (app, rt, s, auth) = (Arc::clone(app), Arc::clone(rt), Arc::clone(s), authorization.cloned());
            tokio::spawn(async move { capability_probe::refresh(&app, rt.generation, &s, auth).await });
        }
        capability_probe::probe(app, rt.generation, s, authorization).await
    });
    let outcomes = join_all(probes).await;
    let mut caps = Vec::new();
    let mut instructions = Vec::new();
    let mut unavailable = Vec::new();
    for (s, out) in rt.servers.iter().zip(outcomes) {
        match out {
            Ok(probed) => {
                caps.push(probed.capabilities);
                if let Some(i) = probed.instructions {
                    instructions.push((s.name.clone(), i));
                }
            }
            Err(e) => unavailable.push(unavailable_entry(&s.name, e.reason())),
        }
    }
    Offered {
        capabilities: merge_capabilities(caps.iter()),
        instructions: merge_instructions(instructions.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
        unavailable,
    }
}

/// Capabilities the backends together offer. The gateway can always announce list changes
/// (its own server set changes on reload), so `listChanged` is set wherever the family exists.
pub fn merge_capabilities<'a>(all: impl IntoIterator<Item = &'a Value>) -> Value {
    let mut out = Map::new();
    let mut subscribe = false;
    for caps in all {
        let Some(obj) = caps.as_object() else { continue };
        for (k, v) in obj {
            match k.as_str() {
                "tools" | "prompts" | "resources" => {
                    out.insert(k.clone(), json!({"listChanged": true}));
                    if k == "resources" && v.get("subscribe").and_then(Value::as_bool) == Some(true) {
                        subscribe = true;
                    }
                }
                "logging" | "completions" => {
                    out.insert(k.clone(), json!({}));
                }
                _ => {}
            }
        }
    }
    if subscribe {
        if let Some(r) = out.get_mut("resources").and_then(Value::as_object_mut) {
            r.insert("subscribe".into(), Value::Bool(true));
        }
    }
    Value::Object(out)
}

/// The servers' instructions, each under its server's name.
pub fn merge_instructions<'a>(parts: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let text: Vec<String> = parts.into_iter().map(|(server, i)| format!("[{server}] {i}")).collect();
    (!text.is_empty()).then(|| text.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_union() {
        let a = json!({"tools": {}, "logging": {}});
        let b = json!({"resources": {"subscribe": true}, "prompts": {"listChanged": false}});
        let m = merge_capabilities([&a, &b]);
        assert_eq!(m["tools"]["listChanged"], true);
        assert_eq!(m["resources"]["subscribe"], true);
        assert!(m.get("completions").is_none());
        assert!(m.get("logging").is_some());
    }
}
