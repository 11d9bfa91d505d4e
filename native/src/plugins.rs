//! One [`Plugin`] per Envoy worker thread and filter configuration, as the wasm host has one
//! per worker VM.
//!
//! Envoy creates a filter configuration once, on the main thread, and then creates the
//! per-stream filters on its workers. The plugin holds per-worker state that is deliberately
//! not shared (the opened-token cache, what each server was seen answering: cells, no locks
//! on the hot path), so each worker builds its own from the configuration's JSON the first
//! time it sees that configuration, and keeps it in a thread-local list. Counters are defined
//! once, on the main thread (Envoy defines metrics only there); the workers' plugins reuse
//! their ids through [`Replay`].
//!
//! A configuration that Envoy destroyed (an update replaced it) is dropped from a worker's
//! list the next time that worker builds a plugin: the list holds a `Weak` to the
//! configuration's liveness token.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Weak};

use mcpgw_filter::host::RootHost;
use mcpgw_filter::plugin::Plugin;

/// What the main thread keeps of a configuration: the filter's JSON and the counters it
/// defined, by name.
#[derive(Debug)]
pub struct Shared {
    pub json: Vec<u8>,
    pub counters: Vec<(String, u32)>,
    /// Alive while Envoy holds the configuration.
    pub alive: Arc<()>,
}

impl Shared {
    /// Validates `json` and defines the counters with `root` (main thread).
    pub fn configure(root: &mut dyn RootHost, json: &[u8]) -> Result<Shared, String> {
        let mut recording = Record { inner: root, counters: Vec::new() };
        Plugin::configure(&mut recording, json)?;
        Ok(Shared { json: json.to_vec(), counters: recording.counters, alive: Arc::new(()) })
    }

    /// This worker's plugin for the configuration, built on first use.
    pub fn plugin(&self) -> Result<Rc<Plugin>, String> {
        let key = Arc::as_ptr(&self.alive) as usize;
        WORKER_PLUGINS.with(|list| {
            let mut list = list.borrow_mut();
            if let Some((_, _, plugin)) = list.iter().find(|(k, alive, _)| *k == key && alive.strong_count() > 0) {
                return Ok(Rc::clone(plugin));
            }
            list.retain(|(_, alive, _)| alive.strong_count() > 0);
            let plugin = Rc::new(Plugin::configure(&mut Replay { counters: &self.counters }, &self.json)?);
            list.push((key, Arc::downgrade(&self.alive), Rc::clone(&plugin)));
            Ok(plugin)
        })
    }
}

type WorkerPlugins = Vec<(usize, Weak<()>, Rc<Plugin>)>;

thread_local! {
    static WORKER_PLUGINS: RefCell<WorkerPlugins> = const { RefCell::new(Vec::new()) };
}

/// Defines counters with the host and records their ids by name.
struct Record<'a> {
    inner: &'a mut dyn RootHost,
    counters: Vec<(String, u32)>,
}

impl RootHost for Record<'_> {
    fn define_counter(&mut self, name: &str) -> Option<u32> {
        let id = self.inner.define_counter(name)?;
        self.counters.push((name.to_string(), id));
        Some(id)
    }
}

/// Answers the counter ids the main thread defined.
struct Replay<'a> {
    counters: &'a [(String, u32)],
}

impl RootHost for Replay<'_> {
    fn define_counter(&mut self, name: &str) -> Option<u32> {
        self.counters.iter().find(|(n, _)| n == name).map(|(_, id)| *id)
    }
}

#[cfg(test)]
mod tests {
    use mcpgw_filter::recording_host::RecordingRoot;

    use super::*;

    const CONFIG: &str = r#"{
        "broker": {"authority": "broker.mcp.internal"},
        "servers": [{"name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal"}],
        "session": {"keys": ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="]}
    }"#;

    #[test]
    fn a_worker_builds_its_plugin_once_with_the_main_threads_counter_ids() {
        let mut root = RecordingRoot::default();
        let shared = Shared::configure(&mut root, CONFIG.as_bytes()).unwrap();
        assert!(!shared.counters.is_empty());
        // Another thread gets its own plugin; the same thread gets the same one.
        let here = shared.plugin().unwrap();
        assert!(Rc::ptr_eq(&here, &shared.plugin().unwrap()));
        let main_stats = format!("{:?}", here.stats);
        let shared = Arc::new(shared);
        let (other, same_ids) = std::thread::scope(|s| {
            s.spawn(|| {
                let p = shared.plugin().unwrap();
                (Rc::as_ptr(&p) as usize, format!("{:?}", p.stats) == main_stats)
            })
            .join()
            .unwrap()
        });
        assert_ne!(other, Rc::as_ptr(&here) as usize, "one plugin per worker");
        assert!(same_ids, "a worker's counters are the ids the main thread defined");
    }

    #[test]
    fn a_destroyed_configuration_is_dropped_by_the_next_one_a_worker_builds() {
        let mut root = RecordingRoot::default();
        let first = Shared::configure(&mut root, CONFIG.as_bytes()).unwrap();
        let p = first.plugin().unwrap();
        let weak = Rc::downgrade(&p);
        drop(p);
        drop(first);
        let second = Shared::configure(&mut root, CONFIG.as_bytes()).unwrap();
        let _p2 = second.plugin().unwrap();
        assert!(weak.upgrade().is_none(), "the destroyed configuration's plugin was dropped");
    }

    #[test]
    fn a_bad_configuration_is_refused_on_the_main_thread() {
        assert!(Shared::configure(&mut RecordingRoot::default(), b"{}").is_err());
    }
}
