//! The offline commands: everything the controller decides, from files, with no API server.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use mcpgw_k8s::reconcile::{reconcile as decide, Inputs, Options, Outputs, Probe};
use mcpgw_k8s::registry::{self, api};
use mcpgw_k8s::world::{ObjKey, World};
use serde_json::{json, Value};

use crate::cli::{CrdsArgs, ReconcileArgs, RegistryArgs};

pub fn crds(args: &CrdsArgs) -> Result<(), String> {
    let docs = mcpgw_k8s::crd::crd_documents()?;
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for (file, yaml) in docs {
                write(&dir.join(file), &yaml)?;
            }
        }
        None => {
            let all: Vec<String> = docs.into_iter().map(|(_, y)| y).collect();
            print!("{}", all.join("---\n"));
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn yaml<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_norway::to_string(v).map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Probes every server some gateway serves, as the live controller does.
fn probe_all(outputs: &Outputs) -> Result<BTreeMap<ObjKey, Probe>, String> {
    let targets: Vec<(ObjKey, String)> = outputs.server_statuses.iter().filter_map(|(k, s)| Some((k.clone(), s.url.clone()?))).collect();
    runtime()?.block_on(async {
        let mut probes = BTreeMap::new();
        for (k, url) in targets {
            probes.insert(k, mcpgw_k8s::probe::probe(&url, Duration::from_secs(10)).await);
        }
        Ok(probes)
    })
}

pub fn reconcile(args: &ReconcileArgs) -> Result<(), String> {
    let world = mcpgw_k8s::manifests::read_dir(&args.manifests)?;
    let now = match &args.now {
        Some(t) => Time(t.parse().map_err(|e| format!("--now {t:?}: {e}"))?),
        None => Time(k8s_openapi::jiff::Timestamp::now()),
    };
    let options = Options { cluster_domain: args.cluster_domain.clone(), mount_root: args.mount_root.clone() };
    let no_probes = BTreeMap::new();
    let mut outputs = decide(&Inputs { world: &world, probes: &no_probes, now: now.clone(), options: options.clone() });
    if args.probe {
        let probes = probe_all(&outputs)?;
        outputs = decide(&Inputs { world: &world, probes: &probes, now, options });
    }
    write_outputs(&world, &outputs, &args.out)?;
    if let Some(bin) = &args.render_with {
        for g in outputs.gateways.iter().filter(|g| g.config_yaml.is_some()) {
            render_envoy(bin, &args.out.join(&g.key.namespace).join(&g.key.name))?;
        }
    }
    Ok(())
}

/// Envoy's configuration for one gateway's config, by `mcp-gateway render` (not a second
/// renderer): it needs no secret, it names the environment variables Envoy must have.
fn render_envoy(bin: &Path, dir: &Path) -> Result<(), String> {
    let out = std::process::Command::new(bin)
        .arg("render")
        .arg("--config")
        .arg(dir.join("gateway.yaml"))
        .arg("--out")
        .arg(dir.join("envoy"))
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!("{} render for {}: {}", bin.display(), dir.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

fn write_outputs(world: &World, outputs: &Outputs, out: &Path) -> Result<(), String> {
    for g in &outputs.gateways {
        let dir = out.join(&g.key.namespace).join(&g.key.name);
        if let Some(y) = &g.config_yaml {
            write(&dir.join("gateway.yaml"), y)?;
        }
        if let Some(cm) = &g.config_map {
            write(&dir.join("configmap.yaml"), &yaml(&json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": cm.metadata, "data": cm.data }))?)?;
        }
        if let Some(p) = &g.broker_patch {
            write(&dir.join("broker-patch.yaml"), &yaml(p)?)?;
        }
    }
    let mut statuses: Vec<Value> = Vec::new();
    for (k, s) in &outputs.server_statuses {
        statuses.push(json!({ "apiVersion": "mcp.mcpgw.dev/v1alpha1", "kind": "MCPServer", "metadata": { "namespace": k.namespace, "name": k.name }, "status": s }));
    }
    for g in &outputs.gateways {
        statuses.push(json!({ "apiVersion": "mcp.mcpgw.dev/v1alpha1", "kind": "MCPGateway", "metadata": { "namespace": g.key.namespace, "name": g.key.name }, "status": g.status }));
    }
    for (name, s) in &outputs.class_statuses {
        statuses.push(json!({ "apiVersion": "mcp.mcpgw.dev/v1alpha1", "kind": "MCPGatewayClass", "metadata": { "name": name }, "status": s }));
    }
    write(&out.join("statuses.yaml"), &yaml(&statuses)?)?;

    // The registry, and its events against the previous run's entries, if any.
    let (entries, skipped) = registry::export(world);
    let previous = read_previous_registry(&out.join("registry.json"));
    let mut events = outputs.events.clone();
    events.extend(registry::events(world, &previous, &entries));
    write(&out.join("events.yaml"), &yaml(&events)?)?;
    let servers: Vec<Value> = entries.iter().map(|e| e.server.clone()).collect();
    let body = api::list(&servers, &api::ListQuery { limit: Some(api::MAX_LIMIT), ..api::ListQuery::default() });
    let mut text = serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?;
    text.push('\n');
    write(&out.join("registry.json"), &text)?;
    let skipped: Vec<Value> = skipped.iter().map(|s| json!({ "httpRoute": s.route.to_string(), "reason": s.reason, "message": s.message })).collect();
    write(&out.join("registry-skipped.yaml"), &yaml(&skipped)?)?;
    eprintln!(
        "reconciled {} gateway(s), {} server(s), {} registry entr{}; wrote {}",
        outputs.gateways.len(),
        outputs.server_statuses.len(),
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" },
        out.display()
    );
    Ok(())
}

/// The entries of a `registry.json` written before (the list response), to tell new from changed.
fn read_previous_registry(path: &Path) -> Vec<registry::Entry> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let Ok(body) = serde_json::from_str::<Value>(&text) else { return Vec::new() };
    body.get("servers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    let server = r.get("server")?.clone();
                    let meta = server.pointer(&format!("/_meta/io.modelcontextprotocol.registry~1publisher-provided/{}", registry::PUBLISHER_KEY))?;
                    let route = ObjKey::new(meta.get("namespace")?.as_str()?, meta.get("httpRoute")?.as_str()?);
                    Some(registry::Entry { route, server })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Serves the registry read API for the annotated routes of a folder of manifests.
pub fn serve_registry(args: &RegistryArgs) -> Result<(), String> {
    let world = mcpgw_k8s::manifests::read_dir(&args.manifests)?;
    let (entries, skipped) = registry::export(&world);
    for s in &skipped {
        tracing::warn!(route = %s.route, reason = s.reason, "{}", s.message);
    }
    let state = mcpgw_k8s::http::AppState::default();
    if let Ok(mut e) = state.entries.write() {
        *e = entries.iter().map(|e| e.server.clone()).collect();
    }
    state.ready.store(true, std::sync::atomic::Ordering::Release);
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| format!("{}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("registry listening on http://{addr}/v0/servers ({} entries)", entries.len());
        axum::serve(listener, mcpgw_k8s::http::router(state)).with_graceful_shutdown(async { let _ = tokio::signal::ctrl_c().await; }).await.map_err(|e| e.to_string())
    })
}
