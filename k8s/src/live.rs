//! The live layer, kept thin: watches (kube-runtime), a snapshot of them, the pure reconcile,
//! and the writes it plans, sent as server-side applies; the backend probes on a timer; the
//! HTTP surface. Nothing here decides anything. It needs a cluster, so it is compiled and
//! type-checked here but runs only there (README: "What needs a live cluster").

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, Resource};
use mcpgw_k8s::crd::{MCPGateway, MCPGatewayClass, MCPServer};
use mcpgw_k8s::gateway_api::{Gateway, HTTPRoute, ReferenceGrant};
use mcpgw_k8s::http::{router, AppState};
use mcpgw_k8s::reconcile::{reconcile, Inputs, Options, Probe};
use mcpgw_k8s::world::{ObjKey, SecretKeys, World};
use mcpgw_k8s::apply::{execute, kind_of};
use mcpgw_k8s::writes::{plan, Write, FIELD_MANAGER};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::cli::RunArgs;

/// Changes arriving within this long are reconciled together.
const DEBOUNCE: Duration = Duration::from_millis(500);
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(args: &RunArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(main(args))
}

/// A reflector store for one kind, fed by a watch over all namespaces; every change pokes `changed`.
fn watch<K>(client: &Client, changed: Arc<Notify>) -> Store<K>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(Api::<K>::all(client.clone()), watcher::Config::default()).default_backoff());
    tokio::spawn(drain(stream, changed));
    reader
}

async fn drain<S: Stream + Send + 'static>(stream: S, changed: Arc<Notify>) {
    let mut stream = std::pin::pin!(stream);
    while stream.next().await.is_some() {
        changed.notify_one();
    }
}

/// Secrets are watched without a store of their values: only their key names are kept.
fn watch_secret_keys(client: &Client, changed: Arc<Notify>) -> Arc<Mutex<BTreeMap<ObjKey, SecretKeys>>> {
    let keys = Arc::new(Mutex::new(BTreeMap::new()));
    let held = keys.clone();
    let stream = watcher(Api::<Secret>::all(client.clone()), watcher::Config::default()).default_backoff();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        let mut fresh: BTreeMap<ObjKey, SecretKeys> = BTreeMap::new();
        while let Some(event) = stream.next().await {
            let Ok(mut map) = held.lock() else { return };
            match event {
                Ok(watcher::Event::Apply(s)) => {
                    map.insert(ObjKey::of(&s), SecretKeys::of(&s));
                }
                Ok(watcher::Event::Delete(s)) => {
                    map.remove(&ObjKey::of(&s));
                }
                Ok(watcher::Event::Init) => fresh.clear(),
                Ok(watcher::Event::InitApply(s)) => {
                    fresh.insert(ObjKey::of(&s), SecretKeys::of(&s));
                }
                Ok(watcher::Event::InitDone) => *map = std::mem::take(&mut fresh),
                Err(e) => tracing::warn!("secret watch: {e}"),
            }
            drop(map);
            changed.notify_one();
        }
    });
    keys
}

fn owned<K>(store: &Store<K>) -> Vec<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store.state().iter().map(|k| (**k).clone()).collect()
}

struct Stores {
    servers: Store<MCPServer>,
    gateways: Store<MCPGateway>,
    classes: Store<MCPGatewayClass>,
    routes: Store<HTTPRoute>,
    api_gateways: Store<Gateway>,
    grants: Store<ReferenceGrant>,
    services: Store<Service>,
    namespaces: Store<Namespace>,
    secrets: Arc<Mutex<BTreeMap<ObjKey, SecretKeys>>>,
}

impl Stores {
    async fn ready(&self) -> Result<(), String> {
        let e = |e: reflector::store::WriterDropped| e.to_string();
        self.servers.wait_until_ready().await.map_err(e)?;
        self.gateways.wait_until_ready().await.map_err(e)?;
        self.classes.wait_until_ready().await.map_err(e)?;
        self.routes.wait_until_ready().await.map_err(e)?;
        self.api_gateways.wait_until_ready().await.map_err(e)?;
        self.grants.wait_until_ready().await.map_err(e)?;
        self.services.wait_until_ready().await.map_err(e)?;
        self.namespaces.wait_until_ready().await.map_err(e)
    }

    fn snapshot(&self) -> World {
        World {
            servers: owned(&self.servers),
            gateways: owned(&self.gateways),
            classes: owned(&self.classes),
            routes: owned(&self.routes),
            api_gateways: owned(&self.api_gateways),
            grants: owned(&self.grants),
            services: owned(&self.services),
            namespaces: owned(&self.namespaces),
            secrets: self.secrets.lock().map(|m| m.values().cloned().collect()).unwrap_or_default(),
        }
    }
}

