//! Fuzzes the filter's request-header path: header names (any case, the reserved `x-mcp-` and
//! `x-envoy-` families, look-alikes), duplicated MCP headers, huge values and names in the
//! body, trailers while the body is awaited, session tokens and revocation.
//!
//! Input: a flags byte, then header lines up to a blank line, then the body. A header line
//! whose first byte is below 0x20 takes its name from a dictionary of interesting names
//! (the byte picks it) and the rest of the line as its value; any other line is
//! `name:value`. Flags: 1 adds `:method: POST` and `:path: /mcp`; 2 delivers the body in two
//! pieces with trailers in between; 4 repeats the last header's value to 64 KiB; 8 repeats
//! the body's first string to 8 KiB (a huge tool name or URI); 16 sends a DELETE first with
//! the same session header.
//!
//! Invariants beyond "does not panic": no client-sent `x-mcp-*` or `x-envoy-*` header
//! survives; a request with a duplicated MCP header on the MCP endpoint is refused with 400;
//! no header the filter writes is longer than a bounded name or URI allows; a local reply is
//! a JSON-RPC error; a forwarded body is JSON with a matching content-length; trailers while
//! the body is awaited never leave the request forwarded.
#![no_main]

use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use mcpgw_common::{broker_auth, limits};
use mcpgw_filter::metadata::TRUSTED_HEADERS;
use mcpgw_filter::plugin::Plugin;
use mcpgw_filter::recording_host::{drive, RecordingHost, RecordingRoot};
use mcpgw_filter::stream::{Action, Stream};

