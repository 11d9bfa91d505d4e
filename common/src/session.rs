//! The gateway session token: what a client holds as its `Mcp-Session-Id`.
//!
//! The token holds what every replica needs to serve the session (its id, lifetime, subject,
//! protocol version, whether the client declared capabilities), so any broker or Envoy
//! replica, and a broker that restarted, can serve it. The broker mints it at `initialize`
//! without opening any backend session; the filter opens it on every request.
//!
//! Backend session ids are **not** in the token (since version 3): a backend session is
//! opened on the session's first use of that server (by the broker, which keeps it in memory
//! and tells the filter on its answer; the filter keeps it in Envoy's shared data). See the
//! README, "Sessions cost what they use".
//!
//! Format (all base64url, no padding, so it is a valid visible-ASCII session id):
//!
//! ```text
//! token  = base64url( version:u8 = 2 || nonce:[u8; 24] || XChaCha20-Poly1305(key, nonce, claims, aad) )
//! aad    = "mcpgw-session" || version
//! claims = postcard(SessionClaims)
//! ```
//!
//! Why XChaCha20-Poly1305: it is fast in software (the filter runs in wasm, which has no AES
//! instructions) and its 192-bit nonce can be drawn at random for every token without a
//! collision budget. The key is used directly (no per-request key derivation). Several keys
//! can be configured: the first mints, all open, so keys can be rotated without dropping
//! sessions. A token that fails authentication under every key, is malformed, or has expired
//! is refused the same way (HTTP 404), which tells the client to initialize again.
//!
//! The version changes whenever the claims change shape (postcard is not self-describing):
//! tokens of another version are refused as malformed, so clients of an upgraded gateway
//! initialize once more. Version 2 added `accepts_server_requests`. Version 3 removed
//! `backends` (the backend session ids, one per server, opened at `initialize`): a client
//! holding a version-2 token gets one 404 and initializes again. Version 4 added
//! `virtual_server` (a session is scoped to the virtual server it was opened on) and
//! `elicitation` (the gateway itself may ask the client to confirm a call).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};

const VERSION: u8 = 4;
const AAD_CONTEXT: &[u8] = b"mcpgw-session";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Tokens longer than this are refused before any work: a header this size is an attack.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// At most this many keys are tried when opening a token.
pub const MAX_KEYS: usize = 4;

/// What the token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// Random gateway session id: safe to log and to put in metadata (the token is not).
    pub id: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; the token is refused from this instant on.
    pub expires_at: u64,
    /// The caller the session is bound to (e.g. a verified JWT `sub`), if any.
    pub subject: Option<String>,
    /// The protocol version negotiated with the client.
    pub protocol_version: String,
    /// Whether the client declared any capability at initialize. A client that declared none
    /// is sent no server requests (sampling, elicitation, roots) by a conforming server, so
    /// the filter can pass a backend's SSE answers through without reading them (it reads
    /// them to namespace server request ids otherwise). Pings are the exception the protocol
    /// allows; a client answering one would reach the broker, not the backend.
    pub accepts_server_requests: bool,
    /// The virtual server (`/mcp/<name>`, gateway config `virtual_servers`) the session was
    /// opened on; `None`: the whole gateway. Every request of the session must come for the
    /// same one, so a session of one virtual server never reaches another's tools.
    pub virtual_server: Option<String>,
    /// Whether the client declared the elicitation capability (form mode) at initialize: the
    /// gateway may then ask it to confirm a call before it reaches the backend.
    pub elicitation: bool,
}

/// Why a token was refused. The client is told only "session not found"; the kind goes to
/// logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not base64url, too short or too long, or an unknown version.
    Malformed,
    /// Failed authentication under every key: tampered, or minted by another gateway.
    Forged,
    /// Authentic but past `expires_at`.
    Expired,
}

impl TokenError {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::Forged => "forged",
            TokenError::Expired => "expired",
        }
    }
}

/// A 256-bit session key.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

impl SessionKey {
    pub fn from_bytes(bytes: [u8; 32]) -> SessionKey {
        SessionKey(bytes)
    }

