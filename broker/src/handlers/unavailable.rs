//! How an aggregated answer (initialize, lists, `server/discover`) names the servers it had to
//! leave out: `_meta["dev.mcpgw/unavailable"]`, one `{server, reason}` each, the reason a
//! stable word (`client::exchange::BackendError::reason`), never the details.

use serde_json::{json, Value};

/// `_meta` key on results that left backends out: `[{server, reason}]`.
pub const UNAVAILABLE_META: &str = "dev.mcpgw/unavailable";

/// The `_meta["dev.mcpgw/unavailable"]` entry for a server that failed.
pub fn unavailable_entry(server: &str, reason: &str) -> Value {
    json!({"server": server, "reason": reason})
}
