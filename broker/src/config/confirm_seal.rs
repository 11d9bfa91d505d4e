//! The `requestState` the broker hands a 2026-07-28 client with its confirmation question
//! (an `input_required` result), sealed so that any broker replica can take the client's
//! retry without shared state, and so that it confirms exactly one call.
//!
//! ```text
//! state  = "mcpgw-confirm." || base64url( nonce:[u8; 24] || XChaCha20-Poly1305(k, nonce, json(claims), AAD) )
//! k      = SessionKey::derive("mcpgw-confirm-state-key1") of a session key (the first seals, all open)
//! AAD    = "mcpgw-confirm-state-v1"
//! claims = { tool: exposed tool name, args: hex SHA-256 of the arguments as JSON,
//!            subject: the caller (session.subject_header) or null, exp: unix ms }
//! ```
//!
//! Why: the question and the retry are two HTTP requests, which may reach two replicas; the
//! state must prove that the gateway asked about *this* tool with *these* arguments for
//! *this* caller, not long ago. A client can replay it until `exp` (the gateway keeps no
//! record of answers): replaying is answering "accept" again to the same question, which
//! the client could do anyway. Separate key (derived, not the token key) and AAD, so a
//! session token can never be passed off as a state or the reverse.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use mcpgw_common::session::SessionKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How every state the gateway mints starts: a state without it is a backend's own.
pub const STATE_PREFIX: &str = "mcpgw-confirm.";
const LABEL: &[u8; 24] = b"mcpgw-confirm-state-key1";
const AAD: &[u8] = b"mcpgw-confirm-state-v1";
const NONCE_LEN: usize = 24;
/// A state longer than this is not one of ours (ours are a few hundred bytes).
const MAX_STATE_LEN: usize = 4096;

/// What one state confirms: the call as the client made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The exposed tool name (the client's).
    pub tool: String,
    /// [`args_digest`] of the call's arguments.
    pub args: String,
    /// The verified caller (`session.subject_header`), when the gateway has one.
    pub subject: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    #[serde(flatten)]
    binding: Binding,
    /// Unix milliseconds.
    exp: u64,
}

/// What a state said about the call it came back with.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    /// Minted by this gateway for this very call, and in time.
    Valid,
    /// Minted for this call, too long ago: ask again.
    Expired,
    /// Tampered with, minted by another gateway, or for another call or caller.
    Invalid,
}

/// The SHA-256 (hex) of `args` as JSON: the same arguments give the same digest (serde_json
/// writes object keys in order, whatever order the client used).
pub fn args_digest(args: &serde_json::Value) -> String {
    let bytes = serde_json::to_vec(args).unwrap_or_default();
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Seals and opens states under a key ring (derived from the session keys).
#[derive(Clone)]
pub struct ConfirmSeal {
    ciphers: Vec<XChaCha20Poly1305>,
}

impl std::fmt::Debug for ConfirmSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfirmSeal({} keys)", self.ciphers.len())
    }
}

impl ConfirmSeal {
    pub fn new(keys: &[SessionKey]) -> Result<ConfirmSeal, String> {
        let ciphers = keys
            .iter()
            .map(|k| k.derive(LABEL).map(|d| XChaCha20Poly1305::new(d.bytes().into())))
            .collect::<Result<Vec<_>, _>>()?;
        if ciphers.is_empty() {
            return Err("no session key to seal confirmation state with".into());
        }
        Ok(ConfirmSeal { ciphers })
    }

