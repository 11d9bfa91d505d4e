//! The per-server capability cache: what probing each server taught the broker (whether it
//! speaks 2026-07-28, its capabilities and instructions), per config generation and per
//! view, so that `initialize` and `server/discover` open no backend session. The probing
//! itself is the client's (`client::capability_probe`); this is only what it keeps.
//!
//! A server with `forward_authorization` is probed with the caller's own `Authorization`, and
//! that answer is cached for that credential alone (see [`View`]): what a backend tells one
//! token holder is never shown to another.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;

use crate::config::Server;

/// What probing a server taught the broker.
#[derive(Debug, Clone)]
pub struct ProbedServer {
    /// It answered `server/discover` with 2026-07-28 (else it speaks the session protocol
    /// only, and 2026-07-28 clients reach it through a throwaway backend session).
    pub speaks_stateless: bool,
    pub capabilities: serde_json::Value,
    pub instructions: Option<String>,
}

/// Whose view of a server a cached probe is: `None`, the view shared by every caller (a server
/// that is not sent the client's `Authorization`, or a caller that sent none); `Some`, the
/// SHA-256 of the `Authorization` a `forward_authorization` server was probed with. A backend
/// may answer each credential differently (capabilities, personalised `instructions`), so one
/// caller's answer is never given to another, and an entry is only ever probed (and
/// refreshed) with its own credential. A digest, not the value, so that no bearer token is
/// kept beyond the request that carried it.
pub type View = Option<[u8; 32]>;

/// The view `auth` gets of `server` (see [`View`]).
pub fn view(server: &Server, auth: Option<&HeaderValue>) -> View {
    use sha2::Digest;
    let auth = auth.filter(|_| server.forward_authorization)?;
    Some(sha2::Sha256::digest(auth.as_bytes()).into())
}

/// A cached probe older than this is used once more and refreshed in the background.
pub const REFRESH_AFTER: Duration = Duration::from_secs(300);

/// At most this many probe answers are kept (all servers and views together); a full cache
/// first drops the per-credential ones due for a refresh, then the oldest per-credential one.
/// Each is the answer to one request, so a dropped one costs its caller's next `initialize`
/// one probe.
pub const MAX_CREDENTIAL_VIEWS: usize = 10_000;

/// One cached probe: the config generation it was made in, its answer, when it was made.
#[derive(Debug, Clone)]
struct Entry {
    generation: u64,
    probed: ProbedServer,
    at: Instant,
}

/// `(server name, view)` → the probe's answer.
#[derive(Debug, Default)]
pub struct CapabilityCache {
    entries: Mutex<HashMap<(String, View), Entry>>,
}

impl CapabilityCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, View), Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What `server` answered this view in config generation `generation`, if it was probed.
    pub fn get(&self, server: &str, view: View, generation: u64) -> Option<ProbedServer> {
        self.lock().get(&(server.to_string(), view)).filter(|e| e.generation == generation).map(|e| e.probed.clone())
    }

    pub fn insert(&self, server: &str, view: View, generation: u64, probed: ProbedServer) {
        let mut entries = self.lock();
        let key = (server.to_string(), view);
        // Bounded by the per-credential entries (the shared ones are one per server).
        if view.is_some() && !entries.contains_key(&key) && entries.len() >= MAX_CREDENTIAL_VIEWS {
            entries.retain(|(_, v), e| v.is_none() || e.at.elapsed() < REFRESH_AFTER);
            while entries.len() >= MAX_CREDENTIAL_VIEWS {
                let oldest = entries.iter().filter(|((_, v), _)| v.is_some()).min_by_key(|(_, e)| e.at).map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => entries.remove(&k),
                    None => break,
                };
            }
        }
        entries.insert(key, Entry { generation, probed, at: Instant::now() });
    }

    /// How long ago `server` was probed for this view, if it was.
    pub fn age(&self, server: &str, view: View) -> Option<Duration> {
        self.lock().get(&(server.to_string(), view)).map(|e| e.at.elapsed())
    }

    /// Marks `server`'s probe for this view as just made (a refresh is under way: no second
    /// one starts).
    pub fn touch(&self, server: &str, view: View) {
        if let Some(e) = self.lock().get_mut(&(server.to_string(), view)) {
            e.at = Instant::now();
        }
    }

    /// Forgets every view of `server` (it may be down: the next use probes it again).
    pub fn forget_server(&self, server: &str) {
        self.lock().retain(|(s, _), _| s != server);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}
