//! A bounded map whose entries expire with the gateway session they belong to: the table of
//! backend sessions this broker holds for gateway sessions, and of the log levels they set.

use std::collections::HashMap;

/// At most this many backend sessions (and remembered log levels) are held; a full map first
/// drops expired entries, then the one whose token expires soonest (that session's next
/// broker path to the server opens another; its calls keep the one the filter learnt).
pub const MAX_HELD_SESSIONS: usize = 100_000;

/// A bounded map whose entries expire with the gateway session they belong to.
#[derive(Debug)]
pub struct Expiring<K, V> {
    entries: HashMap<K, (V, u64)>,
    capacity: usize,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Expiring<K, V> {
    pub fn new(capacity: usize) -> Expiring<K, V> {
        Expiring { entries: HashMap::new(), capacity: capacity.max(1) }
    }

    pub fn get(&self, key: &K, now: u64) -> Option<V> {
        self.entries.get(key).filter(|(_, exp)| *exp > now).map(|(v, _)| v.clone())
    }

    pub fn insert(&mut self, key: K, value: V, expires_at: u64, now: u64) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.entries.retain(|_, (_, exp)| *exp > now);
            while self.entries.len() >= self.capacity {
                let soonest = self.entries.iter().min_by_key(|(_, (_, exp))| *exp).map(|(k, _)| k.clone());
                match soonest {
                    Some(k) => self.entries.remove(&k),
                    None => break,
                };
            }
        }
        self.entries.insert(key, (value, expires_at));
    }

    /// [`Expiring::insert`] unless `key` holds an unexpired value; whether it inserted.
    pub fn insert_missing(&mut self, key: K, value: V, expires_at: u64, now: u64) -> bool {
        if self.get(&key, now).is_some() {
            return false;
        }
        self.insert(key, value, expires_at, now);
        true
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.entries.retain(|k, _| keep(k));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

