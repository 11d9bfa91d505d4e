//! Fixtures the workspace's tests share, so that they agree on one session key and mint
//! session tokens one way, the broker's: this crate's unit tests, the filter's unit tests and
//! the broker's integration tests (the last two through the `test-fixtures` feature, enabled
//! by their dev-dependency on this crate, so no shipped build carries it).
//!
//! Under the feature this is library code to clippy, held to the workspace's no-panic lints:
//! the functions return what the codec returns and the tests unwrap.

use crate::session::{SessionClaims, SessionCodec, SessionKey};

/// The session key test gateways are configured with (bytes 0 to 31).
pub const KEY: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
];

/// [`KEY`] as a gateway's configuration holds it: standard base64.
pub const KEY_BASE64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Tests are exact: the same claims mint the same token. The broker draws a fresh nonce for
/// every token.
const NONCE: [u8; 24] = [3; 24];

/// The claims of test session `id`: issued at 10 and expiring at 5 000 (unix seconds: a test's
/// clock is in between, or at 5 000 to see it expire), unbound, protocol 2025-11-25, from a
/// client that declared capabilities. A test that needs another value says so:
/// `SessionClaims { subject: Some("alice".into()), ..claims(id) }`.
pub fn claims(id: &str) -> SessionClaims {
    SessionClaims {
        id: id.into(),
        issued_at: 10,
        expires_at: 5_000,
        subject: None,
        protocol_version: "2025-11-25".into(),
        accepts_server_requests: true,
        virtual_server: None,
        elicitation: false,
    }
}

/// A token for `claims` under [`KEY`], as a test gateway's broker mints it.
pub fn mint(claims: &SessionClaims) -> Result<String, String> {
    mint_under(KEY, claims)
}

/// A token for `claims` under `key`: another gateway's, for tokens that must be refused.
pub fn mint_under(key: [u8; 32], claims: &SessionClaims) -> Result<String, String> {
    SessionCodec::new(&[SessionKey::from_bytes(key)])?.mint(claims, NONCE)
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;

    #[test]
    fn the_configured_key_is_the_key() {
        assert_eq!(STANDARD.encode(KEY), KEY_BASE64);
    }

    #[test]
    fn tokens_open_under_the_configured_key_only() {
        let t = mint(&claims("s-1")).unwrap();
        let codec = SessionCodec::new(&[SessionKey::from_base64(KEY_BASE64).unwrap()]).unwrap();
        assert_eq!(codec.open(&t, 0), Ok(claims("s-1")));
        let foreign = mint_under([9; 32], &claims("s-1")).unwrap();
        assert!(codec.open(&foreign, 0).is_err());
    }
}
