//! Native tests of the filter's decisions, through the same entry points Envoy calls: one file
//! per behaviour under `stream_tests/`, what they share in `stream_tests/support.rs`. The same
//! tests run compiled to wasm under wasm-bindgen-test (each file imports its `test` attribute).

mod support;

mod bad_input;
mod broker_routing;
mod configuration;
mod dns_rebinding;
mod facts;
mod routing;
mod server_request_ids;
mod session_tokens;
mod standard_headers;

// Issue 14 (2026-07-28 results).
mod stateless_results;
mod task_routing;

// Issue 10 (security).
mod bounds;
mod broker_credential;
mod duplicate_headers;
mod id_less_requests;
mod reserved_headers;
mod response_ids;
mod revoked_sessions;
mod trailers;

// Issue 16 (governance).
mod scopes;
mod confirmation;

// Issue 12 (scale).
mod backend_restart;
mod lazy_sessions;

// Issue 16 (governance).
mod tool_hints;
