//! Fuzzes the filter's request path: parser, 2026-07-28 header checks, router and body
//! rewrite, through the same Stream entry points Envoy calls.
//!
//! Input: the first byte picks header variants (protocol version, Mcp-Method/Mcp-Name
//! taken from the body's first line, a session token), the rest is the body.
//! Invariants checked beyond "does not panic": a forwarded request has a body that is valid
//! JSON with a matching content-length; a local reply is a valid JSON-RPC error.
#![no_main]

use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use mcpgw_filter::plugin::Plugin;
use mcpgw_filter::recording_host::{drive, RecordingHost, RecordingRoot};

const CONFIG: &[u8] = br#"{"broker":{"authority":"broker.mcp.internal"},
    "servers":[{"name":"alpha","prefix":"a_","authority":"alpha.mcp.internal"},
               {"name":"alphabet","prefix":"a_b_","authority":"ab.mcp.internal"},
               {"name":"plain","prefix":"","authority":"plain.mcp.internal"}],
    "session":{"keys":["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]},
    "max_body_bytes": 65536}"#;

thread_local! {
    // One plugin per fuzzing thread, as Envoy has one per worker VM.
    static PLUGIN: Option<Rc<Plugin>> = Some(Rc::new(Plugin::configure(&mut RecordingRoot::default(), CONFIG).expect("fuzz config is valid")));
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let Some(plugin) = PLUGIN.with(Clone::clone) else { return };
    let first_line = body.split(|b| *b == b'\n').next().unwrap_or_default();
    let first_line = String::from_utf8_lossy(first_line).into_owned();
    let len = body.len().to_string();
    let mut headers: Vec<(&str, &str)> = vec![(":method", "POST"), (":path", "/mcp"), ("content-length", &len)];
    if selector & 1 != 0 {
        headers.push(("mcp-protocol-version", "2026-07-28"));
    }
    if selector & 2 != 0 {
        headers.push(("mcp-method", &first_line));
    }
    if selector & 4 != 0 {
        headers.push(("mcp-name", &first_line));
    }
    if selector & 8 != 0 {
        headers.push(("mcp-session-id", &first_line));
    }
    if selector & 16 != 0 {
        headers.push(("x-mcp-toolname", "spoofed"));
    }
    let mut host = RecordingHost::request(&headers, body);
    drive(&plugin, &mut host);

    assert!(host.header("x-mcp-toolname") != Some("spoofed"), "spoofed header survived");
    match &host.local_reply {
        Some((_, reply)) => {
            let v: serde_json::Value = serde_json::from_slice(reply).expect("local reply is JSON");
            assert!(v["error"]["code"].is_i64(), "local reply is a JSON-RPC error");
        }
        None if body.is_empty() => {}
        None => {
            // Forwarded: the (possibly rewritten) body is still one valid JSON value.
            serde_json::from_slice::<serde::de::IgnoredAny>(&host.body).expect("forwarded body is JSON");
            let cl = host.header("content-length").and_then(|v| v.parse::<usize>().ok());
            assert_eq!(cl, Some(host.body.len()), "content-length matches the forwarded body");
        }
    }
});
