//! The filter's counters, named by prefix as Envoy's own extensions are. Envoy shows proxy-wasm
//! metrics under `wasmcustom.`, e.g. `wasmcustom.mcp_gateway.requests.tools_call`, and the
//! native module's under `dynamicmodulescustom.` (`dynamicmodulescustom.mcp_gateway.…`); the
//! names after that prefix are the same. In Prometheus output Envoy drops both prefixes.
//!
//! | counter | counts |
//! |---|---|
//! | `mcp_gateway.requests.<method>` | MCP requests by JSON-RPC method (`Method::metric_label`: `/` → `_`; unknown methods → `other`; `notification`, `response`, `get`, `delete`) |
//! | `mcp_gateway.routed.<server>` | calls routed straight to a backend |
//! | `mcp_gateway.broker` | requests sent to the broker |
//! | `mcp_gateway.errors.<kind>` | local refusals, by [`ErrorKind`] |

use mcpgw_common::protocol::{method, Class, Method, Reason};

use crate::host::RootHost;

pub const PREFIX: &str = "mcp_gateway";

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
    /// 2026-07-28: a method that revision does not have.
    MethodNotFound = 17,
    /// 2026-07-28: a protocol version the gateway does not serve.
    UnsupportedVersion = 18,
    /// A routed name outside the request's virtual server or the caller's access rules
    /// (answered as an unknown name).
    OutOfScope = 19,
    /// A session used on another virtual server than the one it was opened on.
    SessionScope = 20,
    /// `X-Mcp-Virtualserver` named no virtual server, was repeated, or contradicted the path.
    VirtualServer = 21,
}
impl ErrorKind {
    /// The name used in the counter and in filter state `mcp_gateway.error`.
    pub fn name(self) -> &'static str {
        ERROR_NAMES.get(self as usize).copied().unwrap_or("other")
    }
}

impl From<Reason> for ErrorKind {
    fn from(reason: Reason) -> ErrorKind {
        match reason {
            Reason::ParseError => ErrorKind::ParseError,
            Reason::Batch => ErrorKind::Batch,
            Reason::InvalidRequest => ErrorKind::InvalidRequest,
            Reason::TooLong => ErrorKind::TooLong,
            Reason::HeaderMismatch => ErrorKind::HeaderMismatch,
            Reason::InvalidParams => ErrorKind::InvalidParams,
            Reason::UnknownName => ErrorKind::UnknownName,
            Reason::MethodNotFound => ErrorKind::MethodNotFound,
            Reason::UnsupportedVersion => ErrorKind::UnsupportedVersion,
            Reason::OutOfScope => ErrorKind::OutOfScope,
        }
    }
}

const ERROR_NAMES: [&str; 22] = [
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
    "method_not_found",
    "unsupported_version",
    "out_of_scope",
    "session_scope",
    "virtual_server",
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
            // Requests by name, notifications together (`requests.notification`): indexed
            // like `method::ALL`.
            methods: method::ALL
                .iter()
                .map(|m| (m.class() != Class::Notification).then(|| def(&format!("requests.{}", m.metric_label()))).flatten())
                .collect(),
            others: OTHER_NAMES.iter().map(|m| def(&format!("requests.{m}"))).collect(),
            servers: servers.iter().map(|s| def(&format!("routed.{s}"))).collect(),
            broker: def("broker"),
            errors: ERROR_NAMES.iter().map(|e| def(&format!("errors.{e}"))).collect(),
        }
    }

    /// The counter of a request or notification: by method, `notification` for any
    /// notification, `other` for a request method the gateway does not know.
    pub fn method(&self, name: &str, method: Option<Method>) -> Option<u32> {
        match method {
            Some(m) if m.class() != Class::Notification => {
                let i = method::ALL.iter().position(|k| *k == m)?;
                self.methods.get(i).copied().flatten()
            }
            _ if name.starts_with("notifications/") => self.other(Other::Notification),
            _ => self.other(Other::Unknown),
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