const CONFIG: &[u8] = br#"{"broker":{"authority":"broker.mcp.internal"},
    "servers":[{"name":"alpha","prefix":"a_","authority":"alpha.mcp.internal"},
               {"name":"plain","prefix":"","authority":"plain.mcp.internal","sessionless":true}],
    "session":{"keys":["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]},
    "max_body_bytes": 65536}"#;

const NAMES: &[&str] = &[
    ":method", ":path", ":authority", "content-length", "mcp-session-id", "MCP-Session-Id", "mcp-protocol-version",
    "Mcp-Protocol-Version", "mcp-method", "MCP-METHOD", "mcp-name", "Mcp-Name", "x-mcp-toolname", "X-MCP-Servername",
    "x-mcp-", "x-mcp-gateway-auth", "x-envoy-original-path", "X-Envoy-Retry-On", "x-envoy-", "x_mcp_toolname",
    "x-mcpx", "mcp-param-a", "origin", "host",
];

thread_local! {
    static PLUGIN: Option<Rc<Plugin>> = Plugin::configure(&mut RecordingRoot::default(), CONFIG).ok().map(Rc::new);
}

/// The longest header value a bounded name or URI (base64-wrapped when not plain ASCII) can
/// produce, with room for the other values the filter writes.
const MAX_WRITTEN: usize = 4 * limits::MAX_URI_BYTES / 3 + 64;

fn is_reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("x-mcp-") || lower.starts_with("x-envoy-")
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let Some(plugin) = PLUGIN.with(Clone::clone) else { return };
    let credential = plugin.config.broker_credential.clone();
    let split = rest.windows(2).position(|w| w == b"\n\n").unwrap_or(rest.len());
    let (head, body) = rest.split_at(split);
    let mut body = body.get(2..).unwrap_or_default().to_vec();

    let mut headers: Vec<(String, String)> = Vec::new();
    if flags & 1 != 0 {
        headers.push((":method".into(), "POST".into()));
        headers.push((":path".into(), "/mcp".into()));
    }
    for line in head.split(|b| *b == b'\n') {
        let (name, value) = match line.split_first() {
            Some((&b, value)) if b < 0x20 => (NAMES[usize::from(b) % NAMES.len()].to_string(), value),
            Some(_) => match line.iter().position(|b| *b == b':' ) {
                Some(0) | None => continue,
                Some(i) => (String::from_utf8_lossy(&line[..i]).into_owned(), &line[i + 1..]),
            },
            None => continue,
        };
        headers.push((name, String::from_utf8_lossy(value).into_owned()));
    }
    if flags & 4 != 0 {
        if let Some((_, v)) = headers.last_mut() {
            if !v.is_empty() {
                *v = v.repeat(65536 / v.len() + 1);
            }
        }
    }
    if flags & 8 != 0 {
        // Stretch the body's first JSON string: a huge name or URI.
        if let Some(start) = body.iter().position(|b| *b == b'"') {
            if let Some(len) = body[start + 1..].iter().position(|b| *b == b'"' || *b == b'\\') {
                let piece = body[start + 1..start + 1 + len].to_vec();
                if !piece.is_empty() {
                    let long = piece.repeat(8192 / piece.len() + 1);
                    body.splice(start + 1..start + 1 + len, long);
                }
            }
        }
    }
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let client_reserved: Vec<(String, String)> = headers.iter().filter(|(k, _)| is_reserved(k)).cloned().collect();
    let duplicated = limits::duplicated_mcp_header(pairs.iter().copied()).is_some();
    let last = |n: &str| headers.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let is_post = last(":method").as_deref() == Some("POST");
    let length_was_right = last("content-length").and_then(|v| v.trim().parse::<usize>().ok()) == Some(body.len());
    let on_mcp_path = headers.iter().rev().find(|(k, _)| k == ":path").is_some_and(|(_, v)| v.split('?').next() == Some("/mcp"));

    let mut host = RecordingHost::request(&pairs, &body);
    if flags & 16 != 0 {
        if let Some((_, session)) = headers.iter().find(|(k, _)| k == "mcp-session-id") {
            let mut delete = RecordingHost::request(&[(":method", "DELETE"), (":path", "/mcp"), ("mcp-session-id", session)], b"");
            delete.shared = Rc::clone(&host.shared);
            drive(&plugin, &mut delete);
        }
    }
    let mut trailers_awaited = false;
    if flags & 2 != 0 {
        let mut stream = Stream::new(Rc::clone(&plugin));
        if stream.on_request_headers(&mut host, false) == Action::Pause && host.local_reply.is_none() {
            let half = body.len() / 2;
            stream.on_request_body(&mut host, half, false);
            trailers_awaited = host.local_reply.is_none();
            stream.on_request_trailers(&mut host);
        }
    } else {
        drive(&plugin, &mut host);
    }

    for (name, value) in &host.headers {
        if is_reserved(name) {
            // Only the filter's own facts (whose values a client may happen to guess) remain.
            assert!(TRUSTED_HEADERS.contains(&name.as_str()) || name == broker_auth::HEADER, "client's {name} survived");
            assert!(value.len() <= MAX_WRITTEN, "{name}: {} bytes written", value.len());
            if name == broker_auth::HEADER {
                assert_eq!(value, &credential, "a client's credential survived");
                assert_eq!(host.header(":authority"), Some("broker.mcp.internal"), "credential sent off the broker route");
            }
        }
    }
    assert!(client_reserved.len() <= headers.len());
    if duplicated && on_mcp_path {
        assert_eq!(host.local_reply.as_ref().map(|r| r.0), Some(400), "duplicated MCP header not refused");
    }
    if trailers_awaited {
        assert_eq!(host.local_reply.as_ref().map(|r| r.0), Some(400), "trailers while the body was awaited");
    }
    match &host.local_reply {
        Some((_, reply)) => {
            let v: serde_json::Value = serde_json::from_slice(reply).expect("local reply is JSON");
            assert!(v["error"]["code"].is_i64(), "local reply is a JSON-RPC error");
        }
        None if on_mcp_path && is_post && !body.is_empty() && host.header(":authority").is_some_and(|a| a.ends_with(".mcp.internal")) => {
            serde_json::from_slice::<serde::de::IgnoredAny>(&host.body).expect("forwarded body is JSON");
            if length_was_right {
                let cl = host.header("content-length").and_then(|v| v.trim().parse::<usize>().ok());
                assert_eq!(cl, Some(host.body.len()), "content-length matches the forwarded body");
            }
        }
        None => {}
    }
});
