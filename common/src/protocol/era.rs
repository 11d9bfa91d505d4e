//! The protocol eras the gateway speaks and how a request's era is told, with the versions of
//! each and the `_meta` keys 2026-07-28 carries in every request instead of a session.
//!
//! - **Session** (2024-11-05 … 2025-11-25): `initialize` opens a session; later requests carry
//!   `Mcp-Session-Id` and `MCP-Protocol-Version`.
//! - **Stateless** (2026-07-28): no session; each request carries its protocol version and
//!   client capabilities in `params._meta`, and mirrors method and name in the standard
//!   headers (`Mcp-Method`, `Mcp-Name`, [`crate::headers`]).

/// The stateless revision the gateway serves.
pub const STATELESS_VERSION: &str = "2026-07-28";

/// Stateless versions the gateway serves (`server/discover` lists these, and an
/// unsupported-version error names them).
pub const STATELESS_VERSIONS: &[&str] = &[STATELESS_VERSION];

/// Session-protocol versions the gateway negotiates in `initialize`, newest first.
pub const SESSION_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The `_meta` keys of 2026-07-28 (all under the `io.modelcontextprotocol/` prefix, which is
/// reserved for the protocol: the gateway strips them before a session-protocol backend).
pub mod meta {
    pub const PREFIX: &str = "io.modelcontextprotocol/";
    pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
    pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
    pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
    pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    Session,
    Stateless,
}

impl Era {
    /// A request's era, as the official SDKs tell it: an `MCP-Protocol-Version` header naming a
    /// session-protocol version is the session protocol; any other header value is 2026-07-28
    /// or later, or a version the gateway does not serve (both answered by the stateless
    /// checks, the latter with -32022). Without the header (a session's `initialize`, or a
    /// client that forgot it), a stateless `_meta` version still makes the request stateless,
    /// so that it is refused for the missing header rather than served as something else.
    pub fn of_request(header_version: Option<&str>, meta_version: impl FnOnce() -> Option<String>) -> Era {
        match header_version {
            Some(v) if SESSION_VERSIONS.contains(&v) => Era::Session,
            Some(_) => Era::Stateless,
            None if meta_version().as_deref().is_some_and(is_stateless_or_later) => Era::Stateless,
            None => Era::Session,
        }
    }
}

/// Whether a version string names 2026-07-28 or a later revision. Versions are dates, so a
/// later revision compares greater as a string.
pub fn is_stateless_or_later(version: &str) -> bool {
    version.len() == STATELESS_VERSION.len() && version >= STATELESS_VERSION
}

/// The session-protocol version the gateway answers `initialize` with: the client's when the
/// gateway speaks it, else the newest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    let newest = SESSION_VERSIONS.first().copied().unwrap_or("2025-11-25");
    requested.and_then(|r| SESSION_VERSIONS.iter().find(|v| **v == r)).copied().unwrap_or(newest)
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn era_of_request() {
        assert_eq!(Era::of_request(Some("2025-06-18"), || None), Era::Session);
        assert_eq!(Era::of_request(Some("2026-07-28"), || None), Era::Stateless);
        assert_eq!(Era::of_request(Some("garbage"), || None), Era::Stateless);
        assert_eq!(Era::of_request(None, || None), Era::Session);
        assert_eq!(Era::of_request(None, || Some("2026-07-28".into())), Era::Stateless);
        assert_eq!(Era::of_request(None, || Some("2025-11-25".into())), Era::Session);
    }

    #[test]
    fn versions() {
        assert!(is_stateless_or_later("2027-01-01"));
        assert!(!is_stateless_or_later("2025-11-25"));
        assert!(!is_stateless_or_later("garbage"));
        assert_eq!(negotiate(Some("2025-03-26")), "2025-03-26");
        assert_eq!(negotiate(Some("1999-01-01")), "2025-11-25");
        assert_eq!(negotiate(None), "2025-11-25");
    }
}
