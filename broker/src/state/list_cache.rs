//! The per-backend list cache: `(server, list method)` → the backend's whole list, already
//! exposed (prefixed, filtered). Shared by all sessions, so only servers whose lists do not
//! depend on the caller are cached (see the README). Invalidated by a backend's
//! `list_changed`, by reload, and by TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Entry {
    pub items: Arc<Vec<Box<serde_json::value::RawValue>>>,
    pub expires: Instant,
}

#[derive(Default)]
pub struct ListCache {
    map: Mutex<HashMap<(String, &'static str), Entry>>,
}

impl ListCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, &'static str), Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, server: &str, method: &'static str) -> Option<Entry> {
        let now = Instant::now();
        self.lock().get(&(server.to_string(), method)).filter(|e| e.expires > now).cloned()
    }

    pub fn put(&self, server: &str, method: &'static str, items: Arc<Vec<Box<serde_json::value::RawValue>>>, ttl: Duration) {
        self.lock().insert((server.to_string(), method), Entry { items, expires: Instant::now() + ttl });
    }

    /// Drops what a `list_changed` notification makes stale.
    pub fn invalidate_for_notification(&self, server: &str, notification: &str) {
        let methods: &[&str] = match notification {
            "notifications/tools/list_changed" => &["tools/list"],
            "notifications/prompts/list_changed" => &["prompts/list"],
            "notifications/resources/list_changed" => &["resources/list", "resources/templates/list"],
            _ => return,
        };
        tracing::debug!(server, notification, "list cache invalidated");
        self.lock().retain(|(s, m), _| !(s == server && methods.contains(m)));
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}
