//! Our own declarations of the Envoy dynamic-module ABI: the HTTP-filter callbacks this module
//! calls, and the types they take. Written from the documentation in Envoy's
//! `source/extensions/dynamic_modules/abi/abi.h` (the stored version we could read says ABI
//! "v0.1.0"; the pinned Envoy 1.40 binary says "v0.2.0"), no SDK code, no bindgen.
//!
//! Checked against the binary: every callback here is exported by it (`nm -D`; the e2e test
//! `test_native_module.py` checks it on every run), and the argument registers of each (x86_64
//! SysV: count, 16-byte structs in two registers or on the stack, bool/u32 widths) were read by
//! disassembly and match the declarations. What each callback does, as tested with a probe
//! module (body buffering, pseudo-headers, lifetimes, filter state, metadata): `ABI_NOTES.md`.
//!
//! Only what is declared *and called* is linked: rustc links cdylibs with `-z now`, so a callback
//! missing from Envoy fails the load; declarations nobody calls leave no undefined symbol. The
//! hooks (the other direction) are in `hooks.rs`.

use core::ffi::{c_char, c_void};

// =================================================================================================
// 1. Types
// =================================================================================================

// ------------------------------------ Opaque pointers ------------------------------------------
// The header uses `void*` for *_envoy_ptr and `const void*` for *_module_ptr. The two are
// ABI-identical; all of them are `*mut c_void` here, so a module can `Box::from_raw` without casts.

/// `envoy_dynamic_module_type_abi_version_module_ptr` (`const char*`): a NUL-terminated ABI version
/// string. "OWNERSHIP: Module owns the pointer. The string must remain valid until the end of
/// envoy_dynamic_module_on_program_init function." (Use a `'static` C string.)
pub type AbiVersionModulePtr = *const c_char;

/// `envoy_dynamic_module_type_http_filter_config_envoy_ptr` (`void*`): the
/// DynamicModuleHttpFilterConfig in Envoy, passed to on_http_filter_config_new. "OWNERSHIP: Envoy
/// owns the pointer." 1:1 with the module's config pointer.
pub type HttpFilterConfigEnvoyPtr = *mut c_void;

/// `envoy_dynamic_module_type_http_filter_config_module_ptr` (`const void*`): the module's config.
/// "OWNERSHIP: The module is responsible for managing the lifetime of the pointer. The pointer can be
/// released when envoy_dynamic_module_on_http_filter_config_destroy is called for the same pointer."
pub type HttpFilterConfigModulePtr = *mut c_void;

/// `envoy_dynamic_module_type_http_filter_per_route_config_module_ptr` (`const void*`): the module's
/// per-route config. The module owns it and can release it in on_http_filter_per_route_config_destroy.
pub type HttpFilterPerRouteConfigModulePtr = *mut c_void;

/// `envoy_dynamic_module_type_http_filter_envoy_ptr` (`void*`): the DynamicModuleHttpFilter (one per
/// stream). "OWNERSHIP: Envoy owns the pointer, and can be accessed by the module until the filter is
/// destroyed, i.e. envoy_dynamic_module_on_http_filter_destroy is called."
pub type HttpFilterEnvoyPtr = *mut c_void;

/// `envoy_dynamic_module_type_http_filter_module_ptr` (`const void*`): the module's per-stream filter.
/// "OWNERSHIP: The module is responsible for managing the lifetime of the pointer. The pointer can be
/// released when envoy_dynamic_module_on_http_filter_destroy is called for the same pointer."
pub type HttpFilterModulePtr = *mut c_void;



// ---------------------------------------- Buffers ----------------------------------------------

/// `envoy_dynamic_module_type_envoy_buffer` {ptr, length}: "a buffer owned by Envoy ... to give the
/// direct access to the buffer in Envoy." The lifetime is set by each callback or hook (usually:
/// until the end of the current hook, unless a setter is called). Not NUL-terminated. It may be
/// null when length is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EnvoyBuffer {
    pub ptr: *const c_char,
    pub length: usize,
}

