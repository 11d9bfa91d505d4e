//! The proxy-wasm shim: adapts Envoy's callbacks to [`crate::stream::Stream`] and implements
//! [`crate::host::Host`] with raw host calls.
//!
//! Only the `hostcalls` functions that return `Result` are used: the SDK's convenience
//! methods panic when the host refuses (for instance setting a header after headers were
//! sent), and a panic poisons the worker's VM. Failed host calls are logged and ignored.

use std::rc::Rc;
use std::time::UNIX_EPOCH;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};

use crate::host::{Host, RootHost};
use crate::plugin::Plugin;
use crate::stream::{self, Stream};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    // Should anything still panic, say so in Envoy's log before the VM is torn down.
    std::panic::set_hook(Box::new(|info| {
        let _ = hostcalls::log(LogLevel::Critical, &format!("panic: {info}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { plugin: None }) });
}}

struct Root {
    plugin: Option<Rc<Plugin>>,
}

struct EnvoyRoot;

impl RootHost for EnvoyRoot {
    fn define_counter(&mut self, name: &str) -> Option<u32> {
        hostcalls::define_metric(MetricType::Counter, name).ok()
    }
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX).ok().flatten().unwrap_or_default();
        match Plugin::configure(&mut EnvoyRoot, &config) {
            Ok(plugin) => {
                crate::revocation::create_buckets(&mut Envoy);
                self.plugin = Some(Rc::new(plugin));
                true
            }
            Err(e) => {
                let _ = hostcalls::log(LogLevel::Critical, &format!("plugin configuration rejected: {e}"));
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let stream = self.plugin.as_ref().map(|p| Stream::new(Rc::clone(p)));
        Some(Box::new(Http { stream }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Http {
    /// `None` when the plugin has no valid configuration: then the filter does nothing
    /// (Envoy's `failure_policy` decides what happens to traffic).
    stream: Option<Stream>,
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        match &mut self.stream {
            Some(s) => convert(s.on_request_headers(&mut Envoy, end_of_stream)),
            None => Action::Continue,
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match &mut self.stream {
            Some(s) => convert(s.on_request_body(&mut Envoy, body_size, end_of_stream)),
            None => Action::Continue,
        }
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        match &mut self.stream {
            Some(s) => convert(s.on_request_trailers(&mut Envoy)),
            None => Action::Continue,
        }
    }

    fn on_http_response_headers(&mut self, _n: usize, _end_of_stream: bool) -> Action {
        match &mut self.stream {
            Some(s) => convert(s.on_response_headers(&mut Envoy)),
            None => Action::Continue,
        }
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match &mut self.stream {
            Some(s) => convert(s.on_response_body(&mut Envoy, body_size, end_of_stream)),
            None => Action::Continue,
        }
    }
}

fn convert(action: stream::Action) -> Action {
    match action {
        stream::Action::Continue => Action::Continue,
        stream::Action::Pause => Action::Pause,
    }
}

/// [`Host`] over Envoy's host calls.
struct Envoy;

fn warn_on_err<T, E: std::fmt::Debug>(what: &str, r: Result<T, E>) {
    if let Err(e) = r {
        let _ = hostcalls::log(LogLevel::Warn, &format!("{what} failed: {e:?}"));
    }
}

impl Host for Envoy {
    fn request_headers(&self) -> Vec<(String, String)> {
        hostcalls::get_map(MapType::HttpRequestHeaders).unwrap_or_default()
    }

    fn set_request_header(&mut self, name: &str, value: Option<&str>) {
        warn_on_err(name, hostcalls::set_map_value(MapType::HttpRequestHeaders, name, value));
    }

    fn request_body(&self, len: usize) -> Option<Vec<u8>> {
        hostcalls::get_buffer(BufferType::HttpRequestBody, 0, len).ok().flatten()
    }

    fn replace_request_body(&mut self, old_len: usize, body: &[u8]) {
        warn_on_err("set body", hostcalls::set_buffer(BufferType::HttpRequestBody, 0, old_len, body));
    }

    fn response_header(&self, name: &str) -> Option<String> {
        hostcalls::get_map_value(MapType::HttpResponseHeaders, name).ok().flatten()
    }

    fn response_body(&self, len: usize) -> Option<Vec<u8>> {
        hostcalls::get_buffer(BufferType::HttpResponseBody, 0, len).ok().flatten()
    }

    fn replace_response_body(&mut self, old_len: usize, body: &[u8]) {
        warn_on_err("set response body", hostcalls::set_buffer(BufferType::HttpResponseBody, 0, old_len, body));
    }

    fn remove_response_header(&mut self, name: &str) {
        warn_on_err(name, hostcalls::set_map_value(MapType::HttpResponseHeaders, name, None));
    }

    fn send_response(&mut self, status: u32, headers: &[(&str, &str)], body: &[u8]) {
        warn_on_err("local reply", hostcalls::send_http_response(status, headers.to_vec(), Some(body)));
    }

    fn clear_route_cache(&mut self) {
        warn_on_err("clear_route_cache", hostcalls::call_foreign_function("clear_route_cache", None));
    }

    fn set_filter_state(&mut self, key: &str, value: &str) {
        warn_on_err(key, hostcalls::set_property(vec![key], Some(value.as_bytes())));
    }

    fn increment_counter(&mut self, id: u32) {
        let _ = hostcalls::increment_metric(id, 1);
    }

    fn shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        // Envoy answers Ok or NotFound (the SDK maps NotFound to `(None, None)`).
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        // Envoy answers Ok or CasMismatch; the latter is the caller's to retry.
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }

    fn now_unix_secs(&self) -> u64 {
        hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            // No clock means no expiry check: fail closed, every session looks expired.
            .map_or(u64::MAX, |d| d.as_secs())
    }
}
