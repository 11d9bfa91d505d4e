//! The event hooks Envoy 1.40 resolves in an HTTP-filter module (every one of them must be
//! exported, or the module does not load), each a thin adapter onto the filter logic.
//!
//! **No panic crosses into Envoy.** Every hook runs its body under `catch_unwind` ([`guard`]);
//! the module is built with unwinding for that (`profile.native`, Cargo.toml). A stream whose
//! hook panicked fails closed: it is answered with a JSON-RPC internal error (HTTP 500) if
//! Envoy can still answer it, never forwarded, and every later hook of it does nothing. The
//! panic hook ([`crate::log`]) writes what happened to Envoy's log. Envoy, its other streams
//! and the other streams of the same worker go on (`tests/e2e/test_native_module.py`).
//!
//! Filters served (`filter_name` in Envoy's `DynamicModuleFilter`):
//! - `mcp_gateway`: the MCP gateway filter (`mcpgw_filter::stream`), configured with the
//!   same JSON as the wasm build (common/src/config.rs);
//! - `body_floor`: buffers a request body to its end and clears the route cache, nothing
//!   else: the floor under any body-reading module, for the load benchmark (benches/README.md);
//! - `panic_probe` (feature `panic-probe` only, a test build): panics in its request-headers
//!   hook when the request has a `panic-probe` header, and passes every other request.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use mcpgw_filter::stream::{Action, Stream};

use crate::abi::{
    body_status, headers_status, local_reply_status, trailers_status, EnvoyBuffer, EnvoyHttpHeader, HttpCalloutResult,
    HttpFilterConfigEnvoyPtr, HttpFilterConfigModulePtr, HttpFilterEnvoyPtr, HttpFilterModulePtr, HttpFilterPerRouteConfigModulePtr,
    HttpStreamResetReason,
};
use crate::envoy::{EnvoyConfig, EnvoyStream};
use crate::plugins::Shared;

/// The ABI version this module is written against (Envoy 1.40's).
const ABI_VERSION: &std::ffi::CStr = c"v0.2.0";

/// The JSON-RPC error message for a stream whose hook panicked.
const PANIC_MESSAGE: &str = "internal error in the MCP gateway filter";

enum Config {
    Gateway(Shared),
    Floor,
    #[cfg(feature = "panic-probe")]
    PanicProbe,
}

// Allocated once per stream inside its `Filter` box; the small variants are the exceptions.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Gateway(Stream),
    Floor,
    #[cfg(feature = "panic-probe")]
    PanicProbe,
}

struct Filter {
    kind: Kind,
    /// A hook of this stream panicked: it was answered (or reset) and is left alone.
    poisoned: bool,
}

/// Runs `f`, turning a panic into `fallback`.
fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Runs a stream hook: a panic poisons the stream and answers it with an error.
///
/// # Safety
/// `module` is a pointer this module returned from `on_http_filter_new` and Envoy has not
/// destroyed; `envoy` is its live stream.
unsafe fn stream_hook(envoy: HttpFilterEnvoyPtr, module: HttpFilterModulePtr, idle: u32, stop: u32, f: impl FnOnce(&mut Kind, &mut EnvoyStream) -> u32) -> u32 {
    if module.is_null() {
        return idle;
    }
    // SAFETY: see above; Envoy calls a stream's hooks on its one worker thread, one at a time.
    let filter = unsafe { &mut *module.cast::<Filter>() };
    if filter.poisoned {
        return idle;
    }
    let mut host = EnvoyStream::new(envoy);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let status = f(&mut filter.kind, &mut host);
        host.finish();
        status
    }));
    match result {
        Ok(status) => status,
        Err(_) => {
            filter.poisoned = true;
            let _ = catch_unwind(AssertUnwindSafe(|| {
                let mut host = EnvoyStream::new(envoy);
                let body = mcpgw_common::jsonrpc::error_body(None, mcpgw_common::jsonrpc::INTERNAL_ERROR, PANIC_MESSAGE);
                mcpgw_filter::host::Host::send_response(&mut host, 500, &[("content-type", "application/json")], &body);
            }));
            stop
        }
    }
}

