//! The controller's whole decision, as a pure function: a [`World`] snapshot (plus the clock
//! and what the backend probes found) in, [`Outputs`] out: each gateway's config and the
//! ConfigMap and broker mounts that carry it, every status, and the Events to record. The live
//! layer only applies the outputs; `mcpgw-controller reconcile` writes them to files.
//!
//! Deletion needs no code of its own: an object gone from the snapshot is gone from every
//! output (a deleted server leaves its gateways' configs, a deleted gateway's ConfigMap is
//! garbage-collected through its owner reference).

mod events;
pub mod gateway;
pub mod server;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use mcpgw_common::gateway::GatewayConfig;
use serde::Serialize;

use crate::conditions::{condition, Status};
use crate::crd::{AttachedServer, MCPGatewayClassStatus, MCPGatewayStatus, MCPServerStatus, CONTROLLER_NAME};
use crate::world::{ObjKey, World};

pub use server::{Rejection, Resolved};

/// What the world does not say.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cluster's DNS domain, for Service host names.
    pub cluster_domain: String,
    /// Prefixed to the paths the gateway config names (session key, credentials), which are
    /// the broker pod's mounts: `""` in a cluster; a folder to run the config elsewhere.
    pub mount_root: String,
}

impl Default for Options {
    fn default() -> Self {
        Options { cluster_domain: "cluster.local".into(), mount_root: String::new() }
    }
}

/// What a probe of a server's backend found (`crate::probe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// It answered `tools/list` with this many tools.
    Tools(u32),
    /// It answered, but its tools could not be listed (e.g. it wants the credential).
    Answered(String),
    /// It did not answer: why.
    Unreachable(String),
}

pub struct Inputs<'a> {
    pub world: &'a World,
    /// By MCPServer; a server not in here has not been probed (its `Ready` is `Unknown`).
    pub probes: &'a BTreeMap<ObjKey, Probe>,
    pub now: Time,
    pub options: Options,
}

#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// One per MCPGateway of our class.
    pub gateways: Vec<GatewayOutput>,
    pub server_statuses: BTreeMap<ObjKey, MCPServerStatus>,
    /// By class name; only our classes.
    pub class_statuses: BTreeMap<String, MCPGatewayClassStatus>,
    pub events: Vec<Event>,
}

#[derive(Debug, Clone)]
pub struct GatewayOutput {
    pub key: ObjKey,
    pub status: MCPGatewayStatus,
    /// The gateway config, as YAML (the ConfigMap's `gateway.yaml`); `None` when the gateway
    /// is not accepted (its class is missing).
    pub config_yaml: Option<String>,
    pub config: Option<GatewayConfig>,
    pub config_map: Option<ConfigMap>,
    /// A server-side-apply patch of the broker Deployment (`gateway::broker_patch`).
    pub broker_patch: Option<serde_json::Value>,
}

/// A Kubernetes Event to record (`events.k8s.io/v1` fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub regarding: ObjectReference,
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub action: String,
    pub note: String,
}

