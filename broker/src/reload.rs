//! Hot reload: the config file is polled (mtime and size, once a second). A valid new file
//! becomes the next generation; in-flight requests finish on the generation they started
//! with. An invalid file is refused with a log line and shown in `/status`; the last good
//! configuration stays in force. Whoever else in this process follows the configuration
//! (`mcp-gateway up`, which re-renders Envoy's from it) is told of each generation installed
//! ([`Reloads`]) rather than watching and reading the file a second time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mcpgw_common::gateway::ResolvedConfig;

use crate::state::App;
use crate::config::Runtime;

/// Where the reloader publishes each configuration it installs, secrets resolved: a watch
/// channel, so a slow reader skips to the latest instead of queueing.
pub type Reloads = tokio::sync::watch::Sender<Arc<ResolvedConfig>>;

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Checks the file once; returns whether a new generation was installed.
pub fn reload_now(app: &App, path: &Path, reloads: Option<&Reloads>) -> bool {
    let next = app.runtime().generation + 1;
    let loaded = ResolvedConfig::read(path).and_then(|resolved| Ok((Runtime::new(&resolved, next)?, resolved)));
    match loaded {
        Ok((rt, resolved)) => {
            if rt.config.broker.listen != app.runtime().config.broker.listen {
                tracing::warn!("broker.listen changed: it takes effect on the next restart");
            }
            app.install(rt);
            app.set_load_error(None);
            app.metrics.reload("ok");
            tracing::info!(generation = next, path = %path.display(), "configuration reloaded");
            if let Some(r) = reloads {
                r.send_replace(Arc::new(resolved));
            }
            true
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "configuration refused; the last good one stays in force");
            app.set_load_error(Some(e));
            app.metrics.reload("error");
            false
        }
    }
}

pub fn spawn(app: Arc<App>, path: PathBuf, every: Duration, reloads: Option<Reloads>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = stamp(&path);
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let now = stamp(&path);
            if now != last && now.is_some() {
                last = now;
                reload_now(&app, &path, reloads.as_ref());
            }
        }
    })
}