/// `envoy_dynamic_module_type_module_buffer` {ptr, length}: "a buffer owned by the module". Envoy
/// only reads or copies it during the call. A null ptr with length 0 means an absent or empty value.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ModuleBuffer {
    pub ptr: *const c_char,
    pub length: usize,
}

/// `envoy_dynamic_module_type_module_http_header`: "a key-value pair of an HTTP header owned by the
/// module" (used by send_response etc., and read during the call).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ModuleHttpHeader {
    pub key_ptr: *const c_char,
    pub key_length: usize,
    pub value_ptr: *const c_char,
    pub value_length: usize,
}

/// `envoy_dynamic_module_type_envoy_http_header`: "a key-value pair of an HTTP header owned by Envoy's
/// HeaderMap". Filled in by http_get_headers, and valid until the end of the current hook unless a
/// header setter is called.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EnvoyHttpHeader {
    pub key_ptr: *const c_char,
    pub key_length: usize,
    pub value_ptr: *const c_char,
    pub value_length: usize,
}

/// `envoy_dynamic_module_type_module_key_value_pair`: "a string key-value pair owned by the module".
/// Used by http_set_dynamic_metadata_string_batch. (The stored header already has it, and the binary
/// has the batch callback. Its register use matches: ns in 2 regs, entries ptr, entries_size.)
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ModuleKeyValuePair {
    pub key_ptr: *const c_char,
    pub key_length: usize,
    pub value_ptr: *const c_char,
    pub value_length: usize,
}

// ----------------------------------------- Enums -----------------------------------------------
// C enums are 32-bit on x86_64/aarch64 SysV. They are kept as `u32` aliases with constants, not
// Rust enums, so that a value from Envoy outside the known set is never undefined behaviour.

/// `envoy_dynamic_module_type_http_header_type`: which header map a header callback works on.
pub type HttpHeaderType = u32;
pub mod http_header_type {
    pub const REQUEST_HEADER: super::HttpHeaderType = 0;
    pub const REQUEST_TRAILER: super::HttpHeaderType = 1;
    pub const RESPONSE_HEADER: super::HttpHeaderType = 2;
    pub const RESPONSE_TRAILER: super::HttpHeaderType = 3;
}

/// `envoy_dynamic_module_type_log_level` (mirrors base_logger.h levels). The log is written under
/// the `dynamic_modules` logger id.
pub type LogLevel = u32;
pub mod log_level {
    pub const TRACE: super::LogLevel = 0;
    pub const DEBUG: super::LogLevel = 1;
    pub const INFO: super::LogLevel = 2;
    pub const WARN: super::LogLevel = 3;
    pub const ERROR: super::LogLevel = 4;
    pub const CRITICAL: super::LogLevel = 5;
    pub const OFF: super::LogLevel = 6;
}

/// `envoy_dynamic_module_type_http_body_type`: which body the body callbacks work on. "Received" is
/// the chunk that triggered the current on_http_filter_{request,response}_body hook, and only exists
/// during that hook. "Buffered" is what has been buffered so far (by this filter or an earlier one),
/// and is "always available" (it may be absent if nothing was ever buffered).
pub type HttpBodyType = u32;
pub mod http_body_type {
    pub const RECEIVED_REQUEST_BODY: super::HttpBodyType = 0;
    pub const BUFFERED_REQUEST_BODY: super::HttpBodyType = 1;
    pub const RECEIVED_RESPONSE_BODY: super::HttpBodyType = 2;
    pub const BUFFERED_RESPONSE_BODY: super::HttpBodyType = 3;
}

/// `envoy_dynamic_module_type_on_http_filter_request_headers_status` (= Envoy `FilterHeadersStatus`,
/// static_cast by Envoy).
pub type OnHttpFilterRequestHeadersStatus = u32;
/// `envoy_dynamic_module_type_on_http_filter_response_headers_status` (same values).
pub type OnHttpFilterResponseHeadersStatus = u32;
pub mod headers_status {
    pub const CONTINUE: u32 = 0;
    pub const STOP_ITERATION: u32 = 1;
    pub const CONTINUE_AND_DONT_END_STREAM: u32 = 2;
    pub const STOP_ALL_ITERATION_AND_BUFFER: u32 = 3;
    pub const STOP_ALL_ITERATION_AND_WATERMARK: u32 = 4;
}

