//! How the broker addresses a backend for one call: the backend session, the protocol
//! version and the client's credential it goes with, and the headers that makes.

use mcpgw_common::headers;
use mcpgw_common::protocol::era;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};

use crate::config::Server;

/// How to address the backend for one call.
#[derive(Debug, Default, Clone)]
pub struct Addressing {
    /// The backend's own session id (one this broker holds for the client's session, or a
    /// throwaway one), none for a 2026-07-28 backend or before `initialize`.
    pub backend_session: Option<String>,
    /// `MCP-Protocol-Version` to send.
    pub protocol_version: Option<String>,
    /// The client's `Authorization`, sent only to servers configured to receive it.
    pub authorization: Option<HeaderValue>,
}

/// Headers for a call to `server`.
pub fn request_headers(server: &Server, addressing: &Addressing, method: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(ACCEPT, HeaderValue::from_static("application/json, text/event-stream"));
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(s) = addressing.backend_session.as_deref().and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert(headers::SESSION_ID, s);
    }
    if let Some(v) = addressing.protocol_version.as_deref().and_then(|s| HeaderValue::from_str(s).ok()) {
        if let (Some(m), true) = (method, era::is_stateless_or_later(addressing.protocol_version.as_deref().unwrap_or(""))) {
            if let Ok(mv) = HeaderValue::from_str(m) {
                h.insert(headers::METHOD, mv);
            }
        }
        h.insert(headers::PROTOCOL_VERSION, v);
    }
    if server.forward_authorization {
        if let Some(a) = &addressing.authorization {
            h.insert(AUTHORIZATION, a.clone());
        }
    }
    if let Some((n, v)) = &server.credential {
        h.insert(n.clone(), v.clone());
    }
    h
}
