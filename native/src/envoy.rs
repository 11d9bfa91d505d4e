//! [`Host`] and [`RootHost`] over Envoy's dynamic-module callbacks ([`crate::abi`]).
//!
//! Every call here is a plain function call into Envoy's process (no VM boundary), so the
//! cost is what Envoy does, not the crossing: reading all request headers is one call filling
//! one array of pointers into Envoy's header map, which are then copied once into the
//! `String`s the filter logic keeps.
//!
//! Bodies: Envoy hands a body hook the chunk it just received (`Received…`) and keeps what
//! earlier hooks asked it to buffer (`Buffered…`). The filter logic sees one body, as the
//! proxy-wasm host shows it: everything buffered so far followed by the chunk at hand
//! ([`body`]); replacing it drains both and appends the new bytes to the chunk at hand.
//!
//! Facts: filter state keys are written as `wasm.<key>`, exactly the names the proxy-wasm host
//! produces, so routes, access logs and policies read the same keys whichever build runs.
//! The filter's keys (`mcpgw_filter::metadata::STATE_KEYS`) are also written as dynamic
//! metadata under the namespace [`METADATA_NAMESPACE`] (`mcp_gateway` → key `method`, `tool`,
//! …), which proxy-wasm cannot write in Envoy 1.40. They are collected during a hook and
//! written with one batch call when it returns ([`EnvoyStream::finish`]): one crossing instead
//! of one per fact. The profile showed no measurable saving from it (the cost is the merge of
//! a protobuf `Struct` into the stream's metadata: 2.05 % of Envoy's CPU before, 2.11 % after;
//! benches/README.md).

use std::ptr;

use mcpgw_filter::host::{Host, RootHost};

use crate::abi::{self, body_status, http_body_type, http_header_type, EnvoyBuffer, EnvoyHttpHeader, ModuleBuffer, ModuleHttpHeader};
use crate::shared_data;

/// The dynamic metadata namespace of the filter's facts.
pub const METADATA_NAMESPACE: &str = "mcp_gateway";
/// The prefix the proxy-wasm host puts on filter state keys, kept for one dialect.
const STATE_PREFIX: &str = "wasm.";

pub(crate) fn buf(s: &[u8]) -> ModuleBuffer {
    ModuleBuffer { ptr: s.as_ptr().cast(), length: s.len() }
}

const NULL_BUF: ModuleBuffer = ModuleBuffer { ptr: ptr::null(), length: 0 };

