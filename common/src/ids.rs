//! Ids of server-to-client requests, as the client sees them.
//!
//! A backend that asks the client something (`elicitation/create`, `sampling/createMessage`,
//! `roots/list`, …) picks the request id itself, so two backends can pick the same one. The
//! gateway rewrites such an id to the string `"<server>:<original id as JSON>"` (e.g.
//! `"alpha:7"`, `"beta:\"req-1\""`) on its way to the client, whether it travelled on the GET
//! notification stream (broker) or on a tool call's SSE response (filter), and undoes it when
//! the client POSTs its response, which then goes to the server that asked, with the id it
//! used. Server names cannot contain `:`, so the first `:` always ends the name.

/// The start of the ids of the requests the gateway itself sends a client (the broker's
/// confirmation `elicitation/create`): `"mcpgw-confirm-<random hex>"`. No `:`, so never a
/// namespaced backend id: the client's answer is decided the broker's (`protocol::decide`),
/// and the filter leaves such an id as it is on a stream it namespaces (`sse_ids`).
pub const GATEWAY_REQUEST_ID_PREFIX: &str = "mcpgw-confirm-";

/// Whether `raw_id` (a request id's JSON text) is one the gateway itself minted: a JSON string
/// `"mcpgw-confirm-…"` of hex digits.
pub fn is_gateway_request_id(raw_id: &str) -> bool {
    raw_id
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .and_then(|s| s.strip_prefix(GATEWAY_REQUEST_ID_PREFIX))
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The id the client sees for request `raw_id` (its JSON text) of `server`.
pub fn map_server_request_id(server: &str, raw_id: &str) -> String {
    let mut s = String::with_capacity(server.len() + 1 + raw_id.len());
    s.push_str(server);
    s.push(':');
    s.push_str(raw_id);
    s
}

/// Splits a mapped id (the decoded string) into the server and the original id's JSON text.
/// `None` when it is not one of ours: then the id is passed on as it is.
///
/// The original id is spliced into the body sent to the backend as raw JSON, so it must be
/// exactly one JSON number or string ([`is_json_id`]): `alpha:01`, `alpha:1.`, `alpha:-.5`,
/// `alpha:+1`, `alpha:0x1` or `alpha:NaN` were never minted by the gateway and are not ours.
pub fn unmap_server_request_id(mapped: &str) -> Option<(&str, &str)> {
    let (server, raw) = mapped.split_once(':')?;
    (!server.is_empty() && is_json_id(raw)).then_some((server, raw))
}

/// Whether a client's response id names server `server` (a configured one, `is_server`) in
/// the gateway's form but cannot be one the gateway minted (`"alpha:01"`): such an answer
/// goes nowhere and is refused, rather than relayed to every backend of the session as is.
pub fn is_malformed_mapped_id(mapped: &str, is_server: impl Fn(&str) -> bool) -> bool {
    mapped.split_once(':').is_some_and(|(server, raw)| is_server(server) && !is_json_id(raw))
}

/// Whether `raw` is, exactly and alone, a JSON-RPC id that can be spliced into a JSON body: a
/// JSON string literal, or a JSON number in RFC 8259 grammar
/// (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, no whitespace around it) whose
/// value fits a double (`1e999` is grammatical, but no client could match it).
pub fn is_json_id(raw: &str) -> bool {
    match raw.as_bytes().first() {
        Some(b'"') => raw.len() >= 2 && raw.ends_with('"') && serde_json::from_str::<&serde_json::value::RawValue>(raw).is_ok(),
        Some(b'-' | b'0'..=b'9') => is_json_number(raw) && raw.parse::<f64>().is_ok_and(f64::is_finite),
        _ => false,
    }
}

/// Whether `text` matches RFC 8259's `number` production exactly.
pub fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let at = |i: usize| bytes.get(i).copied();
    let digits = |mut i: usize| {
        while matches!(at(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        i
    };
    if at(i) == Some(b'-') {
        i += 1;
    }
    match at(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i + 1),
        _ => return false,
    }
    if at(i) == Some(b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return false;
        }
        i = end;
    }
    if matches!(at(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(at(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return false;
        }
        i = end;
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn round_trip_numbers_and_strings() {
        for raw in ["7", "-1", "\"req-1\"", "\"a:b\""] {
            let m = map_server_request_id("alpha", raw);
            assert_eq!(unmap_server_request_id(&m), Some(("alpha", raw)));
        }
        assert_eq!(map_server_request_id("alpha", "7"), "alpha:7");
    }

    #[test]
    fn gateway_request_ids_are_told_apart() {
        assert!(is_gateway_request_id("\"mcpgw-confirm-0a1b\""));
        for raw in ["\"mcpgw-confirm-\"", "\"mcpgw-confirm-xyz\"", "\"alpha:\\\"mcpgw-confirm-0a\\\"\"", "7", "\"mcpgw-confirm-0a"] {
            assert!(!is_gateway_request_id(raw), "{raw}");
        }
        // Never a namespaced backend id.
        assert_eq!(unmap_server_request_id("mcpgw-confirm-0a1b"), None);
    }

    #[test]
    fn foreign_ids_are_not_ours() {
        for id in ["7", "abc", ":7", "alpha:", "alpha:abc", "alpha:{}", "alpha:1e999"] {
            assert_eq!(unmap_server_request_id(id), None, "{id}");
        }
    }

    #[test]
    fn ids_that_are_not_one_json_value_are_not_ours() {
        // Each of these would be spliced into the backend's body as invalid JSON.
        for id in [
            "alpha:01", "alpha:1.", "alpha:-.5", "alpha:.5", "alpha:1e", "alpha:1e+", "alpha:+1", "alpha:0x1", "alpha:NaN",
            "alpha:-", "alpha:1 ", "alpha: 1", "alpha:1,2", "alpha:-01", "alpha:1.e5", "alpha:Infinity", "alpha:\"a\" ",
            "alpha:\"a\"b", "alpha:\"a", "alpha:\"", "alpha:\"a\\\"", "alpha:\"a\",\"b\"", "alpha:\"\\x\"",
        ] {
            assert_eq!(unmap_server_request_id(id), None, "{id}");
        }
        for id in ["alpha:0", "alpha:-0", "alpha:10", "alpha:1.5", "alpha:-0.25e-3", "alpha:2E+10", "alpha:\"\"", "alpha:\"a\\\"b\""] {
            assert!(unmap_server_request_id(id).is_some(), "{id}");
            let (_, raw) = unmap_server_request_id(id).unwrap();
            assert!(serde_json::from_str::<serde_json::Value>(raw).is_ok(), "{id}");
        }
    }
}
