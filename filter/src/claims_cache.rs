//! Access rules matched per verified JWT payload, per worker VM (`mcpgw_common::scope`).
//!
//! A client sends the same token, so the same payload header, on every request until the token
//! expires, and matching it (base64, JSON, the rules' claims) is the largest part of what access
//! rules cost a routed call (GOVERNANCE.md, "What it costs"). The answer is a pure function of
//! the configuration and the header's text, so it is remembered by that text; a new plugin
//! configuration starts with an empty cache. Bounded as the session cache is: two generations
//! of at most `capacity` entries, a hit in the old one moves back to the young one.

use std::cell::RefCell;
use std::collections::HashMap;

use mcpgw_common::scope::Scope;

pub const DEFAULT_CAPACITY: usize = 1024;

/// Headers longer than this are matched every time, not remembered (a payload is a few
/// hundred bytes; a huge one would only fill memory).
const MAX_KEY_BYTES: usize = 4096;

/// Payload header text → the bitmask of access rules it matches.
type Matched = HashMap<Box<str>, u64>;

#[derive(Debug)]
pub struct ClaimsCache {
    capacity: usize,
    /// (young, old).
    generations: RefCell<(Matched, Matched)>,
}

impl ClaimsCache {
    pub fn new(capacity: usize) -> ClaimsCache {
        ClaimsCache { capacity: capacity.max(1), generations: RefCell::default() }
    }

    /// The access rules `payload` matches under `scope` ([`Scope::rules_of`]), remembered.
    pub fn rules_of(&self, scope: &Scope, payload: Option<&str>) -> u64 {
        let Some(text) = payload.filter(|p| p.len() <= MAX_KEY_BYTES) else { return scope.rules_of(payload) };
        // Re-entrance cannot happen on one worker; if it did, compute rather than panic.
        let Ok(mut g) = self.generations.try_borrow_mut() else { return scope.rules_of(payload) };
        let (young, old) = &mut *g;
        if let Some(rules) = young.get(text) {
            return *rules;
        }
        let rules = match old.remove(text) {
            Some(rules) => rules,
            None => scope.rules_of(payload),
        };
        if young.len() >= self.capacity {
            *old = std::mem::take(young);
        }
        young.insert(text.into(), rules);
        rules
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use mcpgw_common::scope::{AccessRule, Identity, OneOrMany};

    use super::*;

    #[test]
    fn remembers_what_the_scope_says_and_stays_bounded() {
        let rule = AccessRule { when: [("g".to_string(), OneOrMany::One("x".into()))].into(), tools: vec!["*".into()], ..Default::default() };
        let scope = Scope::new(vec![], Some(Identity::default()), Some(vec![rule])).unwrap();
        let cache = ClaimsCache::new(2);
        // {"g":"x"} and {"g":"y"}, base64url.
        let (x, y) = ("eyJnIjoieCJ9", "eyJnIjoieSJ9");
        for _ in 0..3 {
            assert_eq!(cache.rules_of(&scope, Some(x)), 1);
            assert_eq!(cache.rules_of(&scope, Some(y)), 0);
            assert_eq!(cache.rules_of(&scope, None), 0);
        }
        for i in 0..10 {
            cache.rules_of(&scope, Some(&format!("{x}{i}")));
        }
        let g = cache.generations.borrow();
        assert!(g.0.len() <= 2 && g.1.len() <= 2);
    }
}
