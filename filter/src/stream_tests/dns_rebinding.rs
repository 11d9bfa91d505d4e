//! DNS rebinding: with `allowed_hosts` / `allowed_origins` configured, a request for another
//! host or from another origin is refused (HTTP 403); one without an Origin is a non-browser
//! client and passes.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn dns_rebinding_host_and_origin_checks() {
    let (p, _) = plugin_with(json!({"allowed_hosts": ["localhost", "127.0.0.1"], "allowed_origins": ["localhost", "127.0.0.1"]}));
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let mut evil = post(init, &[("origin", "http://evil.example.com")]);
    evil.set_request_header_for_test(":authority", "evil.example.com");
    drive(&p, &mut evil);
    assert_eq!(evil.local_reply.as_ref().map(|r| r.0), Some(403));
    let mut bad_origin = post(init, &[("origin", "http://evil.example.com")]);
    bad_origin.set_request_header_for_test(":authority", "localhost:8080");
    drive(&p, &mut bad_origin);
    assert_eq!(bad_origin.local_reply.as_ref().map(|r| r.0), Some(403));
    let mut good = post(init, &[("origin", "http://localhost:8080")]);
    good.set_request_header_for_test(":authority", "localhost:8080");
    drive(&p, &mut good);
    assert!(good.local_reply.is_none());
    let mut no_origin = post(init, &[]);
    no_origin.set_request_header_for_test(":authority", "127.0.0.1:8080");
    drive(&p, &mut no_origin);
    assert!(no_origin.local_reply.is_none());
}
