//! One `MCPGateway`: which servers it serves, its gateway config (the file the broker and
//! `mcp-gateway up`/`render` read, checked by the same validation), the ConfigMap that carries
//! it, and the mounts the broker needs (the ConfigMap, the session Secret, credential Secrets).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;
use mcpgw_common::gateway::{CheckedConfig, GatewayConfig};
use mcpgw_common::names::{RouteEntry, Router};
use serde_json::{json, Value};

use crate::crd::{FromNamespaces, GatewayParameters, MCPGateway, MCPGatewayClass, MCPServer};
use crate::world::{selector_matches, ObjKey, World};

use super::server::{CredentialFile, Rejection, Resolved};
use super::Options;

pub const CONFIG_KEY: &str = "gateway.yaml";
pub const CONFIG_DIR: &str = "/etc/mcpgw/config";
pub const SESSION_DIR: &str = "/etc/mcpgw/session";
pub const CREDENTIALS_DIR: &str = "/etc/mcpgw/credentials";
pub const MANAGED_BY: &str = "mcpgw-controller";

/// The parameters in force: the gateway's, else the class's, else the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub config_map: String,
    pub broker_deployment: String,
    pub broker_container: String,
    pub session_secret: String,
    pub listen: String,
    pub broker_listen: String,
    pub allowed_hosts: Option<Vec<String>>,
}

pub fn params(gw: &MCPGateway, class: Option<&MCPGatewayClass>) -> Params {
    let none = GatewayParameters::default();
    let g = gw.spec.parameters.as_ref().unwrap_or(&none);
    let c = class.and_then(|c| c.spec.parameters.as_ref()).unwrap_or(&none);
    let pick = |f: fn(&GatewayParameters) -> &Option<String>, default: String| f(g).clone().or_else(|| f(c).clone()).unwrap_or(default);
    Params {
        config_map: pick(|p| &p.config_map_name, format!("mcpgw-{}", gw.name_any())),
        broker_deployment: pick(|p| &p.broker_deployment, "mcpgw-broker".into()),
        broker_container: pick(|p| &p.broker_container, "broker".into()),
        session_secret: pick(|p| &p.session_secret, "mcpgw-session".into()),
        listen: pick(|p| &p.listen, "0.0.0.0:8080".into()),
        broker_listen: pick(|p| &p.broker_listen, "0.0.0.0:9000".into()),
        allowed_hosts: g.allowed_hosts.clone().or_else(|| c.allowed_hosts.clone()),
    }
}

/// Whether the gateway's group holds the server: its namespace is allowed and its labels match.
pub fn selects(world: &World, gw: &MCPGateway, server: &MCPServer) -> bool {
    let gw_ns = gw.namespace().unwrap_or_default();
    let server_ns = server.namespace().unwrap_or_default();
    let allowed = match &gw.spec.allowed_servers {
        None => server_ns == gw_ns,
        Some(a) => match a.namespaces.from {
            FromNamespaces::Same => server_ns == gw_ns,
            FromNamespaces::All => true,
            FromNamespaces::Selector => {
                a.namespaces.selector.as_ref().is_some_and(|s| selector_matches(s, &world.namespace_labels(&server_ns)))
            }
        },
    };
    allowed && selector_matches(&gw.spec.selector, server.labels())
}

/// The MCP endpoint agents use, from the first listener (default: the gateway's Service name).
pub fn endpoint_url(gw: &MCPGateway, options: &Options) -> Option<String> {
    let l = gw.spec.listeners.first()?;
    let https = l.protocol.eq_ignore_ascii_case("HTTPS");
    let host = l.hostname.clone().unwrap_or_else(|| format!("{}.{}.svc.{}", gw.name_any(), gw.namespace().unwrap_or_default(), options.cluster_domain));
    let port = match (https, l.port) {
        (false, 80) | (true, 443) => String::new(),
        (_, p) => format!(":{p}"),
    };
    Some(format!("{}://{host}{port}{}", if https { "https" } else { "http" }, mcp_path(gw)))
}

