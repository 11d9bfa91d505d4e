//! A configuration the filter cannot serve is refused at load, with a reason an operator can act
//! on, rather than met request by request.

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::support::*;

#[test]
fn invalid_configs_fail_with_a_reason() {
    let mut root = RecordingRoot::default();
    let err = Plugin::configure(&mut root, br#"{"broker":{"authority":"b"},"servers":[],"session":{"keys":[]}}"#).unwrap_err();
    assert!(err.contains("server"), "{err}");
    assert!(Plugin::configure(&mut root, b"\xff").is_err());
}
