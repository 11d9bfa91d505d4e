//! Hot reload: the config file is polled (mtime and size, once a second). A valid new file
//! becomes the next generation; in-flight requests finish on the generation they started
//! with. An invalid file is refused with a log line and shown in `/status`; the last good
//! configuration stays in force.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::app::App;
use crate::config;

fn stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Checks the file once; returns whether a new generation was installed.
pub fn reload_now(app: &App, path: &std::path::Path) -> bool {
    let next = app.runtime().generation + 1;
    match config::load(path, next) {
        Ok(rt) => {
            if rt.config.broker.listen != app.runtime().config.broker.listen {
                tracing::warn!("broker.listen changed: it takes effect on the next restart");
            }
            app.install(rt);
            app.set_load_error(None);
            app.metrics.reload("ok");
            tracing::info!(generation = next, path = %path.display(), "configuration reloaded");
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

pub fn spawn(app: Arc<App>, path: PathBuf, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = stamp(&path);
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let now = stamp(&path);
            if now != last && now.is_some() {
                last = now;
                reload_now(&app, &path);
            }
        }
    })
}
