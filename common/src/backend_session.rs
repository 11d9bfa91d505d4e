//! The one header that carries backend session ids between the filter and the broker
//! (issue 12, "sessions cost what they use"): `x-mcp-backend-session`.
//!
//! Backend sessions are opened on a gateway session's first use of a server, by the broker.
//! - **Broker → filter** (response): when the broker relays a call of session `S` to server
//!   `X`, its answer carries `x-mcp-backend-session: <X> <backend session id>`. The filter
//!   removes it (no client ever sees a backend session id) and keeps `(S, X) → id` in Envoy's
//!   shared data, so the session's later calls to `X` go straight to the backend.
//! - **Filter → broker** (request): a session-bearing request the filter sends to the broker
//!   carries the pairs this Envoy learnt for the session, `<X> <id>, <Y> <id>`, so that a
//!   broker that restarted (or another broker replica) uses the same backend sessions for
//!   the session's GET stream, notifications and `DELETE` instead of opening new ones.
//!
//! The header is in the `x-mcp-` family: the filter removes any client-sent copy from every
//! request, and the broker's MCP endpoint answers only requests carrying the broker
//! credential, so only the filter and the broker ever write it. It crosses only the
//! Envoy↔broker hop.
//!
//! Encoding: each part (server name, id) as it is when made of `A-Za-z0-9-_.` (server names
//! always are; backend ids usually are: UUIDs, hex), else `~` and the hex of its bytes (an
//! empty id, for a backend that issues none, is `~`). Parts are separated by one space,
//! pairs by `,`. Nothing a backend sends can break the format.

use std::borrow::Cow;

/// The header's name (lower case, as Envoy hands headers over).
pub const HEADER: &str = "x-mcp-backend-session";

/// At most this many pairs are read from one header (the broker's configured servers are
/// fewer; anything beyond is ignored).
pub const MAX_PAIRS: usize = 256;

/// One part, as it travels (and as the filter stores it in shared data).
pub fn encode_part(part: &str) -> Cow<'_, str> {
    if !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Cow::Borrowed(part);
    }
    let mut out = String::with_capacity(1 + 2 * part.len());
    out.push('~');
    for b in part.bytes() {
        for nibble in [b >> 4, b & 0xf] {
            out.push(char::from(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    Cow::Owned(out)
}

const HEX: [u8; 16] = *b"0123456789abcdef";

/// Undoes [`encode_part`]; `None` for a part it cannot have produced.
pub fn decode_part(part: &[u8]) -> Option<String> {
    let Some(hex) = part.strip_prefix(b"~") else {
        let plain = !part.is_empty() && part.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        return if plain { String::from_utf8(part.to_vec()).ok() } else { None };
    };
    if hex.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let bytes: Option<Vec<u8>> = hex.chunks(2).map(|p| Some(nibble(*p.first()?)? << 4 | nibble(*p.get(1)?)?)).collect();
    String::from_utf8(bytes?).ok()
}

/// `<server> <id>`.
pub fn encode_pair(server: &str, session_id: &str) -> String {
    format!("{} {}", encode_part(server), encode_part(session_id))
}

/// The pairs of a header value, at most [`MAX_PAIRS`]; malformed pairs are skipped.
pub fn decode(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .filter_map(|pair| {
            let (server, id) = pair.trim().split_once(' ')?;
            Some((decode_part(server.as_bytes())?, decode_part(id.as_bytes())?))
        })
        .take(MAX_PAIRS)
        .collect()
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    #[test]
    fn pairs_round_trip_whatever_the_backend_sent() {
        for id in ["5f0c3f3e-8a3b-4d7e-9c1a-0b6a2d9e4f11", "", "a b,c", "~", "é\n", "x"] {
            let v = format!("{}, {}", encode_pair("alpha", id), encode_pair("beta.2", "b-1"));
            assert_eq!(decode(&v), vec![("alpha".into(), id.into()), ("beta.2".into(), "b-1".into())], "{id:?}");
        }
        assert_eq!(encode_part(""), "~");
        assert_eq!(encode_part("abc-1_2.3"), "abc-1_2.3");
    }

    #[test]
    fn garbage_is_skipped() {
        assert!(decode("").is_empty());
        assert!(decode("alpha").is_empty());
        assert!(decode("alpha ~4").is_empty());
        assert!(decode("alpha ~zz").is_empty());
        assert!(decode("al/pha x").is_empty());
        assert_eq!(decode("alpha x, junk").len(), 1);
        assert_eq!(decode(&"a b,".repeat(1000)).len(), MAX_PAIRS);
    }
}