/// The bytes of an Envoy-owned buffer, valid until the hook returns or a setter is called.
///
/// # Safety
/// `b` must come from Envoy during the current hook.
pub(crate) unsafe fn bytes_of<'a>(b: &EnvoyBuffer) -> &'a [u8] {
    if b.ptr.is_null() || b.length == 0 {
        return &[];
    }
    // SAFETY: Envoy guarantees `length` readable bytes at `ptr` for the hook's duration.
    unsafe { std::slice::from_raw_parts(b.ptr.cast(), b.length) }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One stream's handle in Envoy, for the duration of a hook.
pub struct EnvoyStream {
    ptr: abi::HttpFilterEnvoyPtr,
    /// The filter answered the request itself: later actions must not resume the stream.
    pub(crate) answered: bool,
    /// Dynamic metadata facts of this hook, written by [`EnvoyStream::finish`].
    metadata: Vec<(&'static str, String)>,
}

impl EnvoyStream {
    pub fn new(ptr: abi::HttpFilterEnvoyPtr) -> EnvoyStream {
        EnvoyStream { ptr, answered: false, metadata: Vec::new() }
    }

    /// Writes what the hook left pending: the dynamic metadata, in one batch.
    pub fn finish(&mut self) {
        if self.metadata.is_empty() {
            return;
        }
        let entries: Vec<abi::ModuleKeyValuePair> = self
            .metadata
            .iter()
            .map(|(k, v)| abi::ModuleKeyValuePair { key_ptr: k.as_ptr().cast(), key_length: k.len(), value_ptr: v.as_ptr().cast(), value_length: v.len() })
            .collect();
        // SAFETY: live stream; the entries point into `self.metadata`, alive during the call, and
        // are copied by Envoy.
        unsafe {
            abi::envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch(
                self.ptr,
                buf(METADATA_NAMESPACE.as_bytes()),
                entries.as_ptr(),
                entries.len(),
            );
        }
        self.metadata.clear();
    }

    /// All slices of one body.
    fn chunks(&self, kind: abi::HttpBodyType) -> Vec<EnvoyBuffer> {
        // SAFETY: `ptr` is the live stream of the current hook; the array has the size Envoy said.
        unsafe {
            let n = abi::envoy_dynamic_module_callback_http_get_body_chunks_size(self.ptr, kind);
            if n == 0 {
                return Vec::new();
            }
            let mut out = vec![EnvoyBuffer { ptr: ptr::null(), length: 0 }; n];
            if !abi::envoy_dynamic_module_callback_http_get_body_chunks(self.ptr, kind, out.as_mut_ptr()) {
                return Vec::new();
            }
            out
        }
    }

    /// Whether Envoy's "received" body of this hook is its buffered body itself (an earlier
    /// filter buffered and resumed): then only one of them may be read.
    fn received_is_buffered(&self, response: bool) -> bool {
        // SAFETY: live stream of the current hook.
        unsafe {
            if response {
                abi::envoy_dynamic_module_callback_http_received_buffered_response_body(self.ptr)
            } else {
                abi::envoy_dynamic_module_callback_http_received_buffered_request_body(self.ptr)
            }
        }
    }

    fn kinds(&self, response: bool) -> (abi::HttpBodyType, abi::HttpBodyType) {
        if response {
            (http_body_type::BUFFERED_RESPONSE_BODY, http_body_type::RECEIVED_RESPONSE_BODY)
        } else {
            (http_body_type::BUFFERED_REQUEST_BODY, http_body_type::RECEIVED_REQUEST_BODY)
        }
    }

    /// The body as the filter logic sees it: what is buffered, then the chunk at hand.
    pub fn body_size(&self, response: bool) -> usize {
        let (buffered, received) = self.kinds(response);
        // SAFETY: live stream of the current hook.
        unsafe {
            let r = abi::envoy_dynamic_module_callback_http_get_body_size(self.ptr, received);
            if self.received_is_buffered(response) {
                return r;
            }
            r.saturating_add(abi::envoy_dynamic_module_callback_http_get_body_size(self.ptr, buffered))
        }
    }

    fn body(&self, response: bool, len: usize) -> Vec<u8> {
        let (buffered, received) = self.kinds(response);
        let mut slices = if self.received_is_buffered(response) { Vec::new() } else { self.chunks(buffered) };
        slices.extend(self.chunks(received));
        let mut out = Vec::with_capacity(len);
        for s in &slices {
            // SAFETY: the slices were just handed out by Envoy in this hook, nothing was set since.
            out.extend_from_slice(unsafe { bytes_of(s) });
        }
        out
    }

    fn replace_body(&mut self, response: bool, body: &[u8]) {
        let (buffered, received) = self.kinds(response);
        // SAFETY: live stream of the current hook; `body` is read during the call only.
        unsafe {
            if !self.received_is_buffered(response) {
                let n = abi::envoy_dynamic_module_callback_http_get_body_size(self.ptr, buffered);
                if n > 0 {
                    abi::envoy_dynamic_module_callback_http_drain_body(self.ptr, buffered, n);
                }
            }
            let n = abi::envoy_dynamic_module_callback_http_get_body_size(self.ptr, received);
            if n > 0 {
                abi::envoy_dynamic_module_callback_http_drain_body(self.ptr, received, n);
            }
            if !body.is_empty() && !abi::envoy_dynamic_module_callback_http_append_body(self.ptr, received, buf(body)) {
                crate::log::warn("could not replace a body");
            }
        }
    }

    fn header(&self, kind: abi::HttpHeaderType, name: &str) -> Option<String> {
        let mut out = EnvoyBuffer { ptr: ptr::null(), length: 0 };
        // SAFETY: live stream; `out` receives an Envoy-owned buffer valid for this hook.
        let found = unsafe {
            abi::envoy_dynamic_module_callback_http_get_header(self.ptr, kind, buf(name.as_bytes()), &mut out, 0, ptr::null_mut())
        };
        // SAFETY: as above.
        found.then(|| text(unsafe { bytes_of(&out) }))
    }

    fn set_header(&mut self, kind: abi::HttpHeaderType, name: &str, value: Option<&str>) {
        let value = value.map_or(NULL_BUF, |v| buf(v.as_bytes()));
        // SAFETY: live stream; both buffers are copied by Envoy during the call.
        let ok = unsafe { abi::envoy_dynamic_module_callback_http_set_header(self.ptr, kind, buf(name.as_bytes()), value) };
        if !ok && !value.ptr.is_null() {
            crate::log::warn(&format!("could not set header {name}"));
        }
    }

    /// What a paused or buffering body hook answers Envoy.
    pub fn body_pause_status(&self) -> u32 {
        if self.answered {
            body_status::STOP_ITERATION_NO_BUFFER
        } else {
            body_status::STOP_ITERATION_AND_BUFFER
        }
    }
}

impl Host for EnvoyStream {
    fn request_headers(&self) -> Vec<(String, String)> {
        // SAFETY: live stream; the array has the size Envoy said; the buffers are read before
        // any setter runs.
        unsafe {
            let kind = http_header_type::REQUEST_HEADER;
            let n = abi::envoy_dynamic_module_callback_http_get_headers_size(self.ptr, kind);
            let mut raw = vec![EnvoyHttpHeader { key_ptr: ptr::null(), key_length: 0, value_ptr: ptr::null(), value_length: 0 }; n];
            if n == 0 || !abi::envoy_dynamic_module_callback_http_get_headers(self.ptr, kind, raw.as_mut_ptr()) {
                return Vec::new();
            }
            raw.iter()
                .map(|h| {
                    let k = EnvoyBuffer { ptr: h.key_ptr, length: h.key_length };
                    let v = EnvoyBuffer { ptr: h.value_ptr, length: h.value_length };
                    (text(bytes_of(&k)), text(bytes_of(&v)))
                })
                .collect()
        }
    }

    fn set_request_header(&mut self, name: &str, value: Option<&str>) {
        self.set_header(http_header_type::REQUEST_HEADER, name, value);
    }

    fn request_body(&self, len: usize) -> Option<Vec<u8>> {
        Some(self.body(false, len))
    }

    fn replace_request_body(&mut self, _old_len: usize, body: &[u8]) {
        self.replace_body(false, body);
    }

    fn response_header(&self, name: &str) -> Option<String> {
        self.header(http_header_type::RESPONSE_HEADER, name)
    }

    fn remove_response_header(&mut self, name: &str) {
        self.set_header(http_header_type::RESPONSE_HEADER, name, None);
    }

    fn response_body(&self, len: usize) -> Option<Vec<u8>> {
        Some(self.body(true, len))
    }

    fn replace_response_body(&mut self, _old_len: usize, body: &[u8]) {
        self.replace_body(true, body);
    }

    fn send_response(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]) {
        let mut hs: Vec<ModuleHttpHeader> = headers
            .iter()
            .map(|(k, v)| ModuleHttpHeader { key_ptr: k.as_ptr().cast(), key_length: k.len(), value_ptr: v.as_ptr().cast(), value_length: v.len() })
            .collect();
        self.answered = true;
        // SAFETY: live stream; headers, body and details are copied by Envoy during the call.
        unsafe {
            abi::envoy_dynamic_module_callback_http_send_response(self.ptr, status, hs.as_mut_ptr(), hs.len(), buf(body), buf(b"mcp_gateway"));
        }
    }

    fn clear_route_cache(&mut self) {
        // SAFETY: live stream.
        unsafe { abi::envoy_dynamic_module_callback_http_clear_route_cache(self.ptr) }
    }

    fn set_filter_state(&mut self, key: &str, value: &str) {
        let mut state_key = String::with_capacity(STATE_PREFIX.len() + key.len());
        state_key.push_str(STATE_PREFIX);
        state_key.push_str(key);
        // SAFETY: live stream; key and value are copied by Envoy during the call.
        unsafe {
            if !abi::envoy_dynamic_module_callback_http_set_filter_state_bytes(self.ptr, buf(state_key.as_bytes()), buf(value.as_bytes())) {
                crate::log::warn(&format!("could not set filter state {state_key}"));
            }
        }
        if let Some(fact) = mcpgw_filter::metadata::metadata_key(key) {
            self.metadata.retain(|(k, _)| *k != fact);
            self.metadata.push((fact, value.to_string()));
        }
    }

    fn increment_counter(&mut self, id: u32) {
        // SAFETY: live stream; the id was defined by this configuration; no labels.
        unsafe {
            abi::envoy_dynamic_module_callback_http_filter_increment_counter(self.ptr, id as usize, ptr::null_mut(), 0, 1);
        }
    }

    fn now_unix_secs(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            // No clock means no expiry check: fail closed, every session looks expired.
            .map_or(u64::MAX, |d| d.as_secs())
    }

    fn shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        shared_data::store().get(key)
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        shared_data::store().set(key, value, cas)
    }
}

/// Defines counters on a filter configuration (main thread, inside `config_new` only).
pub struct EnvoyConfig {
    pub ptr: abi::HttpFilterConfigEnvoyPtr,
}

impl RootHost for EnvoyConfig {
    fn define_counter(&mut self, name: &str) -> Option<u32> {
        let mut id: usize = 0;
        // SAFETY: the configuration pointer of the current config_new hook; no labels.
        let r = unsafe {
            abi::envoy_dynamic_module_callback_http_filter_config_define_counter(self.ptr, buf(name.as_bytes()), ptr::null_mut(), 0, &mut id)
        };
        (r == abi::metrics_result::SUCCESS).then_some(id).and_then(|id| u32::try_from(id).ok())
    }
}
