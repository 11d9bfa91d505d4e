//! Hand-written FFI declarations for the Envoy dynamic-module ABI (HTTP filter subset).
//!
//! Sources:
//!   * `source/extensions/dynamic_modules/abi/abi.h` in envoyproxy/envoy, stored version at commit
//!     0199da4a13cb999df12ad32db7d03942cfbf9abb. It says `ENVOY_DYNAMIC_MODULES_ABI_VERSION "v0.1.0"`.
//!   * The Envoy binary we run (`envoy --version`: 9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0,
//!     x86_64). It contains the string "v0.2.0", so its ABI is newer than the stored header.
//!
//! How this file was checked:
//!   * Every callback named in the `extern` block below is exported by the binary (`nm -D`).
//!   * Every callback in the header's common and HTTP-filter sections (112 names) is exported by the
//!     binary. The binary also exports 20 HTTP/common callbacks that the stored header does not
//!     have. They are listed under "BINARY-ONLY" at the end of this file.
//!   * Register use at the start of each function below (x86_64 SysV) was checked by disassembling
//!     the binary with `objdump -d`. The argument count, the place of each 16-byte struct argument
//!     (two registers, or the stack once registers run out), the bool/u32 widths and the double in
//!     xmm0 all match the header. That covers log, log_v2, get_header, get_header_values,
//!     get_headers(_size), set/add_header, get_body_size/chunks(_size), drain/append_body,
//!     send_response, set/get_filter_state_bytes, set_dynamic_metadata_{string,string_batch,number,
//!     bool}, config_define_counter, increment_counter, config_increment_counter,
//!     get_attribute_{string,int}, received_buffered_request_body, clear_route_cache,
//!     continue_decoding, has_filter_state.
//!   * The attribute-id numbers were checked the same way. get_attribute_int switches on ids 15..=42,
//!     which are exactly ResponseCode (15) .. UpstreamPort (42) in the numbering below.
//!
//! VERSION-SENSITIVE: the stored header is older than 1.40. Signatures that changed before that
//! header (for example name_ptr+len pairs replaced by `ModuleBuffer`) are the ones given here and
//! were confirmed against the binary. Hooks are only resolved by name with dlsym, so their
//! signatures cannot be checked from the binary. They are taken from the header alone.
//!
//! Linking note: rustc links cdylibs with `-z now` (full RELRO) by default. Every callback a module
//! actually references must therefore exist in the Envoy binary, or dlopen fails. Callbacks that are
//! declared here but never called produce no undefined symbol.
#![allow(dead_code)]

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

/// `envoy_dynamic_module_type_http_filter_scheduler_module_ptr` (`void*`). "The allocation is done by
/// Envoy but the module is responsible for managing the lifetime of the pointer": created by
/// http_filter_scheduler_new, and must be freed with http_filter_scheduler_delete.
pub type HttpFilterSchedulerModulePtr = *mut c_void;

/// `envoy_dynamic_module_type_http_filter_config_scheduler_module_ptr` (`void*`): like the filter
/// scheduler, but for the config (events run on the main thread). The module frees it with
/// http_filter_config_scheduler_delete.
pub type HttpFilterConfigSchedulerModulePtr = *mut c_void;

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

/// `envoy_dynamic_module_type_metadata_source`: where http_get_metadata_* reads from.
pub type MetadataSource = u32;
pub mod metadata_source {
    /// "stream's dynamic metadata" (this is what http_set_dynamic_metadata_* writes).
    pub const DYNAMIC: super::MetadataSource = 0;
    pub const ROUTE: super::MetadataSource = 1;
    pub const CLUSTER: super::MetadataSource = 2;
    /// "host (LbEndpoint in xDS) metadata".
    pub const HOST: super::MetadataSource = 3;
    /// "host locality (LocalityLbEndpoints in xDS) metadata".
    pub const HOST_LOCALITY: super::MetadataSource = 4;
}

