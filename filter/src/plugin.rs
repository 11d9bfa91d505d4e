//! Plugin-wide state: the validated configuration and counter ids, shared by every stream of
//! one worker's VM.

use mcpgw_common::config::{CompiledConfig, FilterConfig};

use crate::host::RootHost;
use crate::session_cache::{SessionCache, DEFAULT_CAPACITY};
use crate::stats::Stats;

#[derive(Debug)]
pub struct Plugin {
    pub config: CompiledConfig,
    pub stats: Stats,
    /// Tokens already opened by this VM.
    pub sessions: SessionCache,
}

impl Plugin {
    /// Validates the plugin configuration and defines the counters. The error is the log
    /// line: it names the field that is wrong.
    pub fn configure(host: &mut dyn RootHost, json: &[u8]) -> Result<Plugin, String> {
        let config = FilterConfig::from_json(json)?;
        let names: Vec<String> = config.servers.iter().map(|s| s.name.clone()).collect();
        let stats = Stats::define(host, &names);
        Ok(Plugin { config, stats, sessions: SessionCache::new(DEFAULT_CAPACITY) })
    }

    /// Whether `path` (query ignored) is an MCP endpoint.
    pub fn is_mcp_path(&self, path: &str) -> bool {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        self.config.mcp_paths.iter().any(|p| p == path)
    }
}
