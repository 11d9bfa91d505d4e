//! The facts the filter publishes for Envoy policy filters, access logs and rate limiters.
//!
//! Request headers (set by the filter; every client-sent `x-mcp-*` header is removed first on
//! every request, MCP or not, so a policy can trust them: [`crate::header_hygiene`]):
//!
//! | header | when | value |
//! |---|---|---|
//! | `x-mcp-method` | every JSON-RPC request and notification on the MCP endpoint | the method |
//! | `x-mcp-servername` | calls routed to a backend | the server's config name |
//! | `x-mcp-toolname` | `tools/call` | the backend's (unprefixed) tool name |
//! | `x-mcp-promptname` | `prompts/get`, `completion/complete` on a prompt | unprefixed prompt name |
//! | `x-mcp-resourceuri` | `resources/read`, `resources/(un)subscribe`, `completion/complete` on a resource | the backend's own URI |
//! | `x-mcp-sessionid` | requests carrying a valid gateway session | the session's public id (not the token) |
//! | `x-mcp-toolhints` | `tools/call` | the tool's hints that are true and where they came from, e.g. `destructive,open-world,source=default` (tokens `read-only`, `destructive`, `idempotent`, `open-world`, `source=config\|backend\|default`; [`mcpgw_common::tool_hints`]) |
//!
//! Which of these headers are set is configurable (`metadata_headers`, by fact name; all by
//! default); the stripping of client-sent ones is not.
//!
//! Values that are not plain printable ASCII are sent `=?base64?…?=`-encoded, as MCP does
//! for `Mcp-Name`, so a name can never inject a header.
//!
//! Filter state (when `filter_state` is on): the same facts plus the JSON-RPC id, under
//! `wasm.mcp_gateway.<fact>` with facts `method`, `server`, `tool`, `tool_hints` (the same value
//! as `x-mcp-toolhints`), `prompt`, `resource_uri`, `id`, `session`, `task` (the server's own
//! task id of a `tasks/*` request, no header), `virtual_server` (the validated virtual server
//! of a request on `/mcp/<name>` or with `X-Mcp-Virtualserver`; the broker gets it as that
//! header); and on a local refusal `error` (the refusal kind, as in the
//! `errors.<kind>` counter) with `method` when the body got that far. Access logs read them as `%FILTER_STATE(wasm.mcp_gateway.tool:PLAIN)%`.
//! The native build writes the same keys (with the same `wasm.` prefix, so one Envoy config
//! serves both builds) and, in addition, the same facts as dynamic metadata under the
//! namespace `mcp_gateway` (`%DYNAMIC_METADATA(mcp_gateway:tool)%`, RBAC `metadata` matchers),
//! which proxy-wasm cannot write in Envoy 1.40. Headers and filter state are the dialect
//! both builds speak; dynamic metadata is native only.

use mcpgw_common::config::metadata_header_bit;
use mcpgw_common::protocol::Named;

pub const METHOD: &str = "x-mcp-method";
pub const SERVER: &str = "x-mcp-servername";
pub const TOOL: &str = "x-mcp-toolname";
pub const PROMPT: &str = "x-mcp-promptname";
pub const RESOURCE_URI: &str = "x-mcp-resourceuri";
pub const SESSION: &str = "x-mcp-sessionid";
pub const TOOL_HINTS: &str = "x-mcp-toolhints";

/// The headers the filter sets. Only the filter may set them: it strips the whole `x-mcp-`
/// family from clients ([`crate::header_hygiene`]).
pub const TRUSTED_HEADERS: &[&str] = &[METHOD, SERVER, TOOL, PROMPT, RESOURCE_URI, SESSION, TOOL_HINTS];

