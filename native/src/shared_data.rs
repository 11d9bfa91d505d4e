//! The process-wide store behind [`mcpgw_filter::host::Host::shared_data`] in the native host.
//!
//! In the wasm host this is Envoy's proxy-wasm shared data: one store per Envoy process and
//! `vm_id`, seen by every worker's VM, with a version per key for compare-and-swap. The
//! filter's revocation logic (`mcpgw_filter::revocation`) is written against exactly those
//! rules, so the native host keeps them: every write gets a new non-zero version, a write
//! naming a version other than the current one is refused, and a write without a version (or
//! to a key never written) always succeeds.
//!
//! One store per process, not per filter configuration: like a `vm_id`'s shared data it
//! outlives configuration updates, so a session revoked before a reload stays revoked after
//! it. A `Mutex` (not sharded): the store is touched only by requests that carry a session
//! token (one read) and by `DELETE`s (a read and a write), and holds one short critical
//! section each, as Envoy's own shared-data mutex does.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

#[derive(Debug, Default)]
pub struct Store {
    values: HashMap<String, (Vec<u8>, u32)>,
    last_version: u32,
}

impl Store {
    /// The value and its version; `(None, None)` for a key never written. An empty value reads
    /// as no bytes with a version, as the proxy-wasm SDK reads it.
    pub fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        match self.values.get(key) {
            Some((value, version)) if value.is_empty() => (None, Some(*version)),
            Some((value, version)) => (Some(value.clone()), Some(*version)),
            None => (None, None),
        }
    }

    /// Writes `value` if the key's version is still `cas` (`None`: whatever it is).
    pub fn set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        if let (Some(cas), Some((_, current))) = (cas, self.values.get(key)) {
            if cas != *current {
                return false;
            }
        }
        self.last_version = self.last_version.wrapping_add(1).max(1);
        match self.values.get_mut(key) {
            Some(slot) => {
                slot.0.clear();
                slot.0.extend_from_slice(value);
                slot.1 = self.last_version;
            }
            None => {
                self.values.insert(key.to_string(), (value.to_vec(), self.last_version));
            }
        }
        true
    }
}

/// The process's store. A poisoned lock (a panic while holding it, caught at the hook) is
/// taken over: the store's invariants hold between any two statements of [`Store::set`].
pub fn store() -> MutexGuard<'static, Store> {
    static STORE: OnceLock<Mutex<Store>> = OnceLock::new();
    STORE.get_or_init(|| Mutex::new(Store::default())).lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_and_swap_as_envoy() {
        let mut s = Store::default();
        assert_eq!(s.get("k"), (None, None));
        assert!(s.set("k", b"", None), "creating without a version");
        let (value, v1) = s.get("k");
        assert_eq!(value, None, "an empty value reads as no bytes");
        assert!(v1.is_some());
        assert!(s.set("k", b"a", v1));
        assert!(!s.set("k", b"b", v1), "a stale version is refused");
        let (value, v2) = s.get("k");
        assert_eq!(value.as_deref(), Some(&b"a"[..]));
        assert_ne!(v1, v2);
        assert!(s.set("k", b"c", None), "no version: always written");
        assert!(s.set("new", b"x", Some(42)), "a key never written takes any version");
    }
}
