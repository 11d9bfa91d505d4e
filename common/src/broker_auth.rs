//! The credential that proves a request to the broker came through the filter's decision.
//!
//! The broker listens on a port of its own, so anything that can reach that port could talk to
//! it directly, past Envoy and every policy in it. Envoy's broker route therefore carries a
//! header only the filter can compute, and the broker refuses its MCP endpoint without it.
//!
//! The credential is derived from the gateway's session keys, which the filter and the broker
//! both already hold, so there is no extra secret to configure, store or render into Envoy's
//! config:
//!
//! ```text
//! header     = x-mcp-gateway-auth
//! value      = base64url_nopad( XChaCha20-Poly1305-Seal(key, NONCE, plaintext = [0u8; 32], aad = AAD) )
//!              (32 bytes of ciphertext || 16 bytes of tag = 48 bytes = 64 characters)
//! key        = the first session key (the minting key)
//! NONCE      = b"mcpgw-broker-credential1" (24 bytes)
//! AAD        = b"mcpgw-broker-auth"
//! ```
//!
//! The value is a pseudo-random function of the key (the ChaCha20 keystream and the Poly1305
//! tag under a fixed nonce): stable for a key, unrelated between keys, and it reveals nothing
//! about the key or about session tokens. Session tokens draw their 192-bit nonce at random,
//! so they never meet the fixed nonce (probability 2^-192), and the fixed nonce only ever
//! seals the same plaintext, which leaks nothing beyond the value itself.
//!
//! The broker accepts the value derived from ANY configured key, because during a key rotation
//! the filter may run a configuration a few seconds older (or newer) than the broker's.
//! Checking is opening the value under each key: the Poly1305 tag comparison inside
//! `chacha20poly1305` is constant-time, so the check leaks no prefix of the expected value.
//!
//! The header is in the `x-mcp-` family, which the filter strips from every client request,
//! so a client cannot supply it through Envoy; and it is never sent to a backend.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::session::{SessionKey, MAX_KEYS};

/// The request header carrying the credential (lower case, as HTTP/2 and Envoy write it).
pub const HEADER: &str = "x-mcp-gateway-auth";

const NONCE: &[u8; 24] = b"mcpgw-broker-credential1";
const AAD: &[u8] = b"mcpgw-broker-auth";
const PLAIN: [u8; 32] = [0u8; 32];
/// The length of a credential in characters (48 bytes, base64url without padding).
pub const CREDENTIAL_LEN: usize = 64;

/// The credentials of a key ring: the first key's value is sent, any key's value is accepted.
#[derive(Clone)]
pub struct BrokerAuth {
    ciphers: Vec<XChaCha20Poly1305>,
    credential: String,
}

impl std::fmt::Debug for BrokerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BrokerAuth({} keys, <redacted>)", self.ciphers.len())
    }
}

/// The 32 key bytes of a base64 session key, with the same rules (and the same errors, which
/// never contain the key) as [`SessionKey::from_base64`].
fn key_bytes(text: &str) -> Result<[u8; 32], String> {
    SessionKey::from_base64(text)?;
    let text = text.trim();
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(text))
        .map_err(|_| "session key is not valid base64".to_string())?;
    bytes.try_into().map_err(|_| "session key must be 32 bytes (256 bits)".to_string())
}