/// `envoy_dynamic_module_type_on_http_filter_request_body_status` (= Envoy `FilterDataStatus`).
pub type OnHttpFilterRequestBodyStatus = u32;
/// `envoy_dynamic_module_type_on_http_filter_response_body_status` (same values).
pub type OnHttpFilterResponseBodyStatus = u32;
pub mod body_status {
    pub const CONTINUE: u32 = 0;
    pub const STOP_ITERATION_AND_BUFFER: u32 = 1;
    pub const STOP_ITERATION_AND_WATERMARK: u32 = 2;
    pub const STOP_ITERATION_NO_BUFFER: u32 = 3;
}

/// `envoy_dynamic_module_type_on_http_filter_request_trailers_status` (= `FilterTrailersStatus`).
pub type OnHttpFilterRequestTrailersStatus = u32;
/// `envoy_dynamic_module_type_on_http_filter_response_trailers_status` (same values).
pub type OnHttpFilterResponseTrailersStatus = u32;
pub mod trailers_status {
    pub const CONTINUE: u32 = 0;
    pub const STOP_ITERATION: u32 = 1;
}

/// `envoy_dynamic_module_type_on_http_filter_local_reply_status` (= Envoy `LocalErrorStatus`).
pub type OnHttpFilterLocalReplyStatus = u32;
pub mod local_reply_status {
    /// "Continue sending the local reply after onLocalReply has been sent to all filters."
    pub const CONTINUE: super::OnHttpFilterLocalReplyStatus = 0;
    /// "reset the stream once all filters have been informed rather than sending the local reply."
    pub const CONTINUE_AND_RESET_STREAM: super::OnHttpFilterLocalReplyStatus = 1;
}

/// `envoy_dynamic_module_type_metrics_result`.
pub type MetricsResult = u32;
pub mod metrics_result {
    pub const SUCCESS: super::MetricsResult = 0;
    /// "usually an indication that a handle was improperly initialized or stored".
    pub const METRIC_NOT_FOUND: super::MetricsResult = 1;
    pub const INVALID_LABELS: super::MetricsResult = 2;
    /// "a metric was attempted to be created when the stats creation is frozen" (i.e. after
    /// on_http_filter_config_new returned).
    pub const FROZEN: super::MetricsResult = 3;
}



/// `envoy_dynamic_module_type_http_callout_result`. Needed by the (required) callout_done hook.
pub type HttpCalloutResult = u32;
pub mod http_callout_result {
    pub const SUCCESS: super::HttpCalloutResult = 0;
    pub const RESET: super::HttpCalloutResult = 1;
    pub const EXCEED_RESPONSE_BUFFER_LIMIT: super::HttpCalloutResult = 2;
}

/// `envoy_dynamic_module_type_http_stream_reset_reason`. Needed by the (required) http_stream_reset
/// hook.
pub type HttpStreamResetReason = u32;
pub mod http_stream_reset_reason {
    pub const CONNECTION_FAILURE: super::HttpStreamResetReason = 0;
    pub const CONNECTION_TERMINATION: super::HttpStreamResetReason = 1;
    pub const LOCAL_RESET: super::HttpStreamResetReason = 2;
    pub const LOCAL_REFUSED_STREAM_RESET: super::HttpStreamResetReason = 3;
    pub const OVERFLOW: super::HttpStreamResetReason = 4;
    pub const REMOTE_RESET: super::HttpStreamResetReason = 5;
    pub const REMOTE_REFUSED_STREAM_RESET: super::HttpStreamResetReason = 6;
    pub const PROTOCOL_ERROR: super::HttpStreamResetReason = 7;
}

// =================================================================================================
// 2. Callbacks (implemented by Envoy, called by the module)
// =================================================================================================

