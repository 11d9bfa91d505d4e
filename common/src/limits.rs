//! Rules the filter and the broker apply to the same client input, so that a client gets the
//! same answer whichever part of the gateway reads its request first, and so that no input
//! is read one way by one and another way by the other.
//!
//! - **Duplicated MCP headers** ([`duplicated_mcp_header`]): a request with two
//!   `Mcp-Session-Id` (or `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) headers could be
//!   read as the first by one component and as the last by another (Envoy keeps both, the
//!   filter saw the last, the broker the first). Such a request is refused with HTTP 400 and
//!   JSON-RPC -32600 naming the header ([`duplicated_header_message`]), before anything else
//!   about it is decided.
//! - **Bounds on what becomes a header or a log field** ([`check_method`], [`check_name`],
//!   [`check_uri`]): the method, tool and prompt names and resource URIs a client sends end up
//!   in request headers (`x-mcp-*`, `Mcp-Name`), filter state and access-log lines. Unbounded,
//!   a 4 MB tool name becomes a 4 MB header to the backend. They are checked right after the
//!   body is parsed, before any header is written or the body is rewritten.
//!
//! - **Notifications are notifications** ([`check_notification`]): a message without an id
//!   must have a `notifications/…` method.
//!
//! Request ids are validated in [`crate::ids`].

use crate::headers::{METHOD, NAME, PROTOCOL_VERSION, SESSION_ID};

/// The MCP request headers that must appear at most once, lower-case as HTTP/2 and Envoy
/// write them.
pub const SINGLE_HEADERS: [&str; 4] = [SESSION_ID, PROTOCOL_VERSION, METHOD, NAME];

/// The first of [`SINGLE_HEADERS`] that appears more than once among `headers`
/// (`(name, value)` pairs; names compared case-insensitively, values ignored: two equal
/// values are refused too). `None` when every MCP header appears at most once.
///
/// The caller answers HTTP 400 with JSON-RPC -32600 and [`duplicated_header_message`].
/// A header sent once with a comma in its value is not a duplicate (it is one odd value).
pub fn duplicated_mcp_header<I, K, V>(headers: I) -> Option<&'static str>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
{
    let mut seen = 0u8;
    for (name, _) in headers {
        let name = name.as_ref();
        // Cheap pre-filter: every MCP header name starts with "mcp-".
        if !name.as_bytes().get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"mcp-")) {
            continue;
        }
        for (i, known) in SINGLE_HEADERS.iter().enumerate() {
            if name.eq_ignore_ascii_case(known) {
                let bit = 1u8 << i;
                if seen & bit != 0 {
                    return Some(known);
                }
                seen |= bit;
            }
        }
    }
    None
}

/// The JSON-RPC -32600 error message for a duplicated header (HTTP 400).
pub fn duplicated_header_message(header: &str) -> String {
    format!("Invalid Request: the {} header appears more than once; send it once", display_name(header))
}

/// How the MCP specification spells a header (for messages).
fn display_name(header: &str) -> &str {
    match header {
        SESSION_ID => "Mcp-Session-Id",
        PROTOCOL_VERSION => "MCP-Protocol-Version",
        METHOD => "Mcp-Method",
        NAME => "Mcp-Name",
        other => other,
    }
}

/// The longest tool or prompt name the gateway accepts, in characters, counted as the client
/// sees it (with the server's prefix): the MCP specification's bound for tool names (1–128
/// characters). Prompt names and completion references to prompts get the same bound.
/// Configured prefixes leave room for at least one character ([`crate::names`]), and the
/// broker does not list a name longer than this.
pub const MAX_NAME_CHARS: usize = 128;

/// The longest resource URI (or completion reference to a resource) the gateway accepts, in
/// bytes, as the client sees it (`<server>+<uri>`).
///
/// Why 2048: the URI becomes up to two request headers to the backend (`x-mcp-resourceuri`
/// and, for 2026-07-28 clients, `Mcp-Name`), base64-wrapped when it is not plain ASCII
/// (4/3 larger). At 2048 bytes that is at most ~5.5 KiB of headers, which fits the smallest
/// header budgets backends commonly have (Node.js: 16 KiB for all headers; nginx: 8 KiB per
/// header line) and keeps access-log lines readable; 2048 is also the de facto URL length
/// limit that URI-producing software (browsers, sitemaps, CDNs) already respects. Longer
/// identifiers belong in tool arguments, which the gateway does not copy into headers.
pub const MAX_URI_BYTES: usize = 2048;

/// The longest JSON-RPC method the gateway accepts, in bytes. MCP's methods are far shorter
/// (the longest, `notifications/resources/list_changed`, has 36); the method becomes the
/// `x-mcp-method` header, a filter state value and a counter lookup.
pub const MAX_METHOD_BYTES: usize = 128;

/// Longest backend session id the gateway keeps (filter shared data, broker memory). MCP
/// session ids are short (a UUID, a hash); a longer one is not learnt by the filter (the
/// session's calls to that server then keep going through the broker).
pub const MAX_BACKEND_SESSION_ID_BYTES: usize = 512;