pub fn mcp_path(gw: &MCPGateway) -> String {
    gw.spec.listeners.first().and_then(|l| l.path.clone()).unwrap_or_else(|| "/mcp".into())
}

/// The gateway config's name for a server: unique per gateway, `[a-z][a-z0-9.-]*`.
pub fn server_name(key: &ObjKey) -> String {
    format!("{}.{}", key.name, key.namespace)
}

/// What the gateway serves and what it refused.
#[derive(Debug, Clone)]
pub struct Built {
    /// `None` only if the document does not parse as a gateway config (a bug).
    pub config: Option<GatewayConfig>,
    /// In the config's order: the servers attached.
    pub attached: Vec<(ObjKey, String, String)>,
    pub rejected: Vec<(ObjKey, Rejection)>,
    /// The credential Secrets the broker must mount.
    pub credentials: BTreeSet<CredentialFile>,
    /// Set when the config fails the gateway's own checks.
    pub invalid: Option<String>,
}

/// Servers in conflict-resolution order (the Gateway API's: oldest first, then by namespace
/// and name): an older server keeps its prefix when a newer one claims it too.
pub fn build(gw: &MCPGateway, p: &Params, mut candidates: Vec<(&MCPServer, &Resolved)>, options: &Options) -> Built {
    let gw_ns = gw.namespace().unwrap_or_default();
    candidates.sort_by(|(a, _), (b, _)| {
        let ka = (a.creation_timestamp(), a.namespace(), a.name_any());
        let kb = (b.creation_timestamp(), b.namespace(), b.name_any());
        ka.cmp(&kb)
    });
    let mut entries: Vec<RouteEntry> = Vec::new();
    let mut servers = Vec::new();
    let mut attached = Vec::new();
    let mut rejected = Vec::new();
    let mut credentials = BTreeSet::new();
    for (server, r) in candidates {
        let key = ObjKey::of(server);
        let name = server_name(&key);
        let prefix = server.spec.tool_prefix.clone();
        if let Some(c) = &r.credential {
            if c.secret_namespace != gw_ns {
                rejected.push((
                    key,
                    Rejection {
                        reason: "CredentialNotMountable",
                        message: format!(
                            "gateway {gw_ns}/{}: credential Secret {}/{} must be in the gateway's namespace, where the broker mounts it",
                            gw.name_any(),
                            c.secret_namespace,
                            c.secret
                        ),
                    },
                ));
                continue;
            }
        }
        let entry = RouteEntry { name: name.clone(), prefix: prefix.clone(), rules: r.rules.clone() };
        let mut trial = entries.clone();
        trial.push(entry);
        if let Err(e) = Router::new(&trial) {
            let reason = if e.contains("prefix") || e.contains("another server") { "PrefixClash" } else { "InvalidSpec" };
            rejected.push((key, Rejection { reason, message: format!("gateway {gw_ns}/{}: {e}", gw.name_any()) }));
            continue;
        }
        entries = trial;
        let mut s = json!({ "name": name, "url": r.url, "prefix": prefix, "sessionless": r.sessionless });
        if let (Some(obj), Ok(Value::Object(rules))) = (s.as_object_mut(), serde_json::to_value(&r.rules)) {
            obj.extend(rules);
        }
        if let (Some(c), Some(obj)) = (&r.credential, s.as_object_mut()) {
            obj.insert("credential".into(), json!({ "header": c.header, "value_file": credential_path(options, c) }));
            credentials.insert(c.clone());
        }
        servers.push(s);
        attached.push((key, prefix, r.url.clone()));
    }
    let allowed_hosts = p.allowed_hosts.clone().or_else(|| {
        let hosts: Vec<String> = gw.spec.listeners.iter().filter_map(|l| l.hostname.clone()).collect();
        (!hosts.is_empty()).then_some(hosts)
    });
    let mut doc = json!({
        "listen": p.listen,
        "mcp_path": mcp_path(gw),
        "broker": { "listen": p.broker_listen },
        "servers": servers,
        "session": { "key_file": format!("{}{SESSION_DIR}/key", options.mount_root) },
    });
    if let (Some(hosts), Some(obj)) = (allowed_hosts, doc.as_object_mut()) {
        obj.insert("allowed_hosts".into(), json!(hosts));
    }
    // Parsed by the file's own types and checked by the gateway's own validation: the broker
    // will accept exactly what passes here.
    let (config, invalid) = match serde_json::from_value::<GatewayConfig>(doc) {
        Ok(config) => {
            let invalid = CheckedConfig::new(config.clone(), None).err();
            (Some(config), invalid)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    Built { config, attached, rejected, credentials, invalid }
}

pub fn credential_path(options: &Options, c: &CredentialFile) -> String {
    format!("{}{CREDENTIALS_DIR}/{}/{}", options.mount_root, c.secret, c.key)
}

fn owner(gw: &MCPGateway) -> Option<Vec<OwnerReference>> {
    let uid = gw.uid()?;
    Some(vec![OwnerReference {
        api_version: "mcp.mcpgw.dev/v1alpha1".into(),
        kind: "MCPGateway".into(),
        name: gw.name_any(),
        uid,
        controller: Some(true),
        block_owner_deletion: Some(true),
    }])
}

fn labels(gw: &MCPGateway) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/managed-by".to_string(), MANAGED_BY.to_string()),
        ("mcp.mcpgw.dev/gateway".to_string(), gw.name_any()),
    ])
}