fn seal(cipher: &XChaCha20Poly1305) -> Result<String, String> {
    let sealed = cipher
        .encrypt(XNonce::from_slice(NONCE), Payload { msg: &PLAIN, aad: AAD })
        .map_err(|_| "deriving the broker credential failed".to_string())?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

impl BrokerAuth {
    /// From the session keys as configured (base64 text, the first one mints): 1 to
    /// [`MAX_KEYS`] keys.
    pub fn from_key_texts<S: AsRef<str>>(keys: &[S]) -> Result<BrokerAuth, String> {
        if keys.is_empty() || keys.len() > MAX_KEYS {
            return Err(format!("between 1 and {MAX_KEYS} session keys are needed, got {}", keys.len()));
        }
        let ciphers = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                key_bytes(k.as_ref())
                    .map(|b| XChaCha20Poly1305::new((&b).into()))
                    .map_err(|e| format!("session key #{i}: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let first = ciphers.first().ok_or("no session key")?;
        let credential = seal(first)?;
        Ok(BrokerAuth { ciphers, credential })
    }

    /// The header value to send: the credential of the first (minting) key.
    pub fn credential(&self) -> &str {
        &self.credential
    }

    /// Whether `presented` (a header value) is the credential of any configured key. The
    /// comparison is the AEAD's constant-time tag check.
    pub fn verify(&self, presented: &[u8]) -> bool {
        if presented.len() != CREDENTIAL_LEN {
            return false;
        }
        let Ok(raw) = URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        // Only a value that authenticates under a key is compared with the expected plaintext,
        // so the plaintext comparison (of public bytes) needs no constant time.
        self.ciphers.iter().any(|c| {
            c.decrypt(XNonce::from_slice(NONCE), Payload { msg: &raw, aad: AAD }).is_ok_and(|p| p == PLAIN)
        })
    }
}

/// The header value the filter sends, from the configured session keys (the first mints).
pub fn credential<S: AsRef<str>>(keys: &[S]) -> Result<String, String> {
    BrokerAuth::from_key_texts(keys).map(|a| a.credential)
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    fn key(seed: u8) -> String {
        STANDARD.encode([seed; 32])
    }

    #[test]
    fn stable_and_well_formed() {
        let a = credential(&[key(1)]).unwrap();
        assert_eq!(a, credential(&[key(1)]).unwrap());
        assert_eq!(a.len(), CREDENTIAL_LEN);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        // The url-safe spelling of the same key gives the same credential.
        assert_eq!(a, credential(&[URL_SAFE_NO_PAD.encode([1u8; 32])]).unwrap());
        // Pinned, so that the filter and the broker (and any other implementation following
        // the module docs) cannot drift apart unnoticed.
        assert_eq!(a, "ArgbDqSgEnHUVI1E_SMroB9ymUOekXXtlTigsAu76rJrwNf8ZkaqBLg6s9RglyU8");
        assert!(!a.contains(&key(1)));
    }

    #[test]
    fn differs_per_key_and_the_first_key_sends() {
        let a = credential(&[key(1)]).unwrap();
        let b = credential(&[key(2)]).unwrap();
        assert_ne!(a, b);
        assert_eq!(credential(&[key(2), key(1)]).unwrap(), b);
    }

    #[test]
    fn any_configured_key_is_accepted() {
        let ring = BrokerAuth::from_key_texts(&[key(2), key(1)]).unwrap();
        assert!(ring.verify(credential(&[key(1)]).unwrap().as_bytes()));
        assert!(ring.verify(credential(&[key(2)]).unwrap().as_bytes()));
        assert!(!ring.verify(credential(&[key(3)]).unwrap().as_bytes()));
        let old = BrokerAuth::from_key_texts(&[key(1)]).unwrap();
        assert!(!old.verify(ring.credential().as_bytes()));
    }

    #[test]
    fn every_flipped_bit_is_refused() {
        let auth = BrokerAuth::from_key_texts(&[key(7)]).unwrap();
        let good = auth.credential().to_string();
        assert!(auth.verify(good.as_bytes()));
        let raw = URL_SAFE_NO_PAD.decode(&good).unwrap();
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut bad = raw.clone();
                bad[i] ^= 1 << bit;
                assert!(!auth.verify(URL_SAFE_NO_PAD.encode(&bad).as_bytes()), "byte {i} bit {bit}");
            }
        }
        // And one bit of the text itself.
        let mut text = good.into_bytes();
        text[10] ^= 1;
        assert!(!auth.verify(&text));
    }

    #[test]
    fn garbage_and_bad_keys_are_refused() {
        let auth = BrokerAuth::from_key_texts(&[key(7)]).unwrap();
        assert!(!auth.verify(b""));
        assert!(!auth.verify(&[b'A'; CREDENTIAL_LEN]));
        assert!(!auth.verify(&[b'!'; CREDENTIAL_LEN]));
        assert!(!auth.verify(format!("{}A", auth.credential()).as_bytes()));
        assert!(!auth.verify(&auth.credential().as_bytes()[..CREDENTIAL_LEN - 1]));
        assert!(BrokerAuth::from_key_texts::<String>(&[]).is_err());
        let err = BrokerAuth::from_key_texts(&["c2hvcnQ="]).unwrap_err();
        assert!(err.contains("32 bytes") && !err.contains("c2hvcnQ"), "{err}");
        assert!(!format!("{auth:?}").contains(auth.credential()));
    }
}