/// `envoy_dynamic_module_type_attribute_id` (Envoy attributes, see arch_overview/advanced/attributes).
/// "Note: currently, not all attributes are implemented." Numbers 0..=42 were confirmed against the
/// binary (see the top of this file). The numbers after that come from the header's order only.
pub type AttributeId = u32;
pub mod attribute_id {
    type A = super::AttributeId;
    /// request.path (the `:path` value, query string included).
    pub const REQUEST_PATH: A = 0;
    /// request.url_path (path without the query).
    pub const REQUEST_URL_PATH: A = 1;
    /// request.host (`:authority`).
    pub const REQUEST_HOST: A = 2;
    pub const REQUEST_SCHEME: A = 3;
    /// request.method (`:method`).
    pub const REQUEST_METHOD: A = 4;
    pub const REQUEST_HEADERS: A = 5;
    pub const REQUEST_REFERER: A = 6;
    pub const REQUEST_USER_AGENT: A = 7;
    pub const REQUEST_TIME: A = 8;
    pub const REQUEST_ID: A = 9;
    pub const REQUEST_PROTOCOL: A = 10;
    pub const REQUEST_QUERY: A = 11;
    pub const REQUEST_DURATION: A = 12;
    pub const REQUEST_SIZE: A = 13;
    pub const REQUEST_TOTAL_SIZE: A = 14;
    pub const RESPONSE_CODE: A = 15;
    pub const RESPONSE_CODE_DETAILS: A = 16;
    pub const RESPONSE_FLAGS: A = 17;
    pub const RESPONSE_GRPC_STATUS: A = 18;
    pub const RESPONSE_HEADERS: A = 19;
    pub const RESPONSE_TRAILERS: A = 20;
    pub const RESPONSE_SIZE: A = 21;
    pub const RESPONSE_TOTAL_SIZE: A = 22;
    pub const RESPONSE_BACKEND_LATENCY: A = 23;
    pub const SOURCE_ADDRESS: A = 24;
    pub const SOURCE_PORT: A = 25;
    pub const DESTINATION_ADDRESS: A = 26;
    pub const DESTINATION_PORT: A = 27;
    pub const CONNECTION_ID: A = 28;
    pub const CONNECTION_MTLS: A = 29;
    pub const CONNECTION_REQUESTED_SERVER_NAME: A = 30;
    pub const CONNECTION_TLS_VERSION: A = 31;
    pub const CONNECTION_SUBJECT_LOCAL_CERTIFICATE: A = 32;
    pub const CONNECTION_SUBJECT_PEER_CERTIFICATE: A = 33;
    pub const CONNECTION_DNS_SAN_LOCAL_CERTIFICATE: A = 34;
    pub const CONNECTION_DNS_SAN_PEER_CERTIFICATE: A = 35;
    pub const CONNECTION_URI_SAN_LOCAL_CERTIFICATE: A = 36;
    pub const CONNECTION_URI_SAN_PEER_CERTIFICATE: A = 37;
    pub const CONNECTION_SHA256_PEER_CERTIFICATE_DIGEST: A = 38;
    pub const CONNECTION_TRANSPORT_FAILURE_REASON: A = 39;
    pub const CONNECTION_TERMINATION_DETAILS: A = 40;
    pub const UPSTREAM_ADDRESS: A = 41;
    pub const UPSTREAM_PORT: A = 42;
    pub const UPSTREAM_TLS_VERSION: A = 43;
    pub const UPSTREAM_SUBJECT_LOCAL_CERTIFICATE: A = 44;
    pub const UPSTREAM_SUBJECT_PEER_CERTIFICATE: A = 45;
    pub const UPSTREAM_DNS_SAN_LOCAL_CERTIFICATE: A = 46;
    pub const UPSTREAM_DNS_SAN_PEER_CERTIFICATE: A = 47;
    pub const UPSTREAM_URI_SAN_LOCAL_CERTIFICATE: A = 48;
    pub const UPSTREAM_URI_SAN_PEER_CERTIFICATE: A = 49;
    pub const UPSTREAM_SHA256_PEER_CERTIFICATE_DIGEST: A = 50;
    pub const UPSTREAM_LOCAL_ADDRESS: A = 51;
    pub const UPSTREAM_TRANSPORT_FAILURE_REASON: A = 52;
    pub const UPSTREAM_REQUEST_ATTEMPT_COUNT: A = 53;
    pub const UPSTREAM_CX_POOL_READY_DURATION: A = 54;
    pub const UPSTREAM_LOCALITY: A = 55;
    pub const XDS_NODE: A = 56;
    pub const XDS_CLUSTER_NAME: A = 57;
    pub const XDS_CLUSTER_METADATA: A = 58;
    pub const XDS_LISTENER_DIRECTION: A = 59;
    pub const XDS_LISTENER_METADATA: A = 60;
    pub const XDS_ROUTE_NAME: A = 61;
    pub const XDS_ROUTE_METADATA: A = 62;
    pub const XDS_VIRTUAL_HOST_NAME: A = 63;
    pub const XDS_VIRTUAL_HOST_METADATA: A = 64;
    pub const XDS_UPSTREAM_HOST_METADATA: A = 65;
    pub const XDS_FILTER_CHAIN_NAME: A = 66;
    /// health_check. This is the last value in the stored header. (An older stored header,
    /// fe169c6f..., ends at XdsFilterChainName.)
    pub const HEALTH_CHECK: A = 67;
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
    // ------------------------------------- Logging -------------------------------------------

    /// `void envoy_dynamic_module_callback_log(log_level level, module_buffer message)`.
    /// Logs under the `[dynamic_modules]` logger id. The message is read during the call only.
    /// (In the 1.40 binary this is the "deprecated" variant that reports an empty source location.)
    pub fn envoy_dynamic_module_callback_log(level: LogLevel, message: ModuleBuffer);

    /// `bool envoy_dynamic_module_callback_log_enabled(log_level level)`: "true if the log level is
    /// enabled" for the dynamic_modules id. Cheap, so use it to skip formatting.
    pub fn envoy_dynamic_module_callback_log_enabled(level: LogLevel) -> bool;

    /// BINARY-ONLY (not in the stored header). The signature was taken from Envoy's abi_impl.cc as
    /// found by the code search, and checked by disassembly (edi, rsi/rdx, rcx/r8, r9d):
    /// `void envoy_dynamic_module_callback_log_v2(log_level level, module_buffer message,
    ///     module_buffer source_file, uint32_t source_line)`. Envoy null-terminates source_file
    /// into its own thread-local buffer, so the module's buffer is only read during the call.
    pub fn envoy_dynamic_module_callback_log_v2(
        level: LogLevel,
        message: ModuleBuffer,
        source_file: ModuleBuffer,
        source_line: u32,
    );

