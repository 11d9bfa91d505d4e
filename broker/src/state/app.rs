//! The broker's shared state: the config generation in force, the HTTP connection pool
//! towards backends (used by the client layer alone), per-server health, the caches, the
//! backend-session table, metrics, the open client streams and the gateway's own events.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::config::Runtime;
use crate::state::capability_cache::{CapabilityCache, ProbedServer, View};
use crate::state::confirmations::Confirmations;
use crate::state::expiring::{Expiring, MAX_HELD_SESSIONS};
use crate::state::list_cache::ListCache;
use crate::state::metrics::Metrics;
use crate::state::result_compliance::ResultCompliance;
use crate::state::tool_hints::ToolHints;

/// What `/status` shows per server.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Health {
    /// `None` until the broker has talked to it.
    pub reachable: Option<bool>,
    /// The details (addresses, OS errors): the log and the credential-holder's `/status` only.
    pub last_error: Option<String>,
    /// The error kind alone (connect, timeout, status, protocol, rpc, session).
    pub last_error_kind: Option<String>,
    pub last_error_at: Option<u64>,
    pub last_ok_at: Option<u64>,
    pub tool_count: Option<usize>,
    /// Whether it answered `server/discover` for 2026-07-28 (`None`: not probed yet).
    pub speaks_2026: Option<bool>,
}

/// One message relayed to a client's stream, with its SSE event id as the client sees it
/// (`<server>:<backend's event id>`, see `client::backend_stream::event_id`).
pub type Relayed = (Option<String>, serde_json::Value);

/// `(gateway session id, server name)`.
pub type SessionServer = (String, String);

pub struct App {
    pub rt: ArcSwap<Runtime>,
    /// The connection pool towards backends: only the client layer (`client::`) calls it.
    pub http: reqwest::Client,
    pub config_path: Option<PathBuf>,
    pub load_error: Mutex<Option<String>>,
    pub health: Mutex<HashMap<String, Health>>,
    pub list_cache: ListCache,
    pub metrics: Metrics,
    /// Gateway-originated notifications (list_changed after a reload) for every open stream.
    pub events: broadcast::Sender<serde_json::Value>,
    /// What each server's probe learnt, per server and view (shared, or one credential's).
    pub capabilities: CapabilityCache,
    /// One probe at a time per server and view (sharded).
    pub probe_locks: Vec<tokio::sync::Mutex<()>>,
    /// Which servers answer 2026-07-28 clients with complete results already (their later
    /// answers are relayed unread).
    pub result_compliance: ResultCompliance,
    /// The hints each backend declared for its tools, learnt from its lists (`GET /tool-hints`).
    pub tool_hints: ToolHints,
    /// The confirmation questions this broker waits on (session protocol).
    pub confirmations: Confirmations,
    /// Sessions ended by DELETE on this replica (id → expiry), refused until they expire.
    pub revoked: Mutex<HashMap<String, u64>>,
    /// The backend sessions this broker holds (`(session id, server)` → backend session id,
    /// empty when the backend issued none): opened on a session's first use of a server, or
    /// as a replacement after a backend forgot one, or learnt from the filter. Memory only,
    /// bounded, each entry kept until its token expires (see `client::backend_sessions`).
    backend_sessions: Mutex<Expiring<SessionServer, String>>,
    /// The log level each session last set through this broker, restored on a replacement.
    log_levels: Mutex<Expiring<String, String>>,
    /// One backend session is opened at a time per pair (a burst of 404s opens one, not one
    /// each; sharded).
    pub backend_session_locks: Vec<tokio::sync::Mutex<()>>,
    /// Open GET streams by session id, to tell a session what a backend restart cost it.
    client_streams: Mutex<HashMap<String, Vec<tokio::sync::mpsc::Sender<Relayed>>>>,
    /// The address the broker is bound to, as an authority (`host:port`, a wildcard host made
    /// loopback): also accepted as `Host`, for a broker started with `--listen`.
    pub bound: Mutex<Option<String>>,
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl App {
    pub fn new(rt: Runtime, config_path: Option<PathBuf>) -> Arc<App> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .no_proxy()
            .build()
            .unwrap_or_default();
        let (events, _) = broadcast::channel(64);
        Arc::new(App {
            rt: ArcSwap::from_pointee(rt),
            http,
            config_path,
            load_error: Mutex::new(None),
            health: Mutex::new(HashMap::new()),
            list_cache: ListCache::default(),
            metrics: Metrics::new(),
            events,
            capabilities: CapabilityCache::default(),
            probe_locks: (0..16).map(|_| tokio::sync::Mutex::new(())).collect(),
            result_compliance: ResultCompliance::default(),
            tool_hints: ToolHints::default(),
            confirmations: Confirmations::default(),
            revoked: Mutex::new(HashMap::new()),
            backend_sessions: Mutex::new(Expiring::new(MAX_HELD_SESSIONS)),
            log_levels: Mutex::new(Expiring::new(MAX_HELD_SESSIONS)),
            backend_session_locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            client_streams: Mutex::new(HashMap::new()),
            bound: Mutex::new(None),
        })
    }

    pub fn runtime(&self) -> Arc<Runtime> {
        self.rt.load_full()
    }

    pub fn record_ok(&self, server: &str) {
        let mut h = lock(&self.health);
        let e = h.entry(server.to_string()).or_default();
        e.reachable = Some(true);
        e.last_ok_at = Some(now());
    }

