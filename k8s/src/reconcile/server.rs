//! One `MCPServer` on its own: where its backend is and what the gateway sends it, or why it
//! cannot be served. What depends on the gateway it attaches to (prefix clashes, whether its
//! credential Secret can be mounted there) is `gateway.rs`'s.

use kube::ResourceExt;
use mcpgw_common::gateway::parse_url;
use mcpgw_common::visibility::Visibility;

use crate::crd::{gateway_api_group, MCPServer, GROUP};
use crate::refgrant::{permitted, From, To};
use crate::world::World;

use super::Options;

/// Why a server is not served: a condition reason and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: &'static str,
    pub message: String,
}

fn reject(reason: &'static str, message: impl Into<String>) -> Rejection {
    Rejection { reason, message: message.into() }
}

/// A server the gateway can call.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub url: String,
    pub credential: Option<CredentialFile>,
    pub rules: Visibility,
    pub sessionless: bool,
}

/// A credential as the broker will read it: one key of a Secret, mounted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CredentialFile {
    pub header: String,
    pub secret_namespace: String,
    pub secret: String,
    pub key: String,
}

pub fn resolve(world: &World, server: &MCPServer, options: &Options) -> Result<Resolved, Rejection> {
    let ns = server.namespace().unwrap_or_default();
    let spec = &server.spec;
    let url = match (&spec.target_ref, &spec.url) {
        (Some(_), Some(_)) | (None, None) => return Err(reject("InvalidSpec", "set exactly one of targetRef and url")),
        (None, Some(url)) => {
            if spec.path.is_some() {
                return Err(reject("InvalidSpec", "path goes with targetRef; put it in url"));
            }
            url.clone()
        }
        (Some(target), None) => route_url(world, server, &ns, target, options)?,
    };
    parse_url(&url).map_err(|e| reject("InvalidSpec", e))?;
    let rules = Visibility {
        tools: spec.tools.to_item_rules().map_err(|e| reject("InvalidSpec", format!("tools: {e}")))?,
        prompts: spec.prompts.to_item_rules().map_err(|e| reject("InvalidSpec", format!("prompts: {e}")))?,
        resources: spec.resources.to_item_rules().map_err(|e| reject("InvalidSpec", format!("resources: {e}")))?,
    };
    let credential = match &spec.credential {
        None => None,
        Some(c) => {
            let secret_ns = c.secret_ref.namespace.clone().unwrap_or_else(|| ns.clone());
            let name = &c.secret_ref.name;
            let from = From { group: GROUP, kind: "MCPServer", namespace: &ns };
            if !permitted(&world.grants, from, To { group: "", kind: "Secret", namespace: &secret_ns, name }) {
                return Err(reject(
                    "RefNotPermitted",
                    format!("Secret {secret_ns}/{name} is in another namespace and no ReferenceGrant there allows MCPServers of {ns}"),
                ));
            }
            let secret = world.secret(&secret_ns, name).ok_or_else(|| reject("SecretNotFound", format!("Secret {secret_ns}/{name} not found")))?;
            if !secret.keys.contains(&c.secret_ref.key) {
                return Err(reject("SecretNotFound", format!("Secret {secret_ns}/{name} has no key {:?}", c.secret_ref.key)));
            }
            if c.header.is_empty() || !c.header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(reject("InvalidSpec", format!("credential.header {:?} is not a header name", c.header)));
            }
            Some(CredentialFile { header: c.header.clone(), secret_namespace: secret_ns, secret: name.clone(), key: c.secret_ref.key.clone() })
        }
    };
    Ok(Resolved { url, credential, rules, sessionless: spec.sessionless })
}

/// The in-cluster URL of the backend behind an HTTPRoute: its first rule's first backend
/// (a Service), the path from `spec.path`, else the rule's path match, else `/mcp`.
fn route_url(world: &World, server: &MCPServer, ns: &str, target: &crate::crd::TargetRef, options: &Options) -> Result<String, Rejection> {
    if target.group != gateway_api_group() || target.kind != "HTTPRoute" {
        return Err(reject("InvalidSpec", format!("targetRef must be a {}/HTTPRoute, not {}/{}", gateway_api_group(), target.group, target.kind)));
    }
    let route_ns = target.namespace.clone().unwrap_or_else(|| ns.to_string());
    let from = From { group: GROUP, kind: "MCPServer", namespace: ns };
    let to = To { group: &target.group, kind: "HTTPRoute", namespace: &route_ns, name: &target.name };
    if !permitted(&world.grants, from, to) {
        return Err(reject(
            "RefNotPermitted",
            format!("HTTPRoute {route_ns}/{} is in another namespace and no ReferenceGrant there allows MCPServers of {ns}", target.name),
        ));
    }
    let route = world.route(&route_ns, &target.name).ok_or_else(|| reject("RouteNotFound", format!("HTTPRoute {route_ns}/{} not found", target.name)))?;
    if !route.accepted() {
        return Err(reject("RouteNotAccepted", format!("HTTPRoute {route_ns}/{} is not accepted by any parent Gateway", target.name)));
    }
    let backend = route
        .spec
        .rules
        .iter()
        .flat_map(|r| r.backend_refs.iter())
        .next()
        .ok_or_else(|| reject("NoBackend", format!("HTTPRoute {route_ns}/{} has no backendRefs", target.name)))?;
    if !backend.group.as_deref().unwrap_or("").is_empty() || backend.kind.as_deref().unwrap_or("Service") != "Service" {
        return Err(reject("NoBackend", "the route's backend is not a Service"));
    }
    let svc_ns = backend.namespace.clone().unwrap_or_else(|| route_ns.clone());
    // The route's own reference to its backend obeys the same rule (the Gateway would refuse it).
    let from = From { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: &route_ns };
    if !permitted(&world.grants, from, To { group: "", kind: "Service", namespace: &svc_ns, name: &backend.name }) {
        return Err(reject("RefNotPermitted", format!("the route's backend Service {svc_ns}/{} is in another namespace without a ReferenceGrant", backend.name)));
    }
    let port = backend.port.ok_or_else(|| reject("NoBackend", "the route's backendRef has no port"))?;
    // An ExternalName Service names its host; any other is reached by its cluster DNS name.
    let host = world
        .service(&svc_ns, &backend.name)
        .and_then(|s| s.spec.as_ref())
        .filter(|s| s.type_.as_deref() == Some("ExternalName"))
        .and_then(|s| s.external_name.clone())
        .unwrap_or_else(|| format!("{}.{svc_ns}.svc.{}", backend.name, options.cluster_domain));
    let path = match (&server.spec.path, route.first_path()) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) if p != "/" => p.to_string(),
        _ => "/mcp".to_string(),
    };
    if !path.starts_with('/') {
        return Err(reject("InvalidSpec", format!("path {path:?} must start with '/'")));
    }
    Ok(format!("http://{host}:{port}{path}"))
}