/// The ConfigMap the broker mounts. Owned by the MCPGateway, so deleting the gateway deletes
/// it (Kubernetes' garbage collector does, not the controller).
pub fn config_map(gw: &MCPGateway, p: &Params, yaml: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(p.config_map.clone()),
            namespace: gw.namespace(),
            labels: Some(labels(gw)),
            owner_references: owner(gw),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(CONFIG_KEY.to_string(), yaml.to_string())])),
        ..ConfigMap::default()
    }
}

/// The broker Deployment fields this controller owns, for a server-side apply: the volumes
/// holding the config, the session keys and each credential (one projected volume, each key at
/// `<secret>/<key>`), and their mounts. Lists merge by name, so the rest of the Deployment
/// stays whoever else's (kustomize's).
pub fn broker_patch(gw: &MCPGateway, p: &Params, credentials: &BTreeSet<CredentialFile>) -> Value {
    let mut volumes = vec![
        json!({ "name": "mcpgw-config", "configMap": { "name": p.config_map } }),
        json!({ "name": "mcpgw-session", "secret": { "secretName": p.session_secret } }),
    ];
    let mut mounts = vec![
        json!({ "name": "mcpgw-config", "mountPath": CONFIG_DIR, "readOnly": true }),
        json!({ "name": "mcpgw-session", "mountPath": SESSION_DIR, "readOnly": true }),
    ];
    if !credentials.is_empty() {
        let mut by_secret: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for c in credentials {
            by_secret.entry(&c.secret).or_default().push(json!({ "key": c.key, "path": format!("{}/{}", c.secret, c.key) }));
        }
        let sources: Vec<Value> = by_secret.into_iter().map(|(name, items)| json!({ "secret": { "name": name, "items": items } })).collect();
        volumes.push(json!({ "name": "mcpgw-credentials", "projected": { "sources": sources } }));
        mounts.push(json!({ "name": "mcpgw-credentials", "mountPath": CREDENTIALS_DIR, "readOnly": true }));
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": p.broker_deployment, "namespace": gw.namespace() },
        "spec": { "template": { "spec": {
            "volumes": volumes,
            "containers": [ { "name": p.broker_container, "volumeMounts": mounts } ],
        } } },
    })
}