    pub fn record_error(&self, server: &str, kind: &str, message: &str) {
        tracing::warn!(server, kind, error = message, "backend call failed");
        self.metrics.backend_error(server, kind);
        if matches!(kind, "connect" | "timeout") {
            // The server may be down: the next initialize probes it again (and reports it
            // unavailable if it is), rather than answering from what it said before.
            self.capabilities.forget_server(server);
        }
        let mut h = lock(&self.health);
        let e = h.entry(server.to_string()).or_default();
        e.reachable = Some(false);
        e.last_error = Some(format!("{kind}: {message}"));
        e.last_error_kind = Some(kind.to_string());
        e.last_error_at = Some(now());
    }

    pub fn record_tool_count(&self, server: &str, n: usize) {
        lock(&self.health).entry(server.to_string()).or_default().tool_count = Some(n);
    }

    pub fn health_snapshot(&self) -> HashMap<String, Health> {
        lock(&self.health).clone()
    }

    pub fn set_load_error(&self, e: Option<String>) {
        *lock(&self.load_error) = e;
    }

    pub fn load_error(&self) -> Option<String> {
        lock(&self.load_error).clone()
    }

    /// Keeps what probing `server` for this view taught (see `CapabilityCache`), and shows
    /// in `/status` whether it speaks 2026-07-28.
    pub fn remember_probe(&self, server: &str, view: View, generation: u64, probed: ProbedServer) {
        lock(&self.health).entry(server.to_string()).or_default().speaks_2026 = Some(probed.speaks_stateless);
        self.capabilities.insert(server, view, generation, probed);
    }

    pub fn revoke(&self, id: &str, expires_at: u64) {
        let mut r = lock(&self.revoked);
        let t = now();
        r.retain(|_, exp| *exp > t);
        r.insert(id.to_string(), expires_at);
    }

    pub fn is_revoked(&self, id: &str) -> bool {
        lock(&self.revoked).contains_key(id)
    }

    /// The backend session held for `(session, server)` (empty: the backend issued no id).
    pub fn backend_session(&self, session: &str, server: &str) -> Option<String> {
        let key = (session.to_string(), server.to_string());
        lock(&self.backend_sessions).get(&key, now())
    }

    pub fn set_backend_session(&self, session: &str, server: &str, backend_sid: String, expires_at: u64) {
        lock(&self.backend_sessions).insert((session.to_string(), server.to_string()), backend_sid, expires_at, now());
    }

    /// Records the backend session the filter told of for `(session, server)`, unless this
    /// broker holds one already (see `http::session::adopt`).
    pub fn adopt_backend_session(&self, session: &str, server: &str, backend_sid: String, expires_at: u64) {
        lock(&self.backend_sessions).insert_missing((session.to_string(), server.to_string()), backend_sid, expires_at, now());
    }

    /// Forgets a session's backend sessions and log level (after its DELETE).
    pub fn forget_session(&self, session: &str) {
        lock(&self.backend_sessions).retain(|(s, _)| s != session);
        lock(&self.log_levels).retain(|s| s != session);
    }

    pub fn set_log_level(&self, session: &str, level: &str, expires_at: u64) {
        lock(&self.log_levels).insert(session.to_string(), level.to_string(), expires_at, now());
    }

    pub fn log_level(&self, session: &str) -> Option<String> {
        lock(&self.log_levels).get(&session.to_string(), now())
    }

    /// Registers an open GET stream of `session` (closed ones are dropped on the way).
    pub fn register_stream(&self, session: &str, tx: tokio::sync::mpsc::Sender<Relayed>) {
        let mut m = lock(&self.client_streams);
        m.retain(|_, v| {
            v.retain(|t| !t.is_closed());
            !v.is_empty()
        });
        m.entry(session.to_string()).or_default().push(tx);
    }

    /// The open GET streams of `session` (to add a backend's stream to them).
    pub fn session_stream_senders(&self, session: &str) -> Vec<tokio::sync::mpsc::Sender<Relayed>> {
        lock(&self.client_streams).get(session).map(|v| v.iter().filter(|t| !t.is_closed()).cloned().collect()).unwrap_or_default()
    }

    /// Sends `msg` on every open GET stream of `session` (best effort, never waits).
    pub fn tell_session(&self, session: &str, msg: serde_json::Value) {
        let m = lock(&self.client_streams);
        for tx in m.get(session).into_iter().flatten() {
            let _ = tx.try_send((None, msg.clone()));
        }
    }

    pub fn set_bound(&self, addr: std::net::SocketAddr) {
        *lock(&self.bound) = Some(crate::config::connect_authority(&addr.to_string()));
    }

    /// Whether `host` (a `Host` header or an HTTP/2 `:authority`) names this broker as Envoy
    /// addresses it. Anything else is refused: a DNS-rebinding page reaches the port under its
    /// own name.
    pub fn authority_allowed(&self, rt: &crate::config::Runtime, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        rt.authorities.contains(&host) || lock(&self.bound).as_deref() == Some(host.as_str())
    }

    /// Applies a new generation; tells open streams when the server set changed.
    pub fn install(&self, rt: Runtime) {
        let old = self.rt.load_full();
        let changed = !old.same_servers(&rt);
        // Hints are the backend's: a server that now points elsewhere must declare them again.
        self.tool_hints.retain(|name| match (old.server(name), rt.server(name)) {
            (Some(a), Some(b)) => a.url == b.url,
            _ => false,
        });
        self.rt.store(Arc::new(rt));
        self.list_cache.clear();
        self.capabilities.clear();
        if changed {
            let live: Vec<String> = self.runtime().servers.iter().map(|s| s.name.clone()).collect();
            lock(&self.health).retain(|k, _| live.contains(k));
            for m in ["notifications/tools/list_changed", "notifications/prompts/list_changed", "notifications/resources/list_changed"] {
                let _ = self.events.send(serde_json::json!({"jsonrpc": "2.0", "method": m}));
            }
        }
    }
}