    /// Parses a key written as base64 (standard or url-safe, padding optional) of 32 bytes.
    /// The error never contains the key.
    pub fn from_base64(text: &str) -> Result<SessionKey, String> {
        let text = text.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .or_else(|_| STANDARD.decode(text))
            .map_err(|_| "session key is not valid base64".to_string())?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("session key must be 32 bytes (256 bits), got {}", b.len()))?;
        Ok(SessionKey(arr))
    }

    /// A key for another purpose (`label`, 24 bytes, one per purpose), derived from this one:
    /// the XChaCha20 keystream under the fixed nonce `label`, a pseudo-random function of the
    /// key (as `crate::broker_auth` derives its credential). Session tokens draw their nonce at
    /// random, so they never use a label (probability 2^-192); the derived key reveals nothing
    /// of this one. The broker seals the state a 2026-07-28 client carries through a
    /// confirmation round under it, so no extra secret is configured.
    pub fn derive(&self, label: &[u8; NONCE_LEN]) -> Result<SessionKey, String> {
        let sealed = XChaCha20Poly1305::new((&self.0).into())
            .encrypt(XNonce::from_slice(label), Payload { msg: &[0u8; 32], aad: b"mcpgw-derive" })
            .map_err(|_| "deriving a key failed".to_string())?;
        let stream: [u8; 32] = sealed.get(..32).and_then(|b| b.try_into().ok()).ok_or("deriving a key failed")?;
        Ok(SessionKey(stream))
    }

    /// The key's bytes, for a cipher of another purpose built from a [`Self::derive`]d key.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Seals and opens tokens under a key ring.
#[derive(Clone)]
pub struct SessionCodec {
    ciphers: Vec<XChaCha20Poly1305>,
}

impl std::fmt::Debug for SessionCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionCodec({} keys)", self.ciphers.len())
    }
}

impl SessionCodec {
    /// The first key mints; every key opens. 1 to [`MAX_KEYS`] keys.
    pub fn new(keys: &[SessionKey]) -> Result<SessionCodec, String> {
        if keys.is_empty() || keys.len() > MAX_KEYS {
            return Err(format!("between 1 and {MAX_KEYS} session keys are needed, got {}", keys.len()));
        }
        let ciphers = keys.iter().map(|k| XChaCha20Poly1305::new((&k.0).into())).collect();
        Ok(SessionCodec { ciphers })
    }

    /// Seals `claims` with the first key. `nonce` must be fresh random bytes (the broker draws
    /// them from the OS); it is a parameter so this crate needs no RNG and tests are exact.
    pub fn mint(&self, claims: &SessionClaims, nonce: [u8; NONCE_LEN]) -> Result<String, String> {
        let cipher = self.ciphers.first().ok_or("no session key")?;
        let plain = postcard::to_allocvec(claims).map_err(|e| format!("encoding session claims: {e}"))?;
        let aad = aad();
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: &aad })
            .map_err(|_| "sealing session token failed".to_string())?;
        let mut raw = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        raw.push(VERSION);
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Opens a token and checks its expiry against `now` (unix seconds).
    pub fn open(&self, token: &str, now: u64) -> Result<SessionClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).map_err(|_| TokenError::Malformed)?;
        if raw.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(TokenError::Malformed);
        }
        let (version, rest) = raw.split_first().ok_or(TokenError::Malformed)?;
        if *version != VERSION {
            return Err(TokenError::Malformed);
        }
        let (nonce, sealed) = rest.split_at_checked(NONCE_LEN).ok_or(TokenError::Malformed)?;
        let aad = aad();
        let plain = self
            .ciphers
            .iter()
            .find_map(|c| c.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: &aad }).ok())
            .ok_or(TokenError::Forged)?;
        // Authentic bytes that do not decode were minted by an incompatible build.
        let claims: SessionClaims = postcard::from_bytes(&plain).map_err(|_| TokenError::Malformed)?;
        if now >= claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