/// The one panic on purpose: the `panic_probe` filter exists to show that it is caught.
#[cfg(feature = "panic-probe")]
#[allow(clippy::panic)]
fn probe_panic() -> ! {
    panic!("panic_probe: a panic in on_request_headers, as asked");
}

/// A body hook of the gateway filter: the logic sees the body's size so far (buffered and at
/// hand); a pause buffers (or, after a local reply, holds without buffering).
fn body_hook(host: &mut EnvoyStream, response: bool, on_body: impl FnOnce(&mut EnvoyStream, usize) -> Action) -> u32 {
    let size = host.body_size(response);
    match on_body(host, size) {
        Action::Continue => body_status::CONTINUE,
        Action::Pause => host.body_pause_status(),
    }
}

fn headers_status_of(action: Action) -> u32 {
    match action {
        Action::Continue => headers_status::CONTINUE,
        Action::Pause => headers_status::STOP_ITERATION,
    }
}

// ---- module and configuration -------------------------------------------------------------

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_program_init() -> *const std::ffi::c_char {
    guard((), crate::log::install_panic_hook);
    ABI_VERSION.as_ptr()
}

/// # Safety
/// Called by Envoy on its main thread with a name and configuration valid for the call.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
    config_envoy: HttpFilterConfigEnvoyPtr,
    name: EnvoyBuffer,
    config: EnvoyBuffer,
) -> HttpFilterConfigModulePtr {
    guard(ptr::null_mut(), || {
        // SAFETY: Envoy-owned buffers valid for this hook.
        let (name, config) = unsafe { (crate::envoy::bytes_of(&name), crate::envoy::bytes_of(&config)) };
        let made = match name {
            b"mcp_gateway" => Shared::configure(&mut EnvoyConfig { ptr: config_envoy }, config).map(Config::Gateway),
            b"body_floor" => Ok(Config::Floor),
            #[cfg(feature = "panic-probe")]
            b"panic_probe" => Ok(Config::PanicProbe),
            other => Err(format!("unknown filter_name {:?} (this module serves mcp_gateway and body_floor)", String::from_utf8_lossy(other))),
        };
        match made {
            Ok(c) => Box::into_raw(Box::new(c)).cast::<c_void>(),
            Err(e) => {
                // Envoy rejects the configuration: no unfiltered traffic.
                crate::log::log(crate::abi::log_level::CRITICAL, &format!("mcp_gateway: configuration rejected: {e}"));
                ptr::null_mut()
            }
        }
    })
}

/// # Safety
/// `config` is a pointer `on_http_filter_config_new` returned, destroyed once.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(config: HttpFilterConfigModulePtr) {
    if !config.is_null() {
        // SAFETY: see above.
        guard((), || drop(unsafe { Box::from_raw(config.cast::<Config>()) }));
    }
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_new(_name: EnvoyBuffer, _config: EnvoyBuffer) -> HttpFilterPerRouteConfigModulePtr {
    // No per-route configuration: one configured on a route is refused.
    ptr::null_mut()
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_destroy(_config: HttpFilterPerRouteConfigModulePtr) {}

// ---- streams ------------------------------------------------------------------------------

/// # Safety
/// `config` is a live pointer `on_http_filter_config_new` returned.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_new(config: HttpFilterConfigModulePtr, _envoy: HttpFilterEnvoyPtr) -> HttpFilterModulePtr {
    if config.is_null() {
        return ptr::null_mut();
    }
    guard(ptr::null_mut(), || {
        // SAFETY: see above; a configuration is only read here.
        let config = unsafe { &*config.cast::<Config>() };
        let kind = match config {
            Config::Gateway(shared) => match shared.plugin() {
                Ok(plugin) => Kind::Gateway(Stream::new(plugin)),
                Err(e) => {
                    crate::log::warn(&format!("mcp_gateway: {e}"));
                    // Envoy closes a stream it gets no filter for.
                    return ptr::null_mut();
                }
            },
            Config::Floor => Kind::Floor,
            #[cfg(feature = "panic-probe")]
            Config::PanicProbe => Kind::PanicProbe,
        };
        Box::into_raw(Box::new(Filter { kind, poisoned: false })).cast::<c_void>()
    })
}

