//! The gateway's own sessions, as far as the state goes: a new session's id, its sealed
//! token (all of a session's state lives in the token, opened by the surface), and the
//! subject a token is bound to.

use mcpgw_common::session::SessionClaims;
use reqwest::header::HeaderMap;

use crate::config::Runtime;
use crate::state::app::now;

/// 16 hex characters from the OS RNG.
pub fn new_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // The OS RNG failing is not recoverable in any meaningful way; fall back to time.
        b = now().to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn mint(rt: &Runtime, claims: &SessionClaims) -> Result<String, String> {
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| format!("OS random source: {e}"))?;
    rt.codec.mint(claims, nonce)
}

pub fn subject(rt: &Runtime, headers: &HeaderMap) -> Option<String> {
    let h = rt.subject_header.as_ref()?;
    headers.get(h.as_str()).and_then(|v| v.to_str().ok()).map(String::from)
}