pub fn reconcile(inputs: &Inputs<'_>) -> Outputs {
    let world = inputs.world;
    let mut out = Outputs::default();
    for class in &world.classes {
        if class.spec.controller_name != CONTROLLER_NAME {
            continue;
        }
        let prev = class.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
        let c = condition(prev, "Accepted", Status::True, "Accepted", "handled by this controller", class.metadata.generation, &inputs.now);
        out.class_statuses.insert(class.name_any(), MCPGatewayClassStatus { conditions: vec![c] });
    }

    // Each server on its own.
    let resolved: BTreeMap<ObjKey, Result<Resolved, Rejection>> =
        world.servers.iter().map(|s| (ObjKey::of(s), server::resolve(world, s, &inputs.options))).collect();

    // Each gateway of ours, over the servers it selects.
    let mut attached_to: BTreeMap<ObjKey, Vec<String>> = BTreeMap::new();
    let mut gateway_rejections: BTreeMap<ObjKey, Rejection> = BTreeMap::new();
    for gw in &world.gateways {
        let key = ObjKey::of(gw);
        let class = world.class(&gw.spec.gateway_class_name);
        if class.is_some_and(|c| c.spec.controller_name != CONTROLLER_NAME) {
            continue; // another implementation's gateway
        }
        let prev = gw.status.as_ref().map(|s| s.conditions.clone()).unwrap_or_default();
        let generation = gw.metadata.generation;
        let now = &inputs.now;
        let url = gateway::endpoint_url(gw, &inputs.options);
        let Some(class) = class else {
            let status = MCPGatewayStatus {
                conditions: vec![
                    condition(&prev, "Accepted", Status::False, "ClassNotFound", format!("MCPGatewayClass {:?} not found", gw.spec.gateway_class_name), generation, now),
                    condition(&prev, "Programmed", Status::False, "Pending", "waiting for the class", generation, now),
                ],
                url: None,
                attached_server_count: 0,
                attached_servers: Vec::new(),
                observed_generation: generation,
            };
            out.gateways.push(GatewayOutput { key, status, config_yaml: None, config: None, config_map: None, broker_patch: None });
            continue;
        };
        let params = gateway::params(gw, Some(class));
        let candidates: Vec<_> = world
            .servers
            .iter()
            .filter(|s| s.spec.enabled && gateway::selects(world, gw, s))
            .filter_map(|s| resolved.get(&ObjKey::of(s)).and_then(|r| r.as_ref().ok()).map(|r| (s, r)))
            .collect();
        let built = gateway::build(gw, &params, candidates, &inputs.options);
        for (k, rej) in &built.rejected {
            gateway_rejections.entry(k.clone()).or_insert_with(|| rej.clone());
        }
        let yaml = built.config.as_ref().and_then(|c| serde_norway::to_string(c).ok());
        let programmed = match (&built.invalid, &yaml) {
            (None, Some(_)) => condition(&prev, "Programmed", Status::True, "Programmed", format!("config in ConfigMap {}", params.config_map), generation, now),
            (Some(e), _) => condition(&prev, "Programmed", Status::False, "Invalid", e.clone(), generation, now),
            (None, None) => condition(&prev, "Programmed", Status::False, "Invalid", "the gateway config does not serialize", generation, now),
        };
        let ok = built.invalid.is_none() && yaml.is_some();
        if ok {
            for (k, _, _) in &built.attached {
                attached_to.entry(k.clone()).or_default().push(key.to_string());
            }
        }
        let attached_servers: Vec<AttachedServer> = built
            .attached
            .iter()
            .map(|(k, prefix, url)| AttachedServer { namespace: k.namespace.clone(), name: k.name.clone(), tool_prefix: prefix.clone(), url: url.clone() })
            .collect();
        let status = MCPGatewayStatus {
            conditions: vec![condition(&prev, "Accepted", Status::True, "Accepted", format!("class {}", class.name_any()), generation, now), programmed],
            url,
            attached_server_count: u32::try_from(attached_servers.len()).unwrap_or(u32::MAX),
            attached_servers,
            observed_generation: generation,
        };
        // An invalid config is not written: the broker keeps serving the last good one.
        let (config_map, broker_patch) = match (&yaml, ok) {
            (Some(y), true) => (Some(gateway::config_map(gw, &params, y)), Some(gateway::broker_patch(gw, &params, &built.credentials))),
            _ => (None, None),
        };
        out.gateways.push(GatewayOutput { key, status, config_yaml: yaml.filter(|_| ok), config: built.config.filter(|_| ok), config_map, broker_patch });
    }

    // Each server's status, from what it is and where it went.
    for s in &world.servers {
        let key = ObjKey::of(s);
        let prev = s.status.as_ref().map(|st| st.conditions.clone()).unwrap_or_default();
        let generation = s.metadata.generation;
        let now = &inputs.now;
        let gateways: Vec<String> = attached_to.get(&key).cloned().unwrap_or_default().into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        let rejection = match resolved.get(&key) {
            Some(Err(r)) => Some(r.clone()),
            _ => gateway_rejections.get(&key).cloned(),
        };
        let accepted = match &rejection {
            Some(r) => condition(&prev, "Accepted", Status::False, r.reason, r.message.clone(), generation, now),
            None => condition(&prev, "Accepted", Status::True, "Accepted", "", generation, now),
        };
        let probe = inputs.probes.get(&key);
        let ready = if rejection.is_some() {
            condition(&prev, "Ready", Status::False, "NotAccepted", "see Accepted", generation, now)
        } else if !s.spec.enabled {
            condition(&prev, "Ready", Status::False, "Disabled", "spec.enabled is false", generation, now)
        } else if gateways.is_empty() {
            condition(&prev, "Ready", Status::False, "NoGateway", "no MCPGateway of this controller selects this server", generation, now)
        } else {
            match probe {
                None => condition(&prev, "Ready", Status::Unknown, "Pending", "the backend has not been probed yet", generation, now),
                Some(Probe::Unreachable(e)) => condition(&prev, "Ready", Status::False, "BackendUnreachable", e.clone(), generation, now),
                Some(Probe::Answered(why)) => condition(&prev, "Ready", Status::True, "Reachable", why.clone(), generation, now),
                Some(Probe::Tools(n)) => condition(&prev, "Ready", Status::True, "Ready", format!("the backend lists {n} tools"), generation, now),
            }
        };
        let url = if gateways.is_empty() { None } else { resolved.get(&key).and_then(|r| r.as_ref().ok()).map(|r| r.url.clone()) };
        let status = MCPServerStatus {
            conditions: vec![accepted, ready],
            url,
            discovered_tools: match probe {
                Some(Probe::Tools(n)) => Some(*n),
                _ => None,
            },
            gateways,
            observed_generation: generation,
        };
        out.events.extend(events::for_server(s, &status));
        out.server_statuses.insert(key, status);
    }
    out
}

