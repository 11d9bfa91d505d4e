//! Which servers already answer 2026-07-28 clients with complete results (`resultType`, and
//! the caching keys on cacheable ones): learnt from one answer per server, config generation
//! and kind of result, so that their later answers are relayed unread (see
//! `client::relay::complete_results`).
//!
//! Remembering one compliant answer is safe enough: a server either implements the 2026-07-28
//! result schema or it does not, and an SDK stamps every result it builds alike. Only the
//! kind of result is told apart (one with the caching keys, one without), because a server
//! may have been written to stamp `resultType` before it learnt the caching hints. A new
//! config generation (the server's URL may now name another program) forgets it all.

use std::collections::HashMap;
use std::sync::Mutex;

use mcpgw_common::protocol::stateless_result::Required;

/// `(server, whether the result is a cacheable one)` → the config generation in which one of
/// its answers was seen complete. Bounded by twice the number of configured servers.
#[derive(Debug, Default)]
pub struct ResultCompliance {
    known: Mutex<HashMap<(String, bool), u64>>,
}

impl ResultCompliance {
    /// Whether `server` was seen answering a result that needs `required` complete, in
    /// `generation`.
    pub fn complies(&self, server: &str, generation: u64, required: Required) -> bool {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.get(&(server.to_string(), required.caching)) == Some(&generation)
    }

    /// Records that `server` answered a result needing `required` with everything in it.
    pub fn remember(&self, server: &str, generation: u64, required: Required) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.insert((server.to_string(), required.caching), generation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpgw_common::protocol::Method;

    #[test]
    fn per_server_generation_and_kind() {
        let c = ResultCompliance::default();
        let call = Required::of(Method::ToolsCall);
        let read = Required::of(Method::ResourcesRead);
        assert!(!c.complies("a", 1, call));
        c.remember("a", 1, call);
        assert!(c.complies("a", 1, call));
        assert!(c.complies("a", 1, Required::of(Method::PromptsGet)), "same kind of result");
        assert!(!c.complies("a", 1, read), "the caching keys are learnt on their own");
        assert!(!c.complies("b", 1, call));
        assert!(!c.complies("a", 2, call), "a new generation forgets");
    }
}