/// # Safety
/// `module` is a pointer `on_http_filter_new` returned, destroyed once.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_destroy(module: HttpFilterModulePtr) {
    if !module.is_null() {
        // SAFETY: see above.
        guard((), || drop(unsafe { Box::from_raw(module.cast::<Filter>()) }));
    }
}

/// # Safety
/// Envoy's live stream and this module's filter for it.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(envoy: HttpFilterEnvoyPtr, module: HttpFilterModulePtr, end_of_stream: bool) -> u32 {
    // SAFETY: forwarded.
    unsafe {
        stream_hook(envoy, module, headers_status::CONTINUE, headers_status::STOP_ITERATION, |kind, host| match kind {
            Kind::Gateway(s) => headers_status_of(s.on_request_headers(host, end_of_stream)),
            Kind::Floor if end_of_stream => headers_status::CONTINUE,
            Kind::Floor => headers_status::STOP_ITERATION,
            #[cfg(feature = "panic-probe")]
            Kind::PanicProbe => {
                use mcpgw_filter::host::Host;
                if host.request_headers().iter().any(|(k, _)| k == "panic-probe") {
                    probe_panic();
                }
                headers_status::CONTINUE
            }
        })
    }
}

/// # Safety
/// Envoy's live stream and this module's filter for it.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_body(envoy: HttpFilterEnvoyPtr, module: HttpFilterModulePtr, end_of_stream: bool) -> u32 {
    // SAFETY: forwarded.
    unsafe {
        stream_hook(envoy, module, body_status::CONTINUE, body_status::STOP_ITERATION_NO_BUFFER, |kind, host| match kind {
            Kind::Gateway(s) => body_hook(host, false, |host, size| s.on_request_body(host, size, end_of_stream)),
            Kind::Floor if end_of_stream => {
                mcpgw_filter::host::Host::clear_route_cache(host);
                body_status::CONTINUE
            }
            Kind::Floor => body_status::STOP_ITERATION_AND_BUFFER,
            #[cfg(feature = "panic-probe")]
            Kind::PanicProbe => body_status::CONTINUE,
        })
    }
}

/// # Safety
/// Envoy's live stream and this module's filter for it.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(envoy: HttpFilterEnvoyPtr, module: HttpFilterModulePtr) -> u32 {
    // SAFETY: forwarded.
    unsafe {
        stream_hook(envoy, module, trailers_status::CONTINUE, trailers_status::STOP_ITERATION, |kind, host| match kind {
            Kind::Gateway(s) => match s.on_request_trailers(host) {
                Action::Continue => trailers_status::CONTINUE,
                Action::Pause => trailers_status::STOP_ITERATION,
            },
            _ => trailers_status::CONTINUE,
        })
    }
}

/// # Safety
/// Envoy's live stream and this module's filter for it.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(envoy: HttpFilterEnvoyPtr, module: HttpFilterModulePtr, end_of_stream: bool) -> u32 {
    // SAFETY: forwarded.
    unsafe {
        stream_hook(envoy, module, headers_status::CONTINUE, headers_status::STOP_ITERATION, |kind, host| match kind {
            Kind::Gateway(s) => match s.on_response_headers(host) {
                // Headers held for a body that will not come (the answer has none): nothing
                // to complete, and holding them would stall the stream.
                Action::Pause if end_of_stream && !host.answered => headers_status::CONTINUE,
                action => headers_status_of(action),
            },
            _ => headers_status::CONTINUE,
        })
    }
}