/// Checks a JSON-RPC method against [`MAX_METHOD_BYTES`]. The error is the message of a
/// JSON-RPC -32600 (Invalid Request, HTTP 400). It never repeats the value.
pub fn check_method(method: &str) -> Result<(), String> {
    if method.len() <= MAX_METHOD_BYTES {
        return Ok(());
    }
    Err(format!("Invalid Request: the method is {} bytes long; the gateway accepts at most {MAX_METHOD_BYTES}", method.len()))
}

/// A message without an id is a notification, and MCP names every notification
/// `notifications/…`. A request method sent without an id (`{"method":"tools/call",…}`)
/// is neither: the filter does not route it (it has no id to answer), so it would travel as
/// a notification, relayed by the broker to every backend of the session past the routing
/// and the facts that policies rely on. It is refused with -32600 (HTTP 400).
pub fn check_notification(method: &str) -> Result<(), String> {
    if method.starts_with("notifications/") {
        return Ok(());
    }
    Err("Invalid Request: a message without an id must be a notification (notifications/…); requests need an id".into())
}

/// Checks a tool or prompt name (`what`: "tool name", "prompt name", …) against
/// [`MAX_NAME_CHARS`]. The error is the message of a JSON-RPC -32602 (Invalid params).
/// It never repeats the value.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name_fits(name) {
        return Ok(());
    }
    Err(format!(
        "Invalid params: the {what} is {} characters long; the gateway accepts at most {MAX_NAME_CHARS}",
        name.chars().count()
    ))
}

/// Whether `name` has at most [`MAX_NAME_CHARS`] characters (cheap for any length: a string
/// of more than four times that many bytes cannot fit, so it is never counted).
pub fn name_fits(name: &str) -> bool {
    name.len() <= MAX_NAME_CHARS || (name.len() <= 4 * MAX_NAME_CHARS && name.chars().count() <= MAX_NAME_CHARS)
}

/// Checks a resource URI (`what`: "resource URI", …) against [`MAX_URI_BYTES`]. The error is
/// the message of a JSON-RPC -32602 (Invalid params). It never repeats the value.
pub fn check_uri(what: &str, uri: &str) -> Result<(), String> {
    if uri.len() <= MAX_URI_BYTES {
        return Ok(());
    }
    Err(format!("Invalid params: the {what} is {} bytes long; the gateway accepts at most {MAX_URI_BYTES}", uri.len()))
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn duplicated_headers_are_found_in_any_case() {
        let once = [(":path", "/mcp"), ("mcp-session-id", "t"), ("Mcp-Method", "x"), ("mcp-name", "n"), ("mcp-protocol-version", "v")];
        assert_eq!(duplicated_mcp_header(once), None);
        for name in SINGLE_HEADERS {
            let upper = name.to_ascii_uppercase();
            let twice = vec![("host", "h"), (name, "a"), ("x-other", "b"), (upper.as_str(), "a")];
            assert_eq!(duplicated_mcp_header(twice), Some(name), "{name}");
        }
        // Unrelated repeated headers and look-alikes are not MCP headers.
        let other = [("mcp-param-a", "1"), ("mcp-param-a", "2"), ("mcp-session-idx", "1"), ("mcp-session-idx", "2"), ("m", "")];
        assert_eq!(duplicated_mcp_header(other), None);
        // Owned pairs, as a header map gives them.
        let owned: Vec<(String, String)> = vec![("mcp-session-id".into(), "a".into()), ("MCP-SESSION-ID".into(), "b".into())];
        assert_eq!(duplicated_mcp_header(owned.iter().map(|(k, v)| (k, v))), Some(SESSION_ID));
        assert!(duplicated_header_message(SESSION_ID).contains("Mcp-Session-Id"));
    }

    #[test]
    fn names_are_bounded_in_characters() {
        assert!(check_name("tool name", &"x".repeat(128)).is_ok());
        assert!(check_name("tool name", &"é".repeat(128)).is_ok(), "256 bytes, 128 characters");
        let long = "x".repeat(129);
        let err = check_name("tool name", &long).unwrap_err();
        assert!(err.contains("129") && err.contains("128") && !err.contains(&long), "{err}");
        assert!(check_name("tool name", &"é".repeat(129)).is_err());
        assert!(check_name("prompt name", &"x".repeat(4 << 20)).is_err());
    }

    #[test]
    fn uris_and_methods_are_bounded_in_bytes() {
        assert!(check_uri("resource URI", &format!("alpha+file:///{}", "a".repeat(2048 - 14))).is_ok());
        assert!(check_uri("resource URI", &format!("alpha+file:///{}", "a".repeat(2048 - 13))).is_err());
        assert!(check_method("tools/call").is_ok());
        assert!(check_method(&"m".repeat(129)).is_err());
    }

    #[test]
    fn only_notification_methods_go_without_an_id() {
        for ok in ["notifications/initialized", "notifications/cancelled", "notifications/roots/list_changed"] {
            assert!(check_notification(ok).is_ok(), "{ok}");
        }
        for bad in ["tools/call", "prompts/get", "resources/read", "initialize", "notification/x", "", "Notifications/x"] {
            assert!(check_notification(bad).is_err(), "{bad}");
        }
    }
}
