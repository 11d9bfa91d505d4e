//! Ids of server-to-client requests, as the client sees them.
//!
//! A backend that asks the client something (`elicitation/create`, `sampling/createMessage`,
//! `roots/list`, …) picks the request id itself, so two backends can pick the same one. The
//! gateway rewrites such an id to the string `"<server>:<original id as JSON>"` (e.g.
//! `"alpha:7"`, `"beta:\"req-1\""`) on its way to the client, whether it travelled on the GET
//! notification stream (broker) or on a tool call's SSE response (filter), and undoes it when
//! the client POSTs its response, which then goes to the server that asked, with the id it
//! used. Server names cannot contain `:`, so the first `:` always ends the name.

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
pub fn unmap_server_request_id(mapped: &str) -> Option<(&str, &str)> {
    let (server, raw) = mapped.split_once(':')?;
    let raw_ok = match raw.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(raw).is_ok(),
        Some(b'-' | b'0'..=b'9') => raw.parse::<f64>().is_ok_and(f64::is_finite),
        _ => false,
    };
    (!server.is_empty() && raw_ok).then_some((server, raw))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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
    fn foreign_ids_are_not_ours() {
        for id in ["7", "abc", ":7", "alpha:", "alpha:abc", "alpha:{}", "alpha:1e999"] {
            assert_eq!(unmap_server_request_id(id), None, "{id}");
        }
    }
}
