//! A [`Host`] that records what the filter asked of it: used by the unit tests, the
//! benchmarks and the fuzz targets to run the real logic without Envoy.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::host::{Host, RootHost};
use crate::plugin::Plugin;
use crate::stream::{Action, Stream};

/// What a request looks like to the filter, and what the filter did to it.
#[derive(Debug, Default, Clone)]
pub struct RecordingHost {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub response_headers: Vec<(String, String)>,
    /// The response body chunk the filter sees in `on_response_body`.
    pub response_body: Vec<u8>,
    /// `(status, body)` of a local reply.
    pub local_reply: Option<(u32, Vec<u8>)>,
    pub route_cache_cleared: u32,
    pub filter_state: BTreeMap<String, String>,
    pub counters: BTreeMap<u32, u64>,
    pub now: u64,
    /// The proxy's shared data: clone the `Rc` into several hosts (or streams of several
    /// plugins, as Envoy's worker VMs) to let them see one store.
    pub shared: Rc<RefCell<SharedData>>,
    /// Shared data reads this host answered.
    pub shared_reads: Cell<u32>,
}

/// An in-memory shared data store with Envoy's CAS rules: every write gets a new non-zero
/// version; a write naming another version than the current one is refused.
#[derive(Debug, Default, Clone)]
pub struct SharedData {
    pub values: BTreeMap<String, (Vec<u8>, u32)>,
    last_cas: u32,
    /// Writes of a non-empty value without a version (they could overwrite another VM's).
    pub unversioned_writes: u32,
}

impl SharedData {
    /// Envoy's `SharedData::set`.
    pub fn set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        if cas.is_none() && !value.is_empty() {
            self.unversioned_writes = self.unversioned_writes.saturating_add(1);
        }
        if let (Some(cas), Some((_, current))) = (cas, self.values.get(key)) {
            if cas != *current {
                return false;
            }
        }
        self.last_cas = self.last_cas.wrapping_add(1).max(1);
        self.values.insert(key.to_string(), (value.to_vec(), self.last_cas));
        true
    }
}

impl RecordingHost {
    /// A request with these headers and body.
    pub fn request(headers: &[(&str, &str)], body: &[u8]) -> RecordingHost {
        RecordingHost {
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.to_vec(),
            now: 1_000,
            ..RecordingHost::default()
        }
    }

    /// The current value of a request header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Sets a request header before the filter runs (replacing any of that name).
    pub fn set_request_header_for_test(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| k != name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    /// The local reply's body parsed as JSON.
    pub fn reply_json(&self) -> Option<serde_json::Value> {
        self.local_reply.as_ref().and_then(|(_, b)| serde_json::from_slice(b).ok())
    }
}

impl Host for RecordingHost {
    fn request_headers(&self) -> Vec<(String, String)> {
        self.headers.clone()
    }

    fn set_request_header(&mut self, name: &str, value: Option<&str>) {
        self.headers.retain(|(k, _)| k != name);
        if let Some(v) = value {
            self.headers.push((name.to_string(), v.to_string()));
        }
    }

    fn request_body(&self, len: usize) -> Option<Vec<u8>> {
        self.body.get(..len).map(<[u8]>::to_vec)
    }

    fn replace_request_body(&mut self, _old_len: usize, body: &[u8]) {
        self.body = body.to_vec();
    }

    fn response_header(&self, name: &str) -> Option<String> {
        self.response_headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn remove_response_header(&mut self, name: &str) {
        self.response_headers.retain(|(k, _)| k != name);
    }

    fn response_body(&self, len: usize) -> Option<Vec<u8>> {
        self.response_body.get(..len).map(<[u8]>::to_vec)
    }

    fn replace_response_body(&mut self, _old_len: usize, body: &[u8]) {
        self.response_body = body.to_vec();
    }

    fn send_response(&mut self, status: u32, _headers: &[(&str, &str)], body: &[u8]) {
        self.local_reply = Some((status, body.to_vec()));
    }

    fn clear_route_cache(&mut self) {
        self.route_cache_cleared += 1;
    }

    fn set_filter_state(&mut self, key: &str, value: &str) {
        self.filter_state.insert(key.to_string(), value.to_string());
    }

    fn increment_counter(&mut self, id: u32) {
        *self.counters.entry(id).or_default() += 1;
    }

    fn now_unix_secs(&self) -> u64 {
        self.now
    }

    fn shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        self.shared_reads.set(self.shared_reads.get().saturating_add(1));
        match self.shared.borrow().values.get(key) {
            // As the SDK reads an empty value: no bytes, a version.
            Some((value, cas)) if value.is_empty() => (None, Some(*cas)),
            Some((value, cas)) => (Some(value.clone()), Some(*cas)),
            None => (None, None),
        }
    }

    fn set_shared_data(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        self.shared.borrow_mut().set(key, value, cas)
    }
}

/// Defines counters with sequential ids and remembers their names.
#[derive(Debug, Default)]
pub struct RecordingRoot {
    pub names: Vec<String>,
}

impl RecordingRoot {
    /// The id of a counter by name.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.names.iter().position(|n| n == name).and_then(|i| u32::try_from(i).ok())
    }
}

impl RootHost for RecordingRoot {
    fn define_counter(&mut self, name: &str) -> Option<u32> {
        self.names.push(name.to_string());
        u32::try_from(self.names.len() - 1).ok()
    }
}

/// Runs one whole request through a fresh [`Stream`]: headers, then the body in one piece
/// (when there is one), then response headers and the response body in one piece if the
/// request was forwarded. Returns the
/// stream's last action.
pub fn drive(plugin: &Rc<Plugin>, host: &mut RecordingHost) -> Action {
    let mut stream = Stream::new(Rc::clone(plugin));
    let has_body = !host.body.is_empty();
    let mut action = stream.on_request_headers(host, !has_body);
    if action == Action::Pause && host.local_reply.is_none() && has_body {
        let len = host.body.len();
        action = stream.on_request_body(host, len, true);
    }
    if action == Action::Continue && host.local_reply.is_none() {
        action = stream.on_response_headers(host);
        if !host.response_body.is_empty() {
            let len = host.response_body.len();
            action = stream.on_response_body(host, len, true);
        }
    }
    action
}
