//! The facts the filter publishes for Envoy policy filters, access logs and rate limiters.
//!
//! Request headers (set by the filter; any client-sent header of the same name is removed
//! first on every request, MCP or not, so a policy can trust them):
//!
//! | header | when | value |
//! |---|---|---|
//! | `x-mcp-method` | every JSON-RPC request and notification on the MCP endpoint | the method |
//! | `x-mcp-servername` | calls routed to a backend | the server's config name |
//! | `x-mcp-toolname` | `tools/call` | the backend's (unprefixed) tool name |
//! | `x-mcp-promptname` | `prompts/get`, `completion/complete` on a prompt | unprefixed prompt name |
//! | `x-mcp-resourceuri` | `resources/read`, `resources/(un)subscribe`, `completion/complete` on a resource | the backend's own URI |
//! | `x-mcp-sessionid` | requests carrying a valid gateway session | the session's public id (not the token) |
//!
//! Values that are not plain printable ASCII are sent `=?base64?…?=`-encoded, as MCP does
//! for `Mcp-Name`, so a name can never inject a header.
//!
//! Filter state (when `filter_state` is on): the same facts plus the JSON-RPC id, under
//! `wasm.mcp_gateway.<fact>` with facts `method`, `server`, `tool`, `prompt`, `resource_uri`,
//! `id`, `session`; and on a local refusal `error` (the refusal kind, as in the
//! `errors.<kind>` counter) with `method` when the body got that far. Access logs read them as `%FILTER_STATE(wasm.mcp_gateway.tool:PLAIN)%`.

pub const METHOD: &str = "x-mcp-method";
pub const SERVER: &str = "x-mcp-servername";
pub const TOOL: &str = "x-mcp-toolname";
pub const PROMPT: &str = "x-mcp-promptname";
pub const RESOURCE_URI: &str = "x-mcp-resourceuri";
pub const SESSION: &str = "x-mcp-sessionid";

/// Headers only the filter may set.
pub const TRUSTED_HEADERS: &[&str] = &[METHOD, SERVER, TOOL, PROMPT, RESOURCE_URI, SESSION];

/// Filter state namespace (Envoy adds `wasm.`).
pub const NAMESPACE: &str = "mcp_gateway";

/// One published fact: the header it travels in and its filter state key.
#[derive(Debug, Clone, Copy)]
pub struct Fact {
    pub header: Option<&'static str>,
    pub state_key: &'static str,
}

pub const F_METHOD: Fact = Fact { header: Some(METHOD), state_key: "mcp_gateway.method" };
pub const F_SERVER: Fact = Fact { header: Some(SERVER), state_key: "mcp_gateway.server" };
pub const F_TOOL: Fact = Fact { header: Some(TOOL), state_key: "mcp_gateway.tool" };
pub const F_PROMPT: Fact = Fact { header: Some(PROMPT), state_key: "mcp_gateway.prompt" };
pub const F_RESOURCE_URI: Fact = Fact { header: Some(RESOURCE_URI), state_key: "mcp_gateway.resource_uri" };
pub const F_SESSION: Fact = Fact { header: Some(SESSION), state_key: "mcp_gateway.session" };
pub const F_ERROR: Fact = Fact { header: None, state_key: "mcp_gateway.error" };
pub const F_ID: Fact = Fact { header: None, state_key: "mcp_gateway.id" };
