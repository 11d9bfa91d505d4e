//! What the stream tests share: one gateway configuration (alpha with backend sessions, beta
//! sessionless, one broker), plugins built from it, requests on a proxy that already learnt the
//! test session's backend sessions, and that session's tokens. The imports every test file
//! needs are re-exported here, so a test file starts with `use super::support::*;`.

pub(super) use std::rc::Rc;

use mcpgw_common::session::SessionClaims;
pub(super) use mcpgw_common::test_fixtures::{self, KEY_BASE64};
pub(super) use serde_json::{json, Value};

pub(super) use crate::plugin::Plugin;
pub(super) use crate::recording_host::{drive, RecordingHost, RecordingRoot};
pub(super) use crate::stream::{Action, Stream};

fn config(extra: Value) -> Value {
    let mut base = json!({
        "broker": {"authority": "broker.mcp.internal"},
        "servers": [
            {"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal", "path": "/a/mcp"},
            {"name": "beta", "prefix": "beta_", "authority": "beta.mcp.internal", "sessionless": true}
        ],
        "session": {"keys": [KEY_BASE64]},
        "max_body_bytes": 2048
    });
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// A plugin configured with the test configuration, `extra` replacing its top-level fields.
pub(super) fn plugin_with(extra: Value) -> (Rc<Plugin>, RecordingRoot) {
    let mut root = RecordingRoot::default();
    let p = Plugin::configure(&mut root, config(extra).to_string().as_bytes()).expect("config");
    (Rc::new(p), root)
}

pub(super) fn plugin() -> Rc<Plugin> {
    plugin_with(json!({})).0
}

/// A POST of `body` to the MCP endpoint, on a proxy that learnt [`SESSION`]'s backend sessions.
pub(super) fn post(body: &str, extra_headers: &[(&str, &str)]) -> RecordingHost {
    let len = body.len().to_string();
    let mut headers = vec![
        (":method", "POST"),
        (":path", "/mcp"),
        (":authority", "gateway.example"),
        ("content-type", "application/json"),
        ("content-length", len.as_str()),
    ];
    headers.extend_from_slice(extra_headers);
    with_learned(RecordingHost::request(&headers, body.as_bytes()), SESSION)
}

/// The id of `token()`'s session.
pub(super) const SESSION: &str = "00aa11bb22cc33dd";

/// `h` on a proxy whose shared data holds the backend sessions the broker opened for
/// `session` on its first calls (alpha issued "alpha-session-1", beta issues none), as the
/// filter learnt them from the broker's answers. Reads made here are not counted.
pub(super) fn with_learned(mut h: RecordingHost, session: &str) -> RecordingHost {
    crate::revocation::learn(&mut h, session, "alpha", "alpha-session-1", 5_000, 0);
    crate::revocation::learn(&mut h, session, "beta", "", 5_000, 0);
    h.shared_reads.set(0);
    h
}

/// A `tools/call` of the exposed tool `name`, with arguments that must reach it unchanged.
pub(super) fn call(name: &str) -> String {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":{"name":"keep me","x":[1,2,3]}}}).to_string()
}

/// A 2026-07-28 `tools/call`: its `_meta` carries the protocol version and capabilities.
pub(super) fn stateless_call(name: &str) -> String {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":{"x":1},
        "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})
    .to_string()
}

pub(super) fn token(subject: Option<&str>, expires_at: u64) -> String {
    token_of_client(subject, expires_at, true)
}

/// A token whose client did (`true`) or did not declare capabilities at initialize.
pub(super) fn token_of_client(subject: Option<&str>, expires_at: u64, accepts_server_requests: bool) -> String {
    let claims = SessionClaims {
        expires_at,
        subject: subject.map(str::to_string),
        accepts_server_requests,
        ..test_fixtures::claims(SESSION)
    };
    test_fixtures::mint(&claims).unwrap()
}

/// A token like `token()`'s for another session.
pub(super) fn token_of(session: &str) -> String {
    test_fixtures::mint(&test_fixtures::claims(session)).unwrap()
}

/// The body as forwarded.
pub(super) fn body_json(h: &RecordingHost) -> Value {
    serde_json::from_slice(&h.body).unwrap()
}