    // ------------------------------------ Threading ------------------------------------------

    /// `uint32_t envoy_dynamic_module_callback_get_concurrency()`: the number of worker threads.
    /// "NOTE: This function must be called on the main thread." (for example in on_program_init or
    /// on_http_filter_config_new).
    pub fn envoy_dynamic_module_callback_get_concurrency() -> u32;

    /// `uint32_t envoy_dynamic_module_callback_http_filter_get_worker_index(filter_envoy_ptr)`:
    /// the worker index of the stream (0..concurrency). Useful for per-worker sharded state.
    pub fn envoy_dynamic_module_callback_http_filter_get_worker_index(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
    ) -> u32;

    // --------------------------------- Headers / trailers ------------------------------------

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

    /// `bool envoy_dynamic_module_callback_http_get_header_values(filter_envoy_ptr, header_type,
    ///     module_buffer key, envoy_buffer* result_buffer)`: all values of `key` at once.
    /// "PRECONDITION: The module must ensure that result_buffer has enough length to store all the
    /// values" (get the count from get_header's optional_size first). Same lifetime as get_header.
    pub fn envoy_dynamic_module_callback_http_get_header_values(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HttpHeaderType,
        key: ModuleBuffer,
        result_buffer: *mut EnvoyBuffer,
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

    /// `bool envoy_dynamic_module_callback_http_add_header(filter_envoy_ptr, header_type,
    ///     module_buffer key, module_buffer value)`: adds one more value for `key`. (The header
    /// comment was copied from set_header and says "all existing values will be removed". Going by
    /// the name and Envoy's usual addCopy, expect it to append. Check this with a test.)
    pub fn envoy_dynamic_module_callback_http_add_header(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        header_type: HttpHeaderType,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    // --------------------------------------- Body --------------------------------------------

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

    /// `uint64_t envoy_dynamic_module_callback_http_get_buffer_limit(filter_envoy_ptr)`: the current
    /// body buffer limit ("0 bytes indicates no limits").
    pub fn envoy_dynamic_module_callback_http_get_buffer_limit(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
    ) -> u64;

    /// `void envoy_dynamic_module_callback_http_set_buffer_limit(filter_envoy_ptr, uint64_t limit)`:
    /// raises (or lowers) the buffer limit. The header recommends only increasing it.
    pub fn envoy_dynamic_module_callback_http_set_buffer_limit(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        limit: u64,
    );

    // ---------------------------------- Local response ---------------------------------------

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

    /// `void envoy_dynamic_module_callback_http_send_response_headers(filter_envoy_ptr,
    ///     module_http_header* headers_vector, size_t headers_vector_size, bool end_stream)`:
    /// streaming local response, part 1. ":status" must be among the headers.
    pub fn envoy_dynamic_module_callback_http_send_response_headers(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        headers_vector: *mut ModuleHttpHeader,
        headers_vector_size: usize,
        end_stream: bool,
    );

    /// `void envoy_dynamic_module_callback_http_send_response_data(filter_envoy_ptr,
    ///     module_buffer data, bool end_stream)`.
    pub fn envoy_dynamic_module_callback_http_send_response_data(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        data: ModuleBuffer,
        end_stream: bool,
    );

    /// `void envoy_dynamic_module_callback_http_send_response_trailers(filter_envoy_ptr,
    ///     module_http_header* trailers_vector, size_t trailers_vector_size)`: ends the stream.
    pub fn envoy_dynamic_module_callback_http_send_response_trailers(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        trailers_vector: *mut ModuleHttpHeader,
        trailers_vector_size: usize,
    );

    // ---------------------------------- Stream control ---------------------------------------

    /// `void envoy_dynamic_module_callback_http_filter_continue_decoding(filter_envoy_ptr)`:
    /// "continue decoding the HTTP request". It resumes a request path that this filter paused with
    /// a Stop* status. Call it from a later, asynchronous hook (scheduled, callout_done, ...), not from
    /// the hook that is returning Stop*.
    pub fn envoy_dynamic_module_callback_http_filter_continue_decoding(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
    );

    /// `void envoy_dynamic_module_callback_http_filter_continue_encoding(filter_envoy_ptr)`:
    /// "continue encoding the HTTP response".
    pub fn envoy_dynamic_module_callback_http_filter_continue_encoding(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
    );

    /// `void envoy_dynamic_module_callback_http_clear_route_cache(filter_envoy_ptr)`: re-run route
    /// matching after changing headers. "This will be a no-op when it's called in the wrong phase."
    pub fn envoy_dynamic_module_callback_http_clear_route_cache(filter_envoy_ptr: HttpFilterEnvoyPtr);

    /// `void envoy_dynamic_module_callback_http_clear_route_cluster_cache(filter_envoy_ptr)`: clears
    /// only the cluster selection of the current route.
    pub fn envoy_dynamic_module_callback_http_clear_route_cluster_cache(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
    );

    // ------------------------------------ Filter state ---------------------------------------

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

    /// `bool envoy_dynamic_module_callback_http_get_filter_state_bytes(filter_envoy_ptr,
    ///     module_buffer key, envoy_buffer* result)`. Only works for StringAccessor objects ("the
    /// value is not bytes" gives false). "the buffer ... is owned by Envoy, and they are guaranteed to
    /// be valid until the end of the current event hook unless the setter callback is called."
    pub fn envoy_dynamic_module_callback_http_get_filter_state_bytes(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        key: ModuleBuffer,
        result: *mut EnvoyBuffer,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_set_filter_state_typed(filter_envoy_ptr,
    ///     module_buffer key, module_buffer value)`: builds the object through the ObjectFactory that
    /// is registered for `key` (createFromBytes). Use it when a built-in filter reads a typed object.
    pub fn envoy_dynamic_module_callback_http_set_filter_state_typed(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        key: ModuleBuffer,
        value: ModuleBuffer,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_get_filter_state_typed(filter_envoy_ptr,
    ///     module_buffer key, envoy_buffer* result)`: serializeAsString() of any filter-state object.
    /// Same lifetime as get_filter_state_bytes.
    pub fn envoy_dynamic_module_callback_http_get_filter_state_typed(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        key: ModuleBuffer,
        result: *mut EnvoyBuffer,
    ) -> bool;

    // ---------------------------------- Dynamic metadata -------------------------------------

    /// `void envoy_dynamic_module_callback_http_set_dynamic_metadata_string(filter_envoy_ptr,
    ///     module_buffer ns, module_buffer key, module_buffer value)`. "If the metadata is existing, it
    /// will be overwritten." It returns void and silently does nothing if stream info is unavailable.
    /// (Disassembly: ns and key in rsi..r8, value on the stack.)
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_string(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        ns: ModuleBuffer,
        key: ModuleBuffer,
        value: ModuleBuffer,
    );

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

    /// `void envoy_dynamic_module_callback_http_set_dynamic_metadata_number(filter_envoy_ptr,
    ///     module_buffer ns, module_buffer key, double value)`.
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_number(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        ns: ModuleBuffer,
        key: ModuleBuffer,
        value: f64,
    );

    /// `void envoy_dynamic_module_callback_http_set_dynamic_metadata_bool(filter_envoy_ptr,
    ///     module_buffer ns, module_buffer key, bool value)`.
    pub fn envoy_dynamic_module_callback_http_set_dynamic_metadata_bool(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        ns: ModuleBuffer,
        key: ModuleBuffer,
        value: bool,
    );

    /// `bool envoy_dynamic_module_callback_http_get_metadata_string(filter_envoy_ptr,
    ///     metadata_source, module_buffer ns, module_buffer key, envoy_buffer* result)`. It is false if
    /// the value is missing or not a string. Envoy-owned, valid "until the end of the current event
    /// hook unless the setter callback is called".
    pub fn envoy_dynamic_module_callback_http_get_metadata_string(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        metadata_source: MetadataSource,
        ns: ModuleBuffer,
        key: ModuleBuffer,
        result: *mut EnvoyBuffer,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_get_metadata_number(filter_envoy_ptr,
    ///     metadata_source, module_buffer ns, module_buffer key, double* result)`.
    pub fn envoy_dynamic_module_callback_http_get_metadata_number(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        metadata_source: MetadataSource,
        ns: ModuleBuffer,
        key: ModuleBuffer,
        result: *mut f64,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_get_metadata_bool(filter_envoy_ptr,
    ///     metadata_source, module_buffer ns, module_buffer key, bool* result)`.
    pub fn envoy_dynamic_module_callback_http_get_metadata_bool(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        metadata_source: MetadataSource,
        ns: ModuleBuffer,
        key: ModuleBuffer,
        result: *mut bool,
    ) -> bool;

    // ------------------------------------- Attributes ----------------------------------------

    /// `bool envoy_dynamic_module_callback_http_filter_get_attribute_string(filter_envoy_ptr,
    ///     attribute_id, envoy_buffer* result)`. Example: attribute_id::REQUEST_PATH gives the :path
    /// value. (Reading ":path" with http_get_header works just as well.) "not all attributes are
    /// implemented". The result is Envoy-owned and valid for the current hook.
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_string(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        attribute_id: AttributeId,
        result: *mut EnvoyBuffer,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_filter_get_attribute_int(filter_envoy_ptr,
    ///     attribute_id, uint64_t* result)` (e.g. RESPONSE_CODE, SOURCE_PORT, CONNECTION_ID).
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_int(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        attribute_id: AttributeId,
        result: *mut u64,
    ) -> bool;

    /// `bool envoy_dynamic_module_callback_http_filter_get_attribute_bool(filter_envoy_ptr,
    ///     attribute_id, bool* result)` (e.g. CONNECTION_MTLS).
    pub fn envoy_dynamic_module_callback_http_filter_get_attribute_bool(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        attribute_id: AttributeId,
        result: *mut bool,
    ) -> bool;

    // -------------------------------------- Metrics ------------------------------------------
    // Metric ids written by Envoy are opaque and 1-based (the binary treats id 0 as "not found").
    // Labelled and unlabelled metrics live in separate id spaces, chosen by label count. Define only
    // inside on_http_filter_config_new; later calls return metrics_result::FROZEN.

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

    /// `metrics_result envoy_dynamic_module_callback_http_filter_config_increment_counter(
    ///     filter_config_envoy_ptr, size_t id, module_buffer* label_values,
    ///     size_t label_values_length, uint64_t value)`: the config-level variant, which needs no
    /// stream (e.g. "from a scheduled background task").
    pub fn envoy_dynamic_module_callback_http_filter_config_increment_counter(
        filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> MetricsResult;

    /// `metrics_result envoy_dynamic_module_callback_http_filter_config_define_gauge(
    ///     filter_config_envoy_ptr, module_buffer name, module_buffer* label_names,
    ///     size_t label_names_length, size_t* gauge_id_ptr)`.
    pub fn envoy_dynamic_module_callback_http_filter_config_define_gauge(
        filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
        name: ModuleBuffer,
        label_names: *mut ModuleBuffer,
        label_names_length: usize,
        gauge_id_ptr: *mut usize,
    ) -> MetricsResult;

    /// `metrics_result envoy_dynamic_module_callback_http_filter_increment_gauge(filter_envoy_ptr,
    ///     size_t id, module_buffer* label_values, size_t label_values_length, uint64_t value)`.
    pub fn envoy_dynamic_module_callback_http_filter_increment_gauge(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> MetricsResult;

    /// `metrics_result envoy_dynamic_module_callback_http_filter_decrement_gauge(filter_envoy_ptr,
    ///     size_t id, module_buffer* label_values, size_t label_values_length, uint64_t value)`.
    pub fn envoy_dynamic_module_callback_http_filter_decrement_gauge(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> MetricsResult;

    /// `metrics_result envoy_dynamic_module_callback_http_filter_config_define_histogram(
    ///     filter_config_envoy_ptr, module_buffer name, module_buffer* label_names,
    ///     size_t label_names_length, size_t* histogram_id_ptr)`.
    pub fn envoy_dynamic_module_callback_http_filter_config_define_histogram(
        filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
        name: ModuleBuffer,
        label_names: *mut ModuleBuffer,
        label_names_length: usize,
        histogram_id_ptr: *mut usize,
    ) -> MetricsResult;

    /// `metrics_result envoy_dynamic_module_callback_http_filter_record_histogram_value(
    ///     filter_envoy_ptr, size_t id, module_buffer* label_values, size_t label_values_length,
    ///     uint64_t value)`.
    pub fn envoy_dynamic_module_callback_http_filter_record_histogram_value(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
        id: usize,
        label_values: *mut ModuleBuffer,
        label_values_length: usize,
        value: u64,
    ) -> MetricsResult;

    // ------------------------------------- Schedulers ----------------------------------------

    /// `http_filter_scheduler_module_ptr envoy_dynamic_module_callback_http_filter_scheduler_new(
    ///     filter_envoy_ptr)`. Call it on the worker (inside a hook). The module must later call
    /// scheduler_delete.
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_new(
        filter_envoy_ptr: HttpFilterEnvoyPtr,
    ) -> HttpFilterSchedulerModulePtr;

    /// `void envoy_dynamic_module_callback_http_filter_scheduler_commit(scheduler, uint64_t
    ///     event_id)`: "safe to call from any thread and is a no-op once the filter has been
    /// destroyed". It later triggers on_http_filter_scheduled(event_id) on the stream's worker.
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_commit(
        scheduler_module_ptr: HttpFilterSchedulerModulePtr,
        event_id: u64,
    );

    /// `void envoy_dynamic_module_callback_http_filter_scheduler_delete(scheduler)`.
    pub fn envoy_dynamic_module_callback_http_filter_scheduler_delete(
        scheduler_module_ptr: HttpFilterSchedulerModulePtr,
    );
}

// =================================================================================================
// 3. Event hooks (implemented and exported by the module, resolved by Envoy with dlsym)
// =================================================================================================
//
// Every hook below appears in the stored header. `strings $BIN | grep -E
// '^envoy_dynamic_module_on_http_filter|^envoy_dynamic_module_on_program_init'` on the 1.40 binary
// gives EXACTLY the same 31 names (30 on_http_filter_* + on_program_init). The only extra line is
// the error-message string "envoy_dynamic_module_on_program_init returned null", which is not a
// hook.
//   * In the header but NOT in the binary: none.
//   * In the binary but NOT in the header: none.
//
// Required/optional: the stored filter_config.cc (commit 02bdd7b8..., which predates 1.40) fails
// the filter config when a REQUIRED hook is missing. OPTIONAL ones are looked up and used only if
// present. The per-route pair is looked up only when a per-route config is created. A newer policy
// (#47435) says new hooks are resolved optionally, but 1.40 may still require the older set.
// SAFEST: export all 31.
//
// Hook signatures (C from the header, then the Rust form to write with #[no_mangle]):
//
// [REQUIRED for any module] main thread, once, when the .so is loaded
//   C:    envoy_dynamic_module_type_abi_version_module_ptr envoy_dynamic_module_on_program_init(void);
//   Rust: extern "C" fn envoy_dynamic_module_on_program_init() -> AbiVersionModulePtr
//         Return a 'static NUL-terminated version string ("v0.2.0" matches this binary; anything
//         else only logs a "deprecated" warning). NULL = module unloaded, load error.
//
// [REQUIRED] main thread
//   C:    envoy_dynamic_module_type_http_filter_config_module_ptr
//         envoy_dynamic_module_on_http_filter_config_new(
//             envoy_dynamic_module_type_http_filter_config_envoy_ptr filter_config_envoy_ptr,
//             envoy_dynamic_module_type_envoy_buffer name, envoy_dynamic_module_type_envoy_buffer config);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_new(
//             filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr, name: EnvoyBuffer,
//             config: EnvoyBuffer) -> HttpFilterConfigModulePtr        // null => config rejected
//
// [REQUIRED]
//   C:    void envoy_dynamic_module_on_http_filter_config_destroy(
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_destroy(
//             filter_config_ptr: HttpFilterConfigModulePtr)
//
// [PER-ROUTE: looked up only when a per-route config is configured] main thread
//   C:    envoy_dynamic_module_type_http_filter_per_route_config_module_ptr
//         envoy_dynamic_module_on_http_filter_per_route_config_new(
//             envoy_dynamic_module_type_envoy_buffer name, envoy_dynamic_module_type_envoy_buffer config);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_new(
//             name: EnvoyBuffer, config: EnvoyBuffer) -> HttpFilterPerRouteConfigModulePtr  // null => rejected
//
// [PER-ROUTE]
//   C:    void envoy_dynamic_module_on_http_filter_per_route_config_destroy(
//             envoy_dynamic_module_type_http_filter_per_route_config_module_ptr filter_config_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_per_route_config_destroy(
//             filter_config_ptr: HttpFilterPerRouteConfigModulePtr)
//
// [REQUIRED] worker thread, once per HTTP stream
//   C:    envoy_dynamic_module_type_http_filter_module_ptr envoy_dynamic_module_on_http_filter_new(
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr,
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_new(
//             filter_config_ptr: HttpFilterConfigModulePtr,
//             filter_envoy_ptr: HttpFilterEnvoyPtr) -> HttpFilterModulePtr   // null => "the stream will be closed"
//
// [REQUIRED]
//   C:    envoy_dynamic_module_type_on_http_filter_request_headers_status
//         envoy_dynamic_module_on_http_filter_request_headers(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, bool end_of_stream);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_request_headers(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             end_of_stream: bool) -> OnHttpFilterRequestHeadersStatus
//
// [REQUIRED]
//   C:    envoy_dynamic_module_type_on_http_filter_request_body_status
//         envoy_dynamic_module_on_http_filter_request_body(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, bool end_of_stream);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_request_body(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             end_of_stream: bool) -> OnHttpFilterRequestBodyStatus
//
// [REQUIRED]
//   C:    envoy_dynamic_module_type_on_http_filter_request_trailers_status
//         envoy_dynamic_module_on_http_filter_request_trailers(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_request_trailers(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr)
//             -> OnHttpFilterRequestTrailersStatus
//
// [REQUIRED]
//   C:    envoy_dynamic_module_type_on_http_filter_response_headers_status
//         envoy_dynamic_module_on_http_filter_response_headers(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, bool end_of_stream);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_response_headers(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             end_of_stream: bool) -> OnHttpFilterResponseHeadersStatus
//
// [REQUIRED]
//   C:    envoy_dynamic_module_type_on_http_filter_response_body_status
//         envoy_dynamic_module_on_http_filter_response_body(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, bool end_of_stream);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_response_body(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             end_of_stream: bool) -> OnHttpFilterResponseBodyStatus
//
// [REQUIRED]
//   C:    envoy_dynamic_module_type_on_http_filter_response_trailers_status
//         envoy_dynamic_module_on_http_filter_response_trailers(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_response_trailers(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr)
//             -> OnHttpFilterResponseTrailersStatus
//
// [REQUIRED] "called before envoy_dynamic_module_on_http_filter_destroy and access logs are flushed"
//   C:    void envoy_dynamic_module_on_http_filter_stream_complete(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_stream_complete(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr)
//
// [REQUIRED] (note: no filter_envoy_ptr)
//   C:    void envoy_dynamic_module_on_http_filter_destroy(
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_destroy(filter_module_ptr: HttpFilterModulePtr)
//
// [REQUIRED in stored filter_config.cc] the response to http_filter_http_callout
//   C:    void envoy_dynamic_module_on_http_filter_http_callout_done(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, uint64_t callout_id,
//             envoy_dynamic_module_type_http_callout_result result,
//             envoy_dynamic_module_type_envoy_http_header* headers, size_t headers_size,
//             envoy_dynamic_module_type_envoy_buffer* body_chunks, size_t body_chunks_size);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_http_callout_done(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             callout_id: u64, result: HttpCalloutResult, headers: *mut EnvoyHttpHeader,
//             headers_size: usize, body_chunks: *mut EnvoyBuffer, body_chunks_size: usize)
//
// [REQUIRED in stored filter_config.cc]
//   C:    void envoy_dynamic_module_on_http_filter_http_stream_headers(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, uint64_t stream_id,
//             envoy_dynamic_module_type_envoy_http_header* headers, size_t headers_size, bool end_stream);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_headers(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             stream_id: u64, headers: *mut EnvoyHttpHeader, headers_size: usize, end_stream: bool)
//
// [REQUIRED in stored filter_config.cc]
//   C:    void envoy_dynamic_module_on_http_filter_http_stream_data(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, uint64_t stream_id,
//             const envoy_dynamic_module_type_envoy_buffer* data, size_t data_count, bool end_stream);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_data(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             stream_id: u64, data: *const EnvoyBuffer, data_count: usize, end_stream: bool)
//
// [REQUIRED in stored filter_config.cc]
//   C:    void envoy_dynamic_module_on_http_filter_http_stream_trailers(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, uint64_t stream_id,
//             envoy_dynamic_module_type_envoy_http_header* trailers, size_t trailers_size);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_trailers(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             stream_id: u64, trailers: *mut EnvoyHttpHeader, trailers_size: usize)
//
// [REQUIRED in stored filter_config.cc]
//   C:    void envoy_dynamic_module_on_http_filter_http_stream_complete(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, uint64_t stream_id);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_complete(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr, stream_id: u64)
//
// [REQUIRED in stored filter_config.cc]
//   C:    void envoy_dynamic_module_on_http_filter_http_stream_reset(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, uint64_t stream_id,
//             envoy_dynamic_module_type_http_stream_reset_reason reason);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_http_stream_reset(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             stream_id: u64, reason: HttpStreamResetReason)
//
// [REQUIRED in stored filter_config.cc] worker thread, after http_filter_scheduler_commit
//   C:    void envoy_dynamic_module_on_http_filter_scheduled(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, uint64_t event_id);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_scheduled(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr, event_id: u64)
//
// [OPTIONAL] main thread, after http_filter_config_scheduler_commit
//   C:    void envoy_dynamic_module_on_http_filter_config_scheduled(
//             envoy_dynamic_module_type_http_filter_config_envoy_ptr filter_config_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr, uint64_t event_id);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_scheduled(
//             filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
//             filter_config_ptr: HttpFilterConfigModulePtr, event_id: u64)
//
// [OPTIONAL]
//   C:    void envoy_dynamic_module_on_http_filter_config_http_callout_done(
//             envoy_dynamic_module_type_http_filter_config_envoy_ptr filter_config_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr, uint64_t callout_id,
//             envoy_dynamic_module_type_http_callout_result result,
//             envoy_dynamic_module_type_envoy_http_header* headers, size_t headers_size,
//             envoy_dynamic_module_type_envoy_buffer* body_chunks, size_t body_chunks_size);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_http_callout_done(
//             filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
//             filter_config_ptr: HttpFilterConfigModulePtr, callout_id: u64,
//             result: HttpCalloutResult, headers: *mut EnvoyHttpHeader, headers_size: usize,
//             body_chunks: *mut EnvoyBuffer, body_chunks_size: usize)
//
// [OPTIONAL]
//   C:    void envoy_dynamic_module_on_http_filter_config_http_stream_headers(
//             envoy_dynamic_module_type_http_filter_config_envoy_ptr filter_config_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr, uint64_t stream_id,
//             envoy_dynamic_module_type_envoy_http_header* headers, size_t headers_size, bool end_stream);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_headers(
//             filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
//             filter_config_ptr: HttpFilterConfigModulePtr, stream_id: u64,
//             headers: *mut EnvoyHttpHeader, headers_size: usize, end_stream: bool)
//
// [OPTIONAL]
//   C:    void envoy_dynamic_module_on_http_filter_config_http_stream_data(
//             envoy_dynamic_module_type_http_filter_config_envoy_ptr filter_config_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr, uint64_t stream_id,
//             const envoy_dynamic_module_type_envoy_buffer* data, size_t data_count, bool end_stream);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_data(
//             filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
//             filter_config_ptr: HttpFilterConfigModulePtr, stream_id: u64,
//             data: *const EnvoyBuffer, data_count: usize, end_stream: bool)
//
// [OPTIONAL]
//   C:    void envoy_dynamic_module_on_http_filter_config_http_stream_trailers(
//             envoy_dynamic_module_type_http_filter_config_envoy_ptr filter_config_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr, uint64_t stream_id,
//             envoy_dynamic_module_type_envoy_http_header* trailers, size_t trailers_size);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_trailers(
//             filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
//             filter_config_ptr: HttpFilterConfigModulePtr, stream_id: u64,
//             trailers: *mut EnvoyHttpHeader, trailers_size: usize)
//
// [OPTIONAL]
//   C:    void envoy_dynamic_module_on_http_filter_config_http_stream_complete(
//             envoy_dynamic_module_type_http_filter_config_envoy_ptr filter_config_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr, uint64_t stream_id);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_complete(
//             filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
//             filter_config_ptr: HttpFilterConfigModulePtr, stream_id: u64)
//
// [OPTIONAL]
//   C:    void envoy_dynamic_module_on_http_filter_config_http_stream_reset(
//             envoy_dynamic_module_type_http_filter_config_envoy_ptr filter_config_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_config_module_ptr filter_config_ptr, uint64_t stream_id,
//             envoy_dynamic_module_type_http_stream_reset_reason reason);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_config_http_stream_reset(
//             filter_config_envoy_ptr: HttpFilterConfigEnvoyPtr,
//             filter_config_ptr: HttpFilterConfigModulePtr, stream_id: u64,
//             reason: HttpStreamResetReason)
//
// [REQUIRED in stored filter_config.cc]
//   C:    void envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr)
//
// [REQUIRED in stored filter_config.cc]
//   C:    void envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr)
//
// [OPTIONAL] when sendLocalReply runs on the stream (by any filter)
//   C:    envoy_dynamic_module_type_on_http_filter_local_reply_status
//         envoy_dynamic_module_on_http_filter_local_reply(
//             envoy_dynamic_module_type_http_filter_envoy_ptr filter_envoy_ptr,
//             envoy_dynamic_module_type_http_filter_module_ptr filter_module_ptr, uint32_t response_code,
//             envoy_dynamic_module_type_envoy_buffer details, bool reset_imminent);
//   Rust: extern "C" fn envoy_dynamic_module_on_http_filter_local_reply(
//             filter_envoy_ptr: HttpFilterEnvoyPtr, filter_module_ptr: HttpFilterModulePtr,
//             response_code: u32, details: EnvoyBuffer, reset_imminent: bool)
//             -> OnHttpFilterLocalReplyStatus
//
// Hook names in the binary (`strings $BIN | grep -E '^envoy_dynamic_module_on_http_filter|
// ^envoy_dynamic_module_on_program_init' | sort -u`):
//   envoy_dynamic_module_on_http_filter_config_destroy
//   envoy_dynamic_module_on_http_filter_config_http_callout_done
//   envoy_dynamic_module_on_http_filter_config_http_stream_complete
//   envoy_dynamic_module_on_http_filter_config_http_stream_data
//   envoy_dynamic_module_on_http_filter_config_http_stream_headers
//   envoy_dynamic_module_on_http_filter_config_http_stream_reset
//   envoy_dynamic_module_on_http_filter_config_http_stream_trailers
//   envoy_dynamic_module_on_http_filter_config_new
//   envoy_dynamic_module_on_http_filter_config_scheduled
//   envoy_dynamic_module_on_http_filter_destroy
//   envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark
//   envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark
//   envoy_dynamic_module_on_http_filter_http_callout_done
//   envoy_dynamic_module_on_http_filter_http_stream_complete
//   envoy_dynamic_module_on_http_filter_http_stream_data
//   envoy_dynamic_module_on_http_filter_http_stream_headers
//   envoy_dynamic_module_on_http_filter_http_stream_reset
//   envoy_dynamic_module_on_http_filter_http_stream_trailers
//   envoy_dynamic_module_on_http_filter_local_reply
//   envoy_dynamic_module_on_http_filter_new
//   envoy_dynamic_module_on_http_filter_per_route_config_destroy
//   envoy_dynamic_module_on_http_filter_per_route_config_new
//   envoy_dynamic_module_on_http_filter_request_body
//   envoy_dynamic_module_on_http_filter_request_headers
//   envoy_dynamic_module_on_http_filter_request_trailers
//   envoy_dynamic_module_on_http_filter_response_body
//   envoy_dynamic_module_on_http_filter_response_headers
//   envoy_dynamic_module_on_http_filter_response_trailers
//   envoy_dynamic_module_on_http_filter_scheduled
//   envoy_dynamic_module_on_http_filter_stream_complete
//   envoy_dynamic_module_on_program_init
//   (plus the message string "envoy_dynamic_module_on_program_init returned null")
//
// =================================================================================================
// BINARY-ONLY callbacks (exported by the 1.40 binary, absent from the stored header, so there is no
// documented signature; do not declare them without the real header, except log_v2 above):
//   envoy_dynamic_module_callback_log_v2                      (declared above; signature confirmed)
//   envoy_dynamic_module_callback_http_has_filter_state        (disasm: rdi, rsi/rdx = key buffer)
//   envoy_dynamic_module_callback_http_set_filter_state_value  (disasm: key, value buffers + 2 u32s)
//   envoy_dynamic_module_callback_http_set_filter_state_object
//   envoy_dynamic_module_callback_http_get_filter_state_object
//   envoy_dynamic_module_callback_http_set_dynamic_metadata_struct
//   envoy_dynamic_module_callback_http_set_dynamic_typed_metadata
//   envoy_dynamic_module_callback_http_get_typed_metadata
//   envoy_dynamic_module_callback_http_get_timing_info
//   envoy_dynamic_module_callback_http_get_downstream_direct_remote_address
//   envoy_dynamic_module_callback_http_get_upstream_remote_address
//   envoy_dynamic_module_callback_http_get_upstream_connection_id
//   envoy_dynamic_module_callback_http_get_upstream_connection_ids_attempted(_size)
//   envoy_dynamic_module_callback_http_get_upstream_hosts_attempted(_size)
//   envoy_dynamic_module_callback_http_span_set_tag_batch
//   envoy_dynamic_module_callback_http_filter_get_generic_secret
//   envoy_dynamic_module_callback_http_filter_config_get_generic_secret
//   envoy_dynamic_module_callback_http_filter_config_generic_secret_subscribe
// Every callback in the stored header's common and HTTP sections IS in the binary (none missing).
