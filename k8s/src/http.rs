//! The controller's HTTP surface: `/healthz` (the process answers), `/readyz` (the first full
//! sync is done and the last reconcile completed), `/metrics` (Prometheus text), and the
//! registry read API ([`crate::registry::api`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::registry::api::{self, Entries};

/// What `/metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    pub reconciles: Counter,
    /// Writes to the API server that failed, by kind of object.
    pub apply_errors: Family<Vec<(String, String)>, Counter>,
    pub gateways: Gauge,
    pub servers_ready: Gauge,
    pub servers_not_accepted: Gauge,
    pub registry_entries: Gauge,
}

impl Metrics {
    fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("mcpgw_controller");
        r.register("reconciles", "Reconciles run", self.reconciles.clone());
        r.register("apply_errors", "Failed writes to the API server", self.apply_errors.clone());
        r.register("gateways", "MCPGateways of this controller", self.gateways.clone());
        r.register("servers_ready", "MCPServers whose Ready condition is True", self.servers_ready.clone());
        r.register("servers_not_accepted", "MCPServers whose Accepted condition is False", self.servers_not_accepted.clone());
        r.register("registry_entries", "HTTPRoutes exported to the MCP registry", self.registry_entries.clone());
        r
    }
}

#[derive(Clone, Default)]
pub struct AppState {
    pub ready: Arc<AtomicBool>,
    pub metrics: Arc<Metrics>,
    pub entries: Entries,
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not synced yet")
    }
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut text = String::new();
    match encode(&mut text, &s.metrics.registry()) {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain")], String::new()),
    }
}

pub fn router(state: AppState) -> Router {
    let probes = Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics)).with_state(state.clone());
    probes.merge(api::router(state.entries))
}
