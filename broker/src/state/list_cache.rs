//! The per-backend list cache: `(server, list method)` → the backend's whole list, already
//! exposed (prefixed, filtered). Shared by all sessions, so only servers whose lists do not
//! depend on the caller are cached (see the README). Invalidated by a backend's
//! `list_changed`, by reload, and by TTL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Entry {
    pub items: Arc<Vec<Listed>>,
    pub expires: Instant,
}

/// One exposed item of a backend's list: serialised once (a cached list is answered by
/// copying bytes), with the name (or URI) clients see, which each request's scope selects by
/// (`mcpgw_common::scope`). The cache holds every exposed item: what one caller may see is
/// chosen per request, so a list cached for one identity or virtual server never shows another
/// more than its own scope.
#[derive(Debug)]
pub struct Listed {
    pub exposed: String,
    pub raw: Box<serde_json::value::RawValue>,
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

    pub fn put(&self, server: &str, method: &'static str, items: Arc<Vec<Listed>>, ttl: Duration) {
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