/// One published fact: the header it may travel in (with its bit in the config's
/// `metadata_headers`) and its filter state key.
#[derive(Debug, Clone, Copy)]
pub struct Fact {
    pub header: Option<(&'static str, u8)>,
    pub state_key: &'static str,
}

const fn header(name: &'static str, index: usize) -> Option<(&'static str, u8)> {
    Some((name, metadata_header_bit(index)))
}

// The indexes are those of the fact names in `METADATA_HEADER_FACTS` (checked by a test).
pub const F_METHOD: Fact = Fact { header: header(METHOD, 0), state_key: "mcp_gateway.method" };
pub const F_SERVER: Fact = Fact { header: header(SERVER, 1), state_key: "mcp_gateway.server" };
pub const F_TOOL: Fact = Fact { header: header(TOOL, 2), state_key: "mcp_gateway.tool" };
pub const F_PROMPT: Fact = Fact { header: header(PROMPT, 3), state_key: "mcp_gateway.prompt" };
pub const F_RESOURCE_URI: Fact = Fact { header: header(RESOURCE_URI, 4), state_key: "mcp_gateway.resource_uri" };
pub const F_SESSION: Fact = Fact { header: header(SESSION, 5), state_key: "mcp_gateway.session" };
pub const F_TOOL_HINTS: Fact = Fact { header: header(TOOL_HINTS, 6), state_key: "mcp_gateway.tool_hints" };
pub const F_ERROR: Fact = Fact { header: None, state_key: "mcp_gateway.error" };
pub const F_ID: Fact = Fact { header: None, state_key: "mcp_gateway.id" };
pub const F_TASK: Fact = Fact { header: None, state_key: "mcp_gateway.task" };
/// The virtual server a request is for (by path or `X-Mcp-Virtualserver`), once validated.
pub const F_VIRTUAL_SERVER: Fact = Fact { header: None, state_key: "mcp_gateway.virtual_server" };

/// The fact that carries what a routed request names.
pub fn fact_of(named: Named) -> Fact {
    match named {
        Named::Tool => F_TOOL,
        Named::Prompt => F_PROMPT,
        Named::Resource => F_RESOURCE_URI,
        Named::Task => F_TASK,
    }
}

/// The filter's routing decision, always written (whatever `filter_state` says) just before
/// the route cache is cleared: the server's config name, or `broker`. Envoy's internal
/// virtual hosts match only requests whose `wasm.mcp_gateway.route` names them, so a request
/// the filter did not decide (a framing that skipped its body phase, a non-MCP path, a filter
/// that is not there) matches no internal route. Clients cannot write filter state.
pub const ROUTE_STATE_KEY: &str = "mcp_gateway.route";

/// Every filter state key the filter writes (the facts and the routing decision): the native
/// build publishes the same as dynamic metadata, keyed by the part after `mcp_gateway.`.
pub const STATE_KEYS: [&str; 12] = [
    F_METHOD.state_key,
    F_SERVER.state_key,
    F_TOOL.state_key,
    F_TOOL_HINTS.state_key,
    F_PROMPT.state_key,
    F_RESOURCE_URI.state_key,
    F_SESSION.state_key,
    F_ERROR.state_key,
    F_ID.state_key,
    F_TASK.state_key,
    F_VIRTUAL_SERVER.state_key,
    ROUTE_STATE_KEY,
];

/// The dynamic metadata key of a filter state key (`mcp_gateway.tool` → `tool`), as a static
/// name; `None` for a key the filter does not write.
pub fn metadata_key(state_key: &str) -> Option<&'static str> {
    STATE_KEYS.iter().find(|k| **k == state_key).and_then(|k| k.strip_prefix("mcp_gateway."))
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use mcpgw_common::config::METADATA_HEADER_FACTS;

    #[test]
    fn every_state_key_has_its_metadata_key() {
        for key in STATE_KEYS {
            assert_eq!(metadata_key(key).map(|k| format!("mcp_gateway.{k}")).as_deref(), Some(key));
        }
        assert_eq!(metadata_key("mcp_gateway.nope"), None);
        assert_eq!(metadata_key("tool"), None);
    }

    #[test]
    fn header_bits_match_the_config_names() {
        for fact in [F_METHOD, F_SERVER, F_TOOL, F_PROMPT, F_RESOURCE_URI, F_SESSION, F_TOOL_HINTS] {
            let (_, bit) = fact.header.unwrap_or(("", 0));
            let index = METADATA_HEADER_FACTS.iter().position(|n| fact.state_key == format!("mcp_gateway.{n}"));
            assert_eq!(index.map(metadata_header_bit), Some(bit), "{}", fact.state_key);
        }
    }
}