    /// A state for `binding`, valid until `exp_ms` (unix ms); `nonce` fresh random bytes.
    pub fn seal(&self, binding: &Binding, exp_ms: u64, nonce: [u8; NONCE_LEN]) -> Result<String, String> {
        let cipher = self.ciphers.first().ok_or("no key")?;
        let plain = serde_json::to_vec(&Claims { binding: binding.clone(), exp: exp_ms }).map_err(|e| e.to_string())?;
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: AAD })
            .map_err(|_| "sealing confirmation state failed".to_string())?;
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&sealed);
        Ok(format!("{STATE_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw)))
    }

    /// Whether `state` confirms the call `binding` at `now_ms`.
    pub fn open(&self, state: &str, binding: &Binding, now_ms: u64) -> Opened {
        let Some(encoded) = state.strip_prefix(STATE_PREFIX).filter(|_| state.len() <= MAX_STATE_LEN) else {
            return Opened::Invalid;
        };
        let Ok(raw) = URL_SAFE_NO_PAD.decode(encoded) else { return Opened::Invalid };
        let Some((nonce, sealed)) = raw.split_at_checked(NONCE_LEN) else { return Opened::Invalid };
        let Some(plain) = self.ciphers.iter().find_map(|c| c.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: AAD }).ok()) else {
            return Opened::Invalid;
        };
        let Ok(claims) = serde_json::from_slice::<Claims>(&plain) else { return Opened::Invalid };
        if claims.binding != *binding {
            return Opened::Invalid;
        }
        if now_ms >= claims.exp {
            return Opened::Expired;
        }
        Opened::Valid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SessionKey {
        SessionKey::from_bytes([byte; 32])
    }

    fn binding() -> Binding {
        Binding { tool: "alpha_wipe".into(), args: args_digest(&serde_json::json!({"target": "db", "n": 1})), subject: Some("ada".into()) }
    }

    #[test]
    fn a_state_confirms_its_call_until_it_expires() {
        let seal = ConfirmSeal::new(&[key(1)]).unwrap();
        let state = seal.seal(&binding(), 10_000, [7; 24]).unwrap();
        assert!(state.starts_with(STATE_PREFIX));
        assert_eq!(seal.open(&state, &binding(), 9_999), Opened::Valid);
        assert_eq!(seal.open(&state, &binding(), 10_000), Opened::Expired);
        // The arguments' key order does not matter; their values do.
        let reordered = Binding { args: args_digest(&serde_json::json!({"n": 1, "target": "db"})), ..binding() };
        assert_eq!(seal.open(&state, &reordered, 0), Opened::Valid);
    }

    #[test]
    fn another_call_caller_or_gateway_is_refused() {
        let seal = ConfirmSeal::new(&[key(1)]).unwrap();
        let state = seal.seal(&binding(), 10_000, [7; 24]).unwrap();
        for other in [
            Binding { tool: "alpha_wipe_all".into(), ..binding() },
            Binding { args: args_digest(&serde_json::json!({"target": "prod", "n": 1})), ..binding() },
            Binding { subject: Some("eve".into()), ..binding() },
            Binding { subject: None, ..binding() },
        ] {
            assert_eq!(seal.open(&state, &other, 0), Opened::Invalid, "{other:?}");
        }
        let foreign = ConfirmSeal::new(&[key(2)]).unwrap();
        assert_eq!(foreign.open(&state, &binding(), 0), Opened::Invalid);
        // Rotation: a ring that still holds the old key opens it.
        let rotated = ConfirmSeal::new(&[key(2), key(1)]).unwrap();
        assert_eq!(rotated.open(&state, &binding(), 0), Opened::Valid);
    }

    #[test]
    fn any_flipped_bit_is_refused() {
        let seal = ConfirmSeal::new(&[key(1)]).unwrap();
        let state = seal.seal(&binding(), 10_000, [7; 24]).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(state.strip_prefix(STATE_PREFIX).unwrap()).unwrap();
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut flipped = raw.clone();
                flipped[i] ^= 1 << bit;
                let s = format!("{STATE_PREFIX}{}", URL_SAFE_NO_PAD.encode(&flipped));
                assert_eq!(seal.open(&s, &binding(), 0), Opened::Invalid, "byte {i} bit {bit}");
            }
        }
        for junk in ["", "mcpgw-confirm.", "mcpgw-confirm.!!", "backend-state", &state[..state.len() - 4]] {
            assert_eq!(seal.open(junk, &binding(), 0), Opened::Invalid, "{junk}");
        }
    }

    #[test]
    fn a_session_token_is_not_a_state() {
        // The same key, but the token's cipher key and AAD: never opens as a state.
        let codec = mcpgw_common::session::SessionCodec::new(&[key(1)]).unwrap();
        let claims = mcpgw_common::session::SessionClaims { expires_at: u64::MAX, elicitation: true, ..mcpgw_common::test_fixtures::claims("s") };
        let token = codec.mint(&claims, [3; 24]).unwrap();
        let seal = ConfirmSeal::new(&[key(1)]).unwrap();
        assert_eq!(seal.open(&format!("{STATE_PREFIX}{token}"), &binding(), 0), Opened::Invalid);
    }
}
