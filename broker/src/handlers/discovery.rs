//! `server/discover` (2026-07-28): the gateway presents itself as one server, merging what
//! the backends offer; and the stamp every 2026-07-28 result the broker makes carries.

use std::sync::Arc;

use futures::future::join_all;
use mcpgw_common::protocol::era::{meta, STATELESS_VERSIONS};
use serde_json::{json, Value};

use crate::client::{capability_probe, identity};
use crate::config::Runtime;
use crate::handlers::capabilities::{merge_capabilities, merge_instructions};
use crate::handlers::unavailable::{unavailable_entry, UNAVAILABLE_META};
use crate::handlers::{Posted, Reply};
use crate::state::App;

/// Stamps a 2026-07-28 result as the spec requires.
pub fn stamp_stateless_result(mut result: Value) -> Value {
    if let Some(o) = result.as_object_mut() {
        o.entry("resultType").or_insert(json!("complete"));
        let result_meta = o.entry("_meta").or_insert(json!({}));
        if let Some(m) = result_meta.as_object_mut() {
            m.entry(meta::SERVER_INFO).or_insert(identity::gateway_info());
        }
    }
    result
}

/// `server/discover`: the gateway as one 2026-07-28 server, from what probing each server
/// taught (`client::capability_probe`).
pub async fn discover(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>) -> Reply {
    let authorization = posted.authorization();
    let probes = join_all(rt.servers.iter().map(|s| capability_probe::probe(app, rt.generation, s, authorization.as_ref()))).await;
    let mut caps = Vec::new();
    let mut instructions = Vec::new();
    let mut failed = Vec::new();
    for (s, probe) in rt.servers.iter().zip(probes) {
        match probe {
            Ok(probed) => {
                caps.push(probed.capabilities.clone());
                if let Some(i) = probed.instructions {
                    instructions.push((s.name.clone(), i));
                }
            }
            Err(e) => failed.push(unavailable_entry(&s.name, e.reason())),
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
    Reply::result(posted.id(), stamp_stateless_result(result))
}