fn aad() -> [u8; 14] {
    let mut aad = [0u8; 14];
    for (dst, src) in aad.iter_mut().zip(AAD_CONTEXT.iter().chain(std::iter::once(&VERSION))) {
        *dst = *src;
    }
    aad
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    fn claims() -> SessionClaims {
        SessionClaims {
            id: "3f9a0c2e7b1d4a55".into(),
            issued_at: 1_000,
            expires_at: 2_000,
            subject: Some("alice".into()),
            protocol_version: "2025-11-25".into(),
            accepts_server_requests: true,
            virtual_server: Some("support".into()),
            elicitation: true,
        }
    }

    fn codec(seed: u8) -> SessionCodec {
        SessionCodec::new(&[SessionKey::from_bytes([seed; 32])]).unwrap()
    }

    #[test]
    fn round_trip() {
        let c = codec(1);
        let t = c.mint(&claims(), [9; 24]).unwrap();
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let back = c.open(&t, 1_500).unwrap();
        assert_eq!(back, claims());
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let c = codec(1);
        let t = c.mint(&claims(), [9; 24]).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut bad = raw.clone();
                bad[i] ^= 1 << bit;
                let err = c.open(&URL_SAFE_NO_PAD.encode(&bad), 1_500).unwrap_err();
                assert!(matches!(err, TokenError::Forged | TokenError::Malformed), "byte {i} bit {bit}: {err:?}");
            }
        }
    }

    #[test]
    fn truncated_extended_and_garbage_tokens_are_refused() {
        let c = codec(1);
        let t = c.mint(&claims(), [9; 24]).unwrap();
        assert!(c.open(&t[..t.len() - 1], 1_500).is_err());
        assert!(c.open(&format!("{t}A"), 1_500).is_err());
        assert_eq!(c.open("", 1_500), Err(TokenError::Malformed));
        assert_eq!(c.open("not a token!", 1_500), Err(TokenError::Malformed));
        assert_eq!(c.open(&"A".repeat(MAX_TOKEN_LEN + 1), 1_500), Err(TokenError::Malformed));
        // A backend's raw session id (a UUID) is not a gateway session.
        assert!(c.open("5f0c3f3e-8a3b-4d7e-9c1a-0b6a2d9e4f11", 1_500).is_err());
    }

    #[test]
    fn expiry_is_enforced_at_the_instant() {
        let c = codec(1);
        let t = c.mint(&claims(), [9; 24]).unwrap();
        assert!(c.open(&t, 1_999).is_ok());
        assert_eq!(c.open(&t, 2_000), Err(TokenError::Expired));
    }

    #[test]
    fn foreign_gateway_tokens_are_forged() {
        let t = codec(2).mint(&claims(), [9; 24]).unwrap();
        assert_eq!(codec(1).open(&t, 1_500), Err(TokenError::Forged));
    }

    #[test]
    fn rotation_old_key_still_opens_new_key_mints() {
        let old = codec(1);
        let t_old = old.mint(&claims(), [1; 24]).unwrap();
        let ring = SessionCodec::new(&[SessionKey::from_bytes([2; 32]), SessionKey::from_bytes([1; 32])]).unwrap();
        assert!(ring.open(&t_old, 1_500).is_ok());
        let t_new = ring.mint(&claims(), [3; 24]).unwrap();
        assert_eq!(old.open(&t_new, 1_500), Err(TokenError::Forged));
        assert!(codec(2).open(&t_new, 1_500).is_ok());
    }

    #[test]
    fn key_parsing() {
        let b64 = STANDARD.encode([7u8; 32]);
        assert!(SessionKey::from_base64(&b64).is_ok());
        assert!(SessionKey::from_base64(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
        let short = SessionKey::from_base64(&STANDARD.encode([7u8; 16])).unwrap_err();
        assert!(short.contains("32 bytes"));
        assert!(!format!("{:?}", SessionKey::from_bytes([7; 32])).contains('7'));
        assert!(SessionCodec::new(&[]).is_err());
    }
}
