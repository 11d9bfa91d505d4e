//! Plugin-wide state: the validated configuration and counter ids, shared by every stream of
//! one worker's VM, and which `sessionless` servers were seen answering 2026-07-28 results
//! complete (their later answers then pass unread).

use std::cell::Cell;

use mcpgw_common::config::{CompiledConfig, FilterConfig};
use mcpgw_common::protocol::stateless_result::Required;

use crate::claims_cache::ClaimsCache;
use crate::host::RootHost;
use crate::session_cache::{SessionCache, DEFAULT_CAPACITY};
use crate::stats::Stats;

#[derive(Debug)]
pub struct Plugin {
    pub config: CompiledConfig,
    pub stats: Stats,
    /// Tokens already opened by this VM.
    pub sessions: SessionCache,
    /// Access rules already matched per verified payload header, by this VM.
    pub claims: ClaimsCache,
    /// Per server (by index): the kinds of result it was seen answering complete for a
    /// 2026-07-28 client ([`COMPLETE_PLAIN`], [`COMPLETE_CACHEABLE`]). A server either
    /// implements the 2026-07-28 result schema or it does not, so one complete answer is
    /// enough: its later answers pass unread. Per VM, and forgotten with the configuration.
    complete_results: Vec<Cell<u8>>,
}

/// A server answers results without the caching keys (`tools/call`, …) complete.
const COMPLETE_PLAIN: u8 = 1;
/// A server answers cacheable results (`resources/read`) complete.
const COMPLETE_CACHEABLE: u8 = 2;

fn kind_bit(required: Required) -> u8 {
    if required.caching {
        COMPLETE_CACHEABLE
    } else {
        COMPLETE_PLAIN
    }
}

impl Plugin {
    /// Validates the plugin configuration and defines the counters. The error is the log
    /// line: it names the field that is wrong.
    pub fn configure(host: &mut dyn RootHost, json: &[u8]) -> Result<Plugin, String> {
        let config = FilterConfig::from_json(json)?;
        let names: Vec<String> = config.servers.iter().map(|s| s.name.clone()).collect();
        let stats = Stats::define(host, &names);
        let complete_results = config.servers.iter().map(|_| Cell::new(0)).collect();
        let claims = ClaimsCache::new(crate::claims_cache::DEFAULT_CAPACITY);
        Ok(Plugin { config, stats, sessions: SessionCache::new(DEFAULT_CAPACITY), claims, complete_results })
    }

    /// Which MCP endpoint `path` (query ignored) is: the gateway's own (`Some(None)`), a
    /// virtual server's `<mcp path>/<name>` (`Some(Some(index))`), or none. Matched as sent,
    /// byte for byte: an encoded or dotted spelling of a virtual server's path is no MCP
    /// endpoint, so the filter leaves it alone and Envoy's routes answer it 404.
    pub fn mcp_endpoint(&self, path: &str) -> Option<Option<usize>> {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let scope = &self.config.scope;
        self.config.mcp_paths.iter().find_map(|p| {
            if p == path {
                return Some(None);
            }
            let name = path.strip_prefix(p.trim_end_matches('/'))?.strip_prefix('/')?;
            scope.virtual_server(name).map(Some)
        })
    }

    /// Whether server `index` was seen answering a result needing `required` complete.
    pub fn answers_complete(&self, index: usize, required: Required) -> bool {
        self.complete_results.get(index).is_some_and(|c| c.get() & kind_bit(required) != 0)
    }

    /// Records that server `index` answered a result needing `required` complete.
    pub fn learn_answers_complete(&self, index: usize, required: Required) {
        if let Some(c) = self.complete_results.get(index) {
            c.set(c.get() | kind_bit(required));
        }
    }
}