async fn main(args: &RunArgs) -> Result<(), String> {
    let client = Client::try_default().await.map_err(|e| format!("no cluster to talk to: {e}"))?;
    let changed = Arc::new(Notify::new());
    let stores = Stores {
        servers: watch(&client, changed.clone()),
        gateways: watch(&client, changed.clone()),
        classes: watch(&client, changed.clone()),
        routes: watch(&client, changed.clone()),
        api_gateways: watch(&client, changed.clone()),
        grants: watch(&client, changed.clone()),
        services: watch(&client, changed.clone()),
        namespaces: watch(&client, changed.clone()),
        secrets: watch_secret_keys(&client, changed.clone()),
    };
    let state = AppState::default();
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("{}: {e}", args.listen))?;
    let app = router(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("http: {e}");
        }
    });
    let reporter = Reporter { controller: FIELD_MANAGER.into(), instance: std::env::var("POD_NAME").ok() };
    let recorder = Recorder::new(client.clone(), reporter);
    let options = Options { cluster_domain: args.cluster_domain.clone(), mount_root: String::new() };

    // Probes run on their own timer over the URLs the last reconcile attached.
    let probes: Arc<Mutex<BTreeMap<ObjKey, Probe>>> = Arc::default();
    let targets: Arc<Mutex<Vec<(ObjKey, String)>>> = Arc::default();
    if args.probe_interval_secs > 0 {
        let (probes, targets, changed) = (probes.clone(), targets.clone(), changed.clone());
        let every = Duration::from_secs(args.probe_interval_secs);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let list = targets.lock().map(|t| t.clone()).unwrap_or_default();
                let mut found = BTreeMap::new();
                for (k, url) in list {
                    found.insert(k, mcpgw_k8s::probe::probe(&url, PROBE_TIMEOUT).await);
                }
                let differs = probes.lock().map(|mut p| std::mem::replace(&mut *p, found.clone()) != found).unwrap_or(false);
                if differs {
                    changed.notify_one();
                }
            }
        });
    }

    stores.ready().await?;
    tracing::info!("watches synced");
    let mut exported: Vec<mcpgw_k8s::registry::Entry> = Vec::new();
    loop {
        let world = stores.snapshot();
        let known = probes.lock().map(|p| p.clone()).unwrap_or_default();
        let outputs = reconcile(&Inputs { world: &world, probes: &known, now: Time(k8s_openapi::jiff::Timestamp::now()), options: options.clone() });
        if let Ok(mut t) = targets.lock() {
            *t = outputs.server_statuses.iter().filter_map(|(k, s)| Some((k.clone(), s.url.clone()?))).collect();
        }
        let mut failed = false;
        for w in plan(&world, &outputs) {
            if let Err(e) = execute(&client, &recorder, &w).await {
                failed = true;
                let kind = kind_of(&w);
                tracing::warn!(kind, "write failed: {e}");
                state.metrics.apply_errors.get_or_create(&vec![("kind".to_string(), kind.to_string())]).inc();
            }
        }
        let (entries, skipped) = mcpgw_k8s::registry::export(&world);
        // Registry Events on the routes, against the entries of the previous round.
        for ev in mcpgw_k8s::registry::events(&world, &exported, &entries) {
            if let Err(e) = execute(&client, &recorder, &Write::Event(ev)).await {
                tracing::warn!("event: {e}");
            }
        }
        exported = entries.clone();
        for s in &skipped {
            tracing::debug!(route = %s.route, reason = s.reason, "not exported: {}", s.message);
        }
        update_metrics(&state, &outputs, entries.len());
        if let Ok(mut e) = state.entries.write() {
            *e = entries.into_iter().map(|e| e.server).collect();
        }
        state.ready.store(!failed, Ordering::Release);
        changed.notified().await;
        tokio::time::sleep(DEBOUNCE).await;
    }
}

fn update_metrics(state: &AppState, outputs: &mcpgw_k8s::reconcile::Outputs, entries: usize) {
    let m = &state.metrics;
    m.reconciles.inc();
    let count = |f: &dyn Fn(&mcpgw_k8s::crd::MCPServerStatus) -> bool| i64::try_from(outputs.server_statuses.values().filter(|s| f(s)).count()).unwrap_or(i64::MAX);
    m.servers_ready.set(count(&|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")));
    m.servers_not_accepted.set(count(&|s| s.conditions.iter().any(|c| c.type_ == "Accepted" && c.status == "False")));
    m.gateways.set(i64::try_from(outputs.gateways.len()).unwrap_or(i64::MAX));
    m.registry_entries.set(i64::try_from(entries).unwrap_or(i64::MAX));
}
