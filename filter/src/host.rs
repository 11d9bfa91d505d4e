//! What the filter needs from its proxy. The proxy-wasm shim implements it against Envoy;
//! tests implement it with a recording fake.
//!
//! Every call crosses the wasm boundary in Envoy, so the trait is shaped to need few of them:
//! all request headers are read at once, and nothing is read twice.

/// Per-request host calls.
pub trait Host {
    /// All request headers (names lower-case, pseudo-headers included), read once.
    fn request_headers(&self) -> Vec<(String, String)>;
    /// Sets (`Some`) or removes (`None`) a request header.
    fn set_request_header(&mut self, name: &str, value: Option<&str>);
    /// The buffered request body, `len` bytes.
    fn request_body(&self, len: usize) -> Option<Vec<u8>>;
    /// Replaces the buffered request body (`old_len` bytes) with `body`.
    fn replace_request_body(&mut self, old_len: usize, body: &[u8]);
    /// A response header's value.
    fn response_header(&self, name: &str) -> Option<String>;
    /// Removes a response header.
    fn remove_response_header(&mut self, name: &str);
    /// The current chunk of the response body, `len` bytes.
    fn response_body(&self, len: usize) -> Option<Vec<u8>>;
    /// Replaces the current chunk of the response body (`old_len` bytes) with `body`.
    fn replace_response_body(&mut self, old_len: usize, body: &[u8]);
    /// Answers the request locally; nothing is forwarded.
    fn send_response(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]);
    /// Makes Envoy pick the route again after `:authority`/`:path` changed.
    fn clear_route_cache(&mut self);
    /// Writes a filter state value (Envoy stores it as `wasm.<key>`).
    fn set_filter_state(&mut self, key: &str, value: &str);
    /// Adds one to a counter defined at configure time.
    fn increment_counter(&mut self, id: u32);
    /// Current time, unix seconds.
    fn now_unix_secs(&self) -> u64;
    /// A value of the proxy's shared data and its version (CAS) for
    /// [`Host::set_shared_data`]; `(None, None)` when the key was never written. Shared data
    /// is one store per Envoy process and `vm_id`, seen by every worker's VM (unlike
    /// everything else a VM holds). Cost: one crossing (~0.4 µs) plus Envoy's process-wide
    /// shared-data mutex, a hash lookup and a copy of the value into the VM.
    fn shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    /// Writes a shared data value if its version is still `cas` (`None`: whatever it is).
    /// `false` when another VM wrote it since (CAS mismatch) or the host refused. Cost as
    /// [`Host::shared_data`], plus a copy of the value into Envoy.
    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool;
}

/// Host calls available when the plugin is configured.
pub trait RootHost {
    /// Defines a counter and returns its id; `None` when the host refuses.
    fn define_counter(&mut self, name: &str) -> Option<u32>;
}
