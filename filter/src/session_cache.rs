//! Opened session tokens, per worker VM.
//!
//! A client sends the same token on every request of its session, and opening one (base64,
//! XChaCha20-Poly1305, decode) is the largest single cost of a routed call. Only tokens that
//! opened are remembered, keyed by the whole token text, so a cache hit is exactly as
//! trustworthy as a fresh open; expiry and subject are still checked on every request by the
//! caller. A new plugin configuration (e.g. a rotated key) starts with an empty cache.
//!
//! Bounded without a dependency: two generations of at most `capacity` entries each; when
//! the young one is full it becomes the old one and the previous old one is dropped, and a
//! hit in the old generation moves the entry back to the young one. Memory is at most
//! `2 × capacity` entries; sessions in steady use stay cached.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use mcpgw_common::session::SessionClaims;

pub const DEFAULT_CAPACITY: usize = 1024;

#[derive(Debug)]
pub struct SessionCache {
    capacity: usize,
    generations: RefCell<Generations>,
    /// Sessions ended by a `DELETE` whose revocation could not be written to shared data
    /// (session id → token expiry): this VM refuses them anyway. At most `capacity`.
    refused: RefCell<HashMap<Box<str>, u64>>,
}

#[derive(Debug, Default)]
struct Generations {
    young: HashMap<Box<str>, Rc<SessionClaims>>,
    old: HashMap<Box<str>, Rc<SessionClaims>>,
}

impl SessionCache {
    pub fn new(capacity: usize) -> SessionCache {
        SessionCache { capacity: capacity.max(1), generations: RefCell::default(), refused: RefCell::default() }
    }

    /// Refuses the session `id` on this VM until `expires_at` (its revocation could not be
    /// shared). Full: expired entries go, then the one closest to its expiry.
    pub fn refuse(&self, id: &str, expires_at: u64, now: u64) {
        let Ok(mut refused) = self.refused.try_borrow_mut() else { return };
        refused.retain(|_, expires| *expires > now);
        if refused.len() >= self.capacity {
            let soonest = refused.iter().min_by_key(|(_, e)| **e).map(|(k, _)| k.clone());
            if let Some(k) = soonest {
                refused.remove(&k);
            }
        }
        refused.insert(id.into(), expires_at);
    }

    /// Whether this VM refuses the session `id` ([`SessionCache::refuse`]).
    pub fn is_refused(&self, id: &str, now: u64) -> bool {
        self.refused.try_borrow().ok().is_some_and(|r| !r.is_empty() && r.get(id).is_some_and(|e| *e > now))
    }

    pub fn get(&self, token: &str) -> Option<Rc<SessionClaims>> {
        let mut g = self.generations.try_borrow_mut().ok()?;
        if let Some(c) = g.young.get(token) {
            return Some(Rc::clone(c));
        }
        let (key, claims) = g.old.remove_entry(token)?;
        let found = Rc::clone(&claims);
        Self::insert_into(&mut g, self.capacity, key, claims);
        Some(found)
    }

    pub fn insert(&self, token: &str, claims: Rc<SessionClaims>) {
        if let Ok(mut g) = self.generations.try_borrow_mut() {
            Self::insert_into(&mut g, self.capacity, token.into(), claims);
        }
    }

    fn insert_into(g: &mut Generations, capacity: usize, key: Box<str>, claims: Rc<SessionClaims>) {
        if g.young.len() >= capacity {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, claims);
    }

    /// Forgets a token (its session was ended).
    pub fn remove(&self, token: &str) {
        if let Ok(mut g) = self.generations.try_borrow_mut() {
            g.young.remove(token);
            g.old.remove(token);
        }
    }

    /// Entries held (both generations).
    pub fn len(&self) -> usize {
        self.generations.try_borrow().map_or(0, |g| g.young.len() + g.old.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn refused_sessions_are_bounded_and_expire() {
        let c = SessionCache::new(2);
        c.refuse("a", 100, 10);
        assert!(c.is_refused("a", 50) && !c.is_refused("a", 100) && !c.is_refused("b", 50));
        c.refuse("b", 200, 10);
        c.refuse("c", 300, 10);
        assert!(!c.is_refused("a", 50), "the one closest to its expiry went");
        assert!(c.is_refused("b", 50) && c.is_refused("c", 50));
    }

    fn claims(id: &str) -> Rc<SessionClaims> {
        Rc::new(SessionClaims {
            id: id.into(),
            issued_at: 0,
            expires_at: 10,
            subject: None,
            protocol_version: "v".into(),
            accepts_server_requests: false,
            virtual_server: None,
            elicitation: false,
        })
    }

    #[test]
    fn bounded_and_keeps_what_is_in_use() {
        let c = SessionCache::new(2);
        c.insert("a", claims("a"));
        c.insert("b", claims("b"));
        c.insert("c", claims("c")); // a, b become old
        assert_eq!(c.get("a").unwrap().id, "a"); // promoted
        c.insert("d", claims("d")); // young {c, a} full → old; b dropped
        assert!(c.get("b").is_none());
        assert!(c.get("a").is_some() && c.get("c").is_some() && c.get("d").is_some());
        assert!(c.len() <= 4);
        assert!(c.get("zzz").is_none());
        c.remove("a");
        c.remove("c");
        assert!(c.get("a").is_none() && c.get("c").is_none() && c.get("d").is_some());
    }
}
