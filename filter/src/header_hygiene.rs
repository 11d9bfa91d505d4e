//! Request headers no client may send: they are removed from every request, on the MCP
//! endpoint or not, before the filter decides anything (and so before it sets its own).
//!
//! - the whole `x-mcp-` family: the facts the filter publishes for policy (`x-mcp-method`,
//!   `x-mcp-servername`, …, [`crate::metadata`]), the broker credential
//!   (`mcpgw_common::broker_auth::HEADER`) and any name a policy author might later trust;
//! - Envoy's internal `x-envoy-` headers, e.g. `x-envoy-original-path`, which Envoy's access
//!   log prints as the request's path, or `x-envoy-retry-on` and `x-envoy-upstream-rq-timeout-ms`,
//!   which steer the router. Envoy itself drops them only from requests it considers
//!   external, and a client on loopback or an internal network is not.
//!
//! Names are compared ASCII-case-insensitively (Envoy hands them over lower-case). Spellings
//! with underscores (`x_mcp_toolname`) are Envoy's to refuse (`headers_with_underscores_action`
//! in the rendered config), as is `X-Forwarded-For` (`use_remote_address`).
//!
//! Cost: the check is a prefix comparison inside the one header loop; only a request that
//! carries such a header pays a header write (one per distinct name).

/// Whether a client-sent request header of this name must be removed.
pub fn is_reserved(name: &str) -> bool {
    has_prefix(name, b"x-mcp-") || has_prefix(name, b"x-envoy-")
}

fn has_prefix(name: &str, prefix: &[u8]) -> bool {
    name.as_bytes().get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn the_families_in_any_case_and_nothing_else() {
        for name in ["x-mcp-toolname", "x-mcp-server", "x-mcp-", "X-MCP-Foo", "x-mcp-gateway-auth", "x-envoy-original-path", "X-Envoy-Retry-On"] {
            assert!(is_reserved(name), "{name}");
        }
        for name in ["x-mcp", "x_mcp_toolname", "mcp-session-id", "x-mcpx", "x-envoy", "x-forwarded-for", "", "x"] {
            assert!(!is_reserved(name), "{name}");
        }
    }
}
