//! The tool hints the backends declared (`readOnlyHint`, `destructiveHint`, `idempotentHint`,
//! `openWorldHint` on their `tools/list` items), learnt from every complete `tools/list` the
//! broker fetches and served on `GET /tool-hints`, from which `mcp-gateway up` hands them to
//! the filter (`mcpgw_common::tool_hints`: the filter never sees a list).
//!
//! A server's hints are replaced as a whole by each list fetched from it (a tool gone from
//! the list, or listed without hints again, falls back to the defaults), and only what a
//! backend declared is kept. Bounded: names the filter would refuse (over 128 characters) are
//! skipped, and at most [`MAX_TOOLS_PER_SERVER`] tools are kept per server.

use std::collections::BTreeMap;
use std::sync::Mutex;

use mcpgw_common::limits::MAX_NAME_CHARS;
use mcpgw_common::tool_hints::{Annotations, LearnedHints};

/// More hinted tools than this per server are not kept (each is one line of the filter's
/// configuration).
pub const MAX_TOOLS_PER_SERVER: usize = 4096;

#[derive(Default)]
pub struct ToolHints {
    map: Mutex<LearnedHints>,
}

impl ToolHints {
    fn lock(&self) -> std::sync::MutexGuard<'_, LearnedHints> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What one complete list of `server` declared (own tool name → hints).
    pub fn learn(&self, server: &str, declared: BTreeMap<String, Annotations>) {
        let declared: BTreeMap<String, Annotations> = declared
            .into_iter()
            .filter(|(name, a)| !a.is_empty() && name.chars().count() <= MAX_NAME_CHARS)
            .take(MAX_TOOLS_PER_SERVER)
            .collect();
        let mut map = self.lock();
        if declared.is_empty() {
            map.remove(server);
        } else if map.get(server) != Some(&declared) {
            tracing::info!(server, tools = declared.len(), "tool hints learnt");
            map.insert(server.to_string(), declared);
        }
    }

    /// Keeps only the servers `keep` says still are the ones the hints were learnt from.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.lock().retain(|s, _| keep(s));
    }

    pub fn snapshot(&self) -> LearnedHints {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ro() -> Annotations {
        Annotations { read_only_hint: Some(true), ..Annotations::default() }
    }

    #[test]
    fn a_list_replaces_what_the_server_declared_before() {
        let hints = ToolHints::default();
        hints.learn("alpha", [("a".to_string(), ro()), ("b".to_string(), ro()), ("bare".to_string(), Annotations::default())].into());
        hints.learn("beta", [("x".to_string(), ro())].into());
        assert_eq!(hints.snapshot()["alpha"].keys().collect::<Vec<_>>(), ["a", "b"]);
        hints.learn("alpha", [("b".to_string(), ro())].into());
        assert_eq!(hints.snapshot()["alpha"].keys().collect::<Vec<_>>(), ["b"]);
        hints.learn("alpha", BTreeMap::new());
        assert!(!hints.snapshot().contains_key("alpha"));
        hints.retain(|s| s != "beta");
        assert!(hints.snapshot().is_empty());
    }

    #[test]
    fn bounded() {
        let hints = ToolHints::default();
        let many = (0..MAX_TOOLS_PER_SERVER + 10).map(|i| (format!("t{i}"), ro())).chain([("x".repeat(129), ro())]);
        hints.learn("alpha", many.collect());
        let got = &hints.snapshot()["alpha"];
        assert_eq!(got.len(), MAX_TOOLS_PER_SERVER);
        assert!(got.keys().all(|k| k.len() < 129));
    }
}