/// # Safety
/// Envoy's live stream and this module's filter for it.
#[no_mangle]
pub unsafe extern "C" fn envoy_dynamic_module_on_http_filter_response_body(envoy: HttpFilterEnvoyPtr, module: HttpFilterModulePtr, end_of_stream: bool) -> u32 {
    // SAFETY: forwarded.
    unsafe {
        stream_hook(envoy, module, body_status::CONTINUE, body_status::STOP_ITERATION_NO_BUFFER, |kind, host| match kind {
            Kind::Gateway(s) => body_hook(host, true, |host, size| s.on_response_body(host, size, end_of_stream)),
            _ => body_status::CONTINUE,
        })
    }
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(_envoy: HttpFilterEnvoyPtr, _module: HttpFilterModulePtr) -> u32 {
    trailers_status::CONTINUE
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(_envoy: HttpFilterEnvoyPtr, _module: HttpFilterModulePtr) {}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_local_reply(
    _envoy: HttpFilterEnvoyPtr,
    _module: HttpFilterModulePtr,
    _response_code: u32,
    _details: EnvoyBuffer,
    _reset_imminent: bool,
) -> u32 {
    local_reply_status::CONTINUE
}

// ---- hooks this filter has no use for (Envoy resolves them all) ----------------------------

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(_envoy: HttpFilterEnvoyPtr, _module: HttpFilterModulePtr, _event_id: u64) {}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_scheduled(_envoy: HttpFilterConfigEnvoyPtr, _config: HttpFilterConfigModulePtr, _event_id: u64) {}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
    _envoy: HttpFilterEnvoyPtr,
    _module: HttpFilterModulePtr,
    _callout_id: u64,
    _result: HttpCalloutResult,
    _headers: *mut EnvoyHttpHeader,
    _headers_size: usize,
    _body: *mut EnvoyBuffer,
    _body_size: usize,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
    _envoy: HttpFilterEnvoyPtr,
    _module: HttpFilterModulePtr,
    _stream_id: u64,
    _headers: *mut EnvoyHttpHeader,
    _headers_size: usize,
    _end_stream: bool,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
    _envoy: HttpFilterEnvoyPtr,
    _module: HttpFilterModulePtr,
    _stream_id: u64,
    _data: *const EnvoyBuffer,
    _data_count: usize,
    _end_stream: bool,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
    _envoy: HttpFilterEnvoyPtr,
    _module: HttpFilterModulePtr,
    _stream_id: u64,
    _trailers: *mut EnvoyHttpHeader,
    _trailers_size: usize,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(_envoy: HttpFilterEnvoyPtr, _module: HttpFilterModulePtr, _stream_id: u64) {}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
    _envoy: HttpFilterEnvoyPtr,
    _module: HttpFilterModulePtr,
    _stream_id: u64,
    _reason: HttpStreamResetReason,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_http_callout_done(
    _envoy: HttpFilterConfigEnvoyPtr,
    _config: HttpFilterConfigModulePtr,
    _callout_id: u64,
    _result: HttpCalloutResult,
    _headers: *mut EnvoyHttpHeader,
    _headers_size: usize,
    _body: *mut EnvoyBuffer,
    _body_size: usize,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_headers(
    _envoy: HttpFilterConfigEnvoyPtr,
    _config: HttpFilterConfigModulePtr,
    _stream_id: u64,
    _headers: *mut EnvoyHttpHeader,
    _headers_size: usize,
    _end_stream: bool,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_data(
    _envoy: HttpFilterConfigEnvoyPtr,
    _config: HttpFilterConfigModulePtr,
    _stream_id: u64,
    _data: *const EnvoyBuffer,
    _data_count: usize,
    _end_stream: bool,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_trailers(
    _envoy: HttpFilterConfigEnvoyPtr,
    _config: HttpFilterConfigModulePtr,
    _stream_id: u64,
    _trailers: *mut EnvoyHttpHeader,
    _trailers_size: usize,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_complete(_envoy: HttpFilterConfigEnvoyPtr, _config: HttpFilterConfigModulePtr, _stream_id: u64) {}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_reset(
    _envoy: HttpFilterConfigEnvoyPtr,
    _config: HttpFilterConfigModulePtr,
    _stream_id: u64,
    _reason: HttpStreamResetReason,
) {
}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(_envoy: HttpFilterEnvoyPtr, _module: HttpFilterModulePtr) {}

#[no_mangle]
pub extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(_envoy: HttpFilterEnvoyPtr, _module: HttpFilterModulePtr) {}
