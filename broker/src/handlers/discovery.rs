//! `server/discover` (2026-07-28): the gateway presents itself as one server, merging what
//! the backends offer; and the stamp every 2026-07-28 result the broker makes carries.

use std::sync::Arc;

use mcpgw_common::protocol::era::{meta, STATELESS_VERSIONS};
use serde_json::{json, Value};

use crate::client::identity;
use crate::config::Runtime;
use crate::handlers::capabilities::offered;
use crate::handlers::unavailable::UNAVAILABLE_META;
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
    let offered = offered(app, rt, posted.authorization().as_ref()).await;
    let mut result = json!({
        "supportedVersions": STATELESS_VERSIONS,
        "capabilities": offered.capabilities,
        "ttlMs": 0,
        "cacheScope": "private",
    });
    if let Some(i) = offered.instructions {
        result["instructions"] = json!(i);
    }
    if !offered.unavailable.is_empty() {
        result["_meta"] = json!({ UNAVAILABLE_META: offered.unavailable });
    }
    Reply::result(posted.id(), stamp_stateless_result(result))
}