unsafe extern "C" {
    /// `void envoy_dynamic_module_callback_log(log_level level, module_buffer message)`.
    /// Logs under the `[dynamic_modules]` logger id. The message is read during the call only.
    /// (In the 1.40 binary this is the "deprecated" variant that reports an empty source location.)
    pub fn envoy_dynamic_module_callback_log(level: LogLevel, message: ModuleBuffer);

    /// `bool envoy_dynamic_module_callback_http_get_header(filter_envoy_ptr, header_type,
    ///     module_buffer key, envoy_buffer* result_buffer, size_t index, size_t* optional_size)`.
    /// Gets value #`index` of `key` (Envoy lower-cases the key). `optional_size` (nullable) receives
    /// the number of values. It returns false, with a null/0 result, if the map is absent or the index
    /// is out of range. "The buffer ... is owned by Envoy, and they are guaranteed to be valid until
    /// the end of the current event hook unless the setter callback is called." Pseudo headers
    /// (":path", ":method", ":authority", ":scheme", ":status") are ordinary keys here.
    pub fn envoy_dynamic_module_callback_http_get_header(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HttpHeaderType,
        key: ModuleBuffer,
        result_buffer: *mut EnvoyBuffer,
        index: usize,
        optional_size: *mut usize,
    ) -> bool;

    /// `size_t envoy_dynamic_module_callback_http_get_headers_size(filter_envoy_ptr, header_type)`:
    /// the number of header entries (pseudo headers included). "0 if there are no headers or headers
    /// could not be retrieved."
    pub fn envoy_dynamic_module_callback_http_get_headers_size(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HttpHeaderType,
    ) -> usize;

    /// `bool envoy_dynamic_module_callback_http_get_headers(filter_envoy_ptr, header_type,
    ///     envoy_http_header* result_headers)`. The module provides an array of at least
    /// get_headers_size() entries. "The lifetime of the buffer of key and value of each header is
    /// guaranteed until the end of the current event hook unless the setter callback are called."
    pub fn envoy_dynamic_module_callback_http_get_headers(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HttpHeaderType,
        result_headers: *mut EnvoyHttpHeader,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_set_header(filter_envoy_ptr, header_type,
    ///     module_buffer key, module_buffer value)`: replaces all values of `key` with `value`.
    /// "When the given value is null, the header will be removed if the key exists." Both buffers are
    /// copied.
    pub fn envoy_dynamic_module_callback_http_set_header(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HttpHeaderType,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    /// `size_t envoy_dynamic_module_callback_http_get_body_size(filter_envoy_ptr, body_type)`:
    /// total bytes. "0 if the body is not available or empty."
    pub fn envoy_dynamic_module_callback_http_get_body_size(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        body_type: HttpBodyType,
    ) -> usize;

    /// `size_t envoy_dynamic_module_callback_http_get_body_chunks_size(filter_envoy_ptr, body_type)`:
    /// the number of slices. "0 if the body is not available or empty."
    pub fn envoy_dynamic_module_callback_http_get_body_chunks_size(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        body_type: HttpBodyType,
    ) -> usize;

    /// `bool envoy_dynamic_module_callback_http_get_body_chunks(filter_envoy_ptr, body_type,
    ///     envoy_buffer* result_buffer_vector)`. The module provides >= get_body_chunks_size()
    /// entries. "The lifetime of the buffer is guaranteed until the end of the current event hook
    /// unless the setter callback is called." It returns false if that body is not available.
    pub fn envoy_dynamic_module_callback_http_get_body_chunks(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        body_type: HttpBodyType,
        result_buffer_vector: *mut EnvoyBuffer,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_append_body(filter_envoy_ptr, body_type,
    ///     module_buffer data)`: appends a copy of `data`. "true if the body is available".
    pub fn envoy_dynamic_module_callback_http_append_body(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        body_type: HttpBodyType,
        data: ModuleBuffer,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_drain_body(filter_envoy_ptr, body_type,
    ///     size_t number_of_bytes)`: drains from the front (min(n, size)). "true if the body is
    /// available".
    pub fn envoy_dynamic_module_callback_http_drain_body(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        body_type: HttpBodyType,
        number_of_bytes: usize,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_received_buffered_request_body(filter_envoy_ptr)`:
    /// "true if the latest received request body is the previously buffered request body". That
    /// happens when an earlier filter buffered the body and then resumed. In that case Received and
    /// Buffered are the same buffer, so read only one of them.
    pub fn envoy_dynamic_module_callback_http_received_buffered_request_body(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
    ) -> bool;

    /// Response-side twin of received_buffered_request_body.
    pub fn envoy_dynamic_module_callback_http_received_buffered_response_body(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
    ) -> bool;

    /// `void envoy_dynamic_module_callback_http_send_response(filter_envoy_ptr, uint32_t
    ///     status_code, module_http_header* headers_vector, size_t headers_vector_size,
    ///     module_buffer body, module_buffer details)`: a local reply (Envoy sendLocalReply).
    /// Headers, body and details are module-owned and copied during the call. `details` is the
    /// optional response-code-details string (null/0 is allowed). The headers pointer may be null when
    /// the size is 0. (Disassembly: esi = status, rdx/rcx = headers and count, r8/r9 = body,
    /// details on the stack.)
    pub fn envoy_dynamic_module_callback_http_send_response(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        status_code: u32,
        headers_vector: *mut ModuleHttpHeader,
        headers_vector_size: usize,
        body: ModuleBuffer,
        details: ModuleBuffer,
    );

    /// `void envoy_dynamic_module_callback_http_clear_route_cache(filter_envoy_ptr)`: re-run route
    /// matching after changing headers. "This will be a no-op when it's called in the wrong phase."
    pub fn envoy_dynamic_module_callback_http_clear_route_cache(filter_envoy_ptr: HttpFilterEnvoyPtr);

    /// `bool envoy_dynamic_module_callback_http_set_filter_state_bytes(filter_envoy_ptr,
    ///     module_buffer key, module_buffer value)`. Stores a copy of `value` as a
    /// Router::StringAccessor under `key` in the stream's FilterState. "If the filter state is not
    /// accessible, this returns false." "this could fail if the same key already exists and be marked
    /// as read-only". The 1.40 binary stores it as StateType::ReadOnly with LifeSpan::FilterChain
    /// (disassembly: both enum args are 0), so set each key at most once per stream.
    pub fn envoy_dynamic_module_callback_http_set_filter_state_bytes(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    /// `void envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch(filter_envoy_ptr,
    ///     module_buffer ns, const module_key_value_pair* entries, size_t entries_size)`. Same as N
    /// string sets, with one namespace merge. "a later entry overwrites an earlier entry with the same
    /// key. An empty array is a no-op and does not create the namespace." entries may be null only if
    /// entries_size == 0.
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        ns: ModuleBuffer,
        entries: *const ModuleKeyValuePair,
        entries_size: usize,
    );

    /// `metrics_result envoy_dynamic_module_callback_http_filter_config_define_counter(
    ///     filter_config_envoy_ptr, module_buffer name, module_buffer* label_names,
    ///     size_t label_names_length, size_t* counter_id_ptr)`. label_names may be null when the
    /// length is 0. The counter is created under `<metrics_namespace>.<name>` (default namespace
    /// "dynamicmodulescustom").
    pub fn envoy_dynamic_module_callback_http_filter_config_define_counter(
        filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
        name: ModuleBuffer,
        label_names: *mut ModuleBuffer,
        label_names_length: usize,
        counter_id_ptr: *mut usize,
    ) -> MetricsResult;

    /// `metrics_result envoy_dynamic_module_callback_http_filter_increment_counter(
    ///     filter_envoy_ptr, size_t id, module_buffer* label_values, size_t label_values_length,
    ///     uint64_t value)`: per-stream variant. "THE LENGTH MUST MATCH THE LABEL NAMES DEFINED DURING
    /// COUNTER DEFINITION."
    pub fn envoy_dynamic_module_callback_http_filter_increment_counter(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> MetricsResult;
}

// =================================================================================================
// 3. Event hooks: implemented and exported in `hooks.rs` (all 31 the 1.40 binary resolves; 20 are
//    required, see ABI_NOTES.md). Their signatures are written there, from the same header.
// =================================================================================================
