//! The filter's counters, named by prefix as Envoy's own extensions are. Envoy shows proxy-wasm
//! metrics under `wasmcustom.`, e.g. `wasmcustom.mcp_gateway.requests.tools_call`.
//!
//! | counter | counts |
//! |---|---|
//! | `mcp_gateway.requests.<method>` | MCP requests by JSON-RPC method (`/` → `_`; unknown methods → `other`; `notification`, `response`, `get`, `delete`) |
//! | `mcp_gateway.routed.<server>` | calls routed straight to a backend |
//! | `mcp_gateway.broker` | requests sent to the broker |
//! | `mcp_gateway.errors.<kind>` | local refusals, by [`ErrorKind`] |

use crate::host::RootHost;

pub const PREFIX: &str = "mcp_gateway";

/// Methods counted by name; anything else is counted as `other`.
pub const METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
    "subscriptions/listen",
];

/// Request classes that are not a request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Other {
    Notification = 0,
    Response = 1,
    Get = 2,
    Delete = 3,
    Unknown = 4,
}
const OTHER_NAMES: [&str; 5] = ["notification", "response", "get", "delete", "other"];

/// Why the filter answered a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    ParseError = 0,
    InvalidRequest = 1,
    Batch = 2,
    BodyTooLarge = 3,
    UnknownName = 4,
    InvalidParams = 5,
    HeaderMismatch = 6,
    SessionMalformed = 7,
    SessionForged = 8,
    SessionExpired = 9,
    SessionSubject = 10,
    ForbiddenOrigin = 11,
    /// A request repeated `Mcp-Session-Id`, `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name`.
    DuplicateHeader = 12,
    /// A request on the MCP endpoint came with trailers.
    RequestTrailers = 13,
    /// The session was ended by a `DELETE` seen by this Envoy.
    SessionRevoked = 14,
    /// A method, name or URI beyond the gateway's bounds (`mcpgw_common::limits`).
    TooLong = 15,
    /// A backend answered 404 for its session (it restarted): the call was not run, and the
    /// client got `-32030` for it.
    BackendRestarted = 16,
}
impl ErrorKind {
    /// The name used in the counter and in filter state `mcp_gateway.error`.
    pub fn name(self) -> &'static str {
        ERROR_NAMES.get(self as usize).copied().unwrap_or("other")
    }
}

const ERROR_NAMES: [&str; 17] = [
    "parse_error",
    "invalid_request",
    "batch",
    "body_too_large",
    "unknown_name",
    "invalid_params",
    "header_mismatch",
    "session_malformed",
    "session_forged",
    "session_expired",
    "session_subject",
    "forbidden_origin",
    "duplicate_header",
    "request_trailers",
    "session_revoked",
    "too_long",
    "backend_restarted",
];

/// Counter ids, resolved once at configure time.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    methods: Vec<Option<u32>>,
    others: Vec<Option<u32>>,
    servers: Vec<Option<u32>>,
    broker: Option<u32>,
    errors: Vec<Option<u32>>,
}

impl Stats {
    pub fn define(host: &mut dyn RootHost, servers: &[String]) -> Stats {
        let mut def = |suffix: &str| host.define_counter(&format!("{PREFIX}.{suffix}"));
        Stats {
            methods: METHODS.iter().map(|m| def(&format!("requests.{}", m.replace('/', "_")))).collect(),
            others: OTHER_NAMES.iter().map(|m| def(&format!("requests.{m}"))).collect(),
            servers: servers.iter().map(|s| def(&format!("routed.{s}"))).collect(),
            broker: def("broker"),
            errors: ERROR_NAMES.iter().map(|e| def(&format!("errors.{e}"))).collect(),
        }
    }

    pub fn method(&self, method: &str) -> Option<u32> {
        match METHODS.iter().position(|m| *m == method) {
            Some(i) => self.methods.get(i).copied().flatten(),
            None if method.starts_with("notifications/") => self.other(Other::Notification),
            None => self.other(Other::Unknown),
        }
    }

    pub fn other(&self, which: Other) -> Option<u32> {
        self.others.get(which as usize).copied().flatten()
    }

    pub fn server(&self, index: usize) -> Option<u32> {
        self.servers.get(index).copied().flatten()
    }

    pub fn broker(&self) -> Option<u32> {
        self.broker
    }

    pub fn error(&self, kind: ErrorKind) -> Option<u32> {
        self.errors.get(kind as usize).copied().flatten()
    }
}
