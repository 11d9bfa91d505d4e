//! The broker's Prometheus metrics (text exposition at `/metrics`): what each layer counts.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

fn latency_histogram() -> Histogram {
    Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
}

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    backend_latency: Family<Labels, Histogram, fn() -> Histogram>,
    backend_errors: Family<Labels, Counter>,
    sessions_minted: Counter,
    sessions_refused: Family<Labels, Counter>,
    forbidden: Family<Labels, Counter>,
    reloads: Family<Labels, Counter>,
    list_cache: Family<Labels, Counter>,
    backend_sessions_renewed: Family<Labels, Counter>,
    backend_sessions_opened: Family<Labels, Counter>,
    confirmations: Family<Labels, Counter>,
    pub streams_open: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mcpgw_broker");
        let requests = Family::<Labels, Counter>::default();
        let backend_latency = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let backend_errors = Family::<Labels, Counter>::default();
        let sessions_minted = Counter::default();
        let sessions_refused = Family::<Labels, Counter>::default();
        let forbidden = Family::<Labels, Counter>::default();
        let reloads = Family::<Labels, Counter>::default();
        let list_cache = Family::<Labels, Counter>::default();
        let streams_open = Gauge::default();
        let backend_sessions_renewed = Family::<Labels, Counter>::default();
        let backend_sessions_opened = Family::<Labels, Counter>::default();
        let confirmations = Family::<Labels, Counter>::default();
        registry.register(
            "confirmations",
            "Tool calls the gateway asked the human to confirm, by outcome (asked, accept, decline, cancel, timeout, error, invalid_state, refused: no elicitation capability, allowed_unasked)",
            confirmations.clone(),
        );
        registry.register(
            "backend_sessions_opened",
            "Backend sessions opened on a gateway session's first use of a server (initialize opens none), by server",
            backend_sessions_opened.clone(),
        );
        registry.register(
            "backend_sessions_renewed",
            "Replacement backend sessions opened after a backend forgot a session (HTTP 404), by server",
            backend_sessions_renewed.clone(),
        );
        registry.register("streams_open", "Client notification streams (GET, subscriptions/listen) open", streams_open.clone());
        registry.register("requests", "MCP requests received, by method", requests.clone());
        registry.register(
            "backend_latency_seconds",
            "Latency of calls the broker makes to a backend, by server and method",
            backend_latency.clone(),
        );
        registry.register("backend_errors", "Failed backend calls, by server and kind", backend_errors.clone());
        registry.register("sessions_minted", "Gateway sessions created", sessions_minted.clone());
        registry.register("sessions_refused", "Session tokens refused, by reason", sessions_refused.clone());
        registry.register("requests_forbidden", "MCP endpoint requests refused with 403 (no or wrong credential, foreign Host), by reason", forbidden.clone());
        registry.register("config_reloads", "Config reload attempts, by result", reloads.clone());
        registry.register("list_cache", "List cache lookups, by result", list_cache.clone());
        Metrics { registry, requests, backend_latency, backend_errors, sessions_minted, sessions_refused, forbidden, reloads, list_cache, backend_sessions_renewed, backend_sessions_opened, confirmations, streams_open }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// One MCP request, by label: a method the gateway knows (`Method::as_str`), `response`,
    /// `GET`, `DELETE` or `other`. A closed set, so a client cannot blow up the label space.
    pub fn request(&self, label: &'static str) {
        self.requests.get_or_create(&Self::labels(&[("method", label)])).inc();
    }
    pub fn backend_latency(&self, server: &str, method: &str, secs: f64) {
        self.backend_latency.get_or_create(&Self::labels(&[("server", server), ("method", method)])).observe(secs);
    }
    pub fn backend_error(&self, server: &str, kind: &str) {
        self.backend_errors.get_or_create(&Self::labels(&[("server", server), ("kind", kind)])).inc();
    }
    pub fn session_renewed(&self, server: &str) {
        self.backend_sessions_renewed.get_or_create(&Self::labels(&[("server", server)])).inc();
    }
    pub fn backend_session_opened(&self, server: &str) {
        self.backend_sessions_opened.get_or_create(&Self::labels(&[("server", server)])).inc();
    }

    /// One confirmation step, by outcome (a closed set, see the registration).
    pub fn confirmation(&self, outcome: &'static str) {
        self.confirmations.get_or_create(&Self::labels(&[("outcome", outcome)])).inc();
    }

    pub fn session_minted(&self) {
        self.sessions_minted.inc();
    }
    pub fn session_refused(&self, reason: &str) {
        self.sessions_refused.get_or_create(&Self::labels(&[("reason", reason)])).inc();
    }
    pub fn forbidden(&self, reason: &str) {
        self.forbidden.get_or_create(&Self::labels(&[("reason", reason)])).inc();
    }
    pub fn reload(&self, result: &str) {
        self.reloads.get_or_create(&Self::labels(&[("result", result)])).inc();
    }
    pub fn cache(&self, result: &str) {
        self.list_cache.get_or_create(&Self::labels(&[("result", result)])).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
