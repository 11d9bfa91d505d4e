//! Annotated routes → `server.json` entries.
//!
//! Annotation keys (source document 001), under `toolhive.stacklok.dev/`, or the `.io` and
//! `.com` spellings ToolHive's own code and docs have used (the first spelling found wins):
//!
//! | key | meaning |
//! |---|---|
//! | `registry-export` | `"true"` to export the route |
//! | `registry-url` | the external URL, when it cannot be derived from the route and its Gateway |
//! | `registry-name` | the entry's name (`namespace/name` in reverse DNS); default `io.mcpgw.<ns>/<route>` |
//! | `registry-description` | default `MCP server <ns>/<route>` (at most 100 characters) |
//! | `registry-tier`, `registry-tools`, `registry-tags` | publisher metadata (lists comma-separated) |
//!
//! The external URL: `https` when the parent Gateway's listener is HTTPS/TLS; host from the
//! route's first non-wildcard hostname, else the listener's, else the Gateway's first address;
//! the listener's port unless it is the scheme's default; the path of the route's first path
//! match. The route must be accepted by that Gateway, and a route in another namespace than
//! its Gateway must be allowed by the listener's `allowedRoutes`.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Resource, ResourceExt};
use serde_json::{json, Value};

use crate::gateway_api::{Gateway, GatewayListener, HTTPRoute};
use crate::reconcile::Event;
use crate::world::{selector_matches, ObjKey, World};

pub const ANNOTATION_PREFIXES: [&str; 3] = ["toolhive.stacklok.dev", "toolhive.stacklok.io", "toolhive.stacklok.com"];
/// Where our publisher metadata sits under `_meta."io.modelcontextprotocol.registry/publisher-provided"`.
pub const PUBLISHER_KEY: &str = "dev.mcpgw.kubernetes";

/// One exported route.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub route: ObjKey,
    /// The `server.json` document.
    pub server: Value,
}

impl Entry {
    pub fn name(&self) -> &str {
        self.server.get("name").and_then(Value::as_str).unwrap_or_default()
    }
    pub fn url(&self) -> &str {
        self.server.pointer("/remotes/0/url").and_then(Value::as_str).unwrap_or_default()
    }
}

/// A route asked to be exported but was not, and why (a condition-style reason and a message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub route: ObjKey,
    pub reason: &'static str,
    pub message: String,
}

fn annotation<'a>(route: &'a HTTPRoute, key: &str) -> Option<&'a str> {
    let a = route.annotations();
    ANNOTATION_PREFIXES.iter().find_map(|p| a.get(&format!("{p}/{key}"))).map(String::as_str)
}

fn list(route: &HTTPRoute, key: &str) -> Vec<String> {
    annotation(route, key).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()).unwrap_or_default()
}

/// The registry's name rule: `^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$`, 3 to 200 characters.
pub fn valid_name(name: &str) -> bool {
    let Some((ns, rest)) = name.split_once('/') else { return false };
    (3..=200).contains(&name.len())
        && !ns.is_empty()
        && !rest.is_empty()
        && ns.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Every annotated route, exported or skipped; entries sorted by name, one per name.
pub fn export(world: &World) -> (Vec<Entry>, Vec<Skipped>) {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let mut routes: Vec<&HTTPRoute> = world.routes.iter().filter(|r| annotation(r, "registry-export") == Some("true")).collect();
    routes.sort_by_key(|r| ObjKey::of(*r));
    let mut names = BTreeSet::new();
    for route in routes {
        let key = ObjKey::of(route);
        match entry(world, route) {
            Ok(e) if !names.insert(e.name().to_string()) => {
                skipped.push(Skipped { route: key, reason: "DuplicateName", message: format!("another route already exports {:?}", e.name()) })
            }
            Ok(e) => entries.push(e),
            Err((reason, message)) => skipped.push(Skipped { route: key, reason, message }),
        }
    }
    entries.sort_by(|a, b| a.name().cmp(b.name()));
    (entries, skipped)
}

type Why = (&'static str, String);

fn entry(world: &World, route: &HTTPRoute) -> Result<Entry, Why> {
    let key = ObjKey::of(route);
    let fallback = annotation(route, "registry-url").map(String::from);
    let (url, gateway) = match external_url(world, route) {
        Ok(found) => found,
        // The fallback stands in for a URL that cannot be derived, never for a route that is
        // refused: a route its Gateway did not accept serves nothing.
        Err((reason, message)) if matches!(reason, "NoExternalURL" | "GatewayNotFound" | "NoParentGateway") => {
            (fallback.clone().ok_or((reason, message))?, None)
        }
        Err(e) => return Err(e),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.chars().any(char::is_whitespace) {
        return Err(("InvalidURL", format!("{url:?} is not an http(s) URL")));
    }
    let name = annotation(route, "registry-name").map_or_else(|| format!("io.mcpgw.{}/{}", key.namespace, key.name), String::from);
    if !valid_name(&name) {
        return Err(("InvalidName", format!("registry-name {name:?} does not match the registry's rule namespace/name")));
    }
    let mut description = annotation(route, "registry-description").map_or_else(|| format!("MCP server {key}"), String::from);
    if description.chars().count() > 100 {
        description = description.chars().take(99).collect::<String>() + "…";
    }
    if description.is_empty() {
        description = format!("MCP server {key}");
    }
    let mut publisher = json!({
        "namespace": key.namespace,
        "httpRoute": key.name,
        "tools": list(route, "registry-tools"),
        "tags": list(route, "registry-tags"),
    });
    if let Some(obj) = publisher.as_object_mut() {
        if let Some(tier) = annotation(route, "registry-tier") {
            obj.insert("tier".into(), json!(tier));
        }
        if let Some(g) = gateway {
            obj.insert("gateway".into(), json!(g));
        }
    }
    let server = json!({
        "$schema": super::SCHEMA_URL,
        "name": name,
        "description": description,
        "version": annotation(route, "registry-version").unwrap_or("1.0.0"),
        "remotes": [ { "type": "streamable-http", "url": url } ],
        "_meta": { "io.modelcontextprotocol.registry/publisher-provided": { PUBLISHER_KEY: publisher } },
    });
    Ok(Entry { route: key, server })
}

/// The URL agents use, by following the route to its parent Gateway; with the Gateway's
/// `namespace/name`.
fn external_url(world: &World, route: &HTTPRoute) -> Result<(String, Option<String>), Why> {
    let key = ObjKey::of(route);
    let parent = route.spec.parent_refs.iter().find(|p| p.is_gateway()).ok_or(("NoParentGateway", format!("HTTPRoute {key} has no parent Gateway")))?;
    let gw_ns = parent.namespace.clone().unwrap_or_else(|| key.namespace.clone());
    let gw: &Gateway = world.api_gateway(&gw_ns, &parent.name).ok_or(("GatewayNotFound", format!("Gateway {gw_ns}/{} not found", parent.name)))?;
    if !route.accepted_by(&gw_ns, &parent.name, &key.namespace) {
        return Err(("RouteNotAccepted", format!("HTTPRoute {key} is not accepted by Gateway {gw_ns}/{}", parent.name)));
    }
    let listeners: Vec<&GatewayListener> = gw
        .spec
        .listeners
        .iter()
        .filter(|l| parent.section_name.as_ref().is_none_or(|s| *s == l.name))
        .filter(|l| parent.port.is_none_or(|p| p == l.port))
        .collect();
    let allowed: Vec<&GatewayListener> = listeners.into_iter().filter(|l| listener_allows(world, l, &gw_ns, &key.namespace)).collect();
    let listener = allowed.first().ok_or((
        "NotAllowedByGateway",
        format!("no listener of Gateway {gw_ns}/{} allows routes from namespace {}", parent.name, key.namespace),
    ))?;
    let https = matches!(listener.protocol.as_str(), "HTTPS" | "TLS");
    let host = route
        .spec
        .hostnames
        .iter()
        .find(|h| !h.starts_with('*'))
        .cloned()
        .or_else(|| listener.hostname.clone().filter(|h| !h.starts_with('*')))
        .or_else(|| gw.status.as_ref().and_then(|s| s.addresses.first()).map(|a| a.value.clone()))
        .ok_or(("NoExternalURL", format!("neither HTTPRoute {key} nor Gateway {gw_ns}/{} names a host", parent.name)))?;
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host };
    let port = match (https, listener.port) {
        (false, 80) | (true, 443) => String::new(),
        (_, p) => format!(":{p}"),
    };
    let path = route.first_path().unwrap_or("/");
    Ok((format!("{}://{host}{port}{path}", if https { "https" } else { "http" }), Some(format!("{gw_ns}/{}", parent.name))))
}

/// A listener's `allowedRoutes.namespaces` (default `Same`).
fn listener_allows(world: &World, l: &GatewayListener, gw_ns: &str, route_ns: &str) -> bool {
    let ns = l.allowed_routes.as_ref().and_then(|a| a.namespaces.as_ref());
    match ns.and_then(|n| n.from.as_deref()).unwrap_or("Same") {
        "All" => true,
        "Selector" => ns.and_then(|n| n.selector.as_ref()).is_some_and(|s| selector_matches(s, &world.namespace_labels(route_ns))),
        _ => gw_ns == route_ns,
    }
}

fn route_ref(world: &World, key: &ObjKey) -> ObjectReference {
    let route = world.route(&key.namespace, &key.name);
    ObjectReference {
        api_version: Some(HTTPRoute::api_version(&()).into_owned()),
        kind: Some(HTTPRoute::kind(&()).into_owned()),
        namespace: Some(key.namespace.clone()),
        name: Some(key.name.clone()),
        uid: route.and_then(|r| r.uid()),
        ..ObjectReference::default()
    }
}

/// Events on the routes whose entry appeared (`EndpointDiscovered`) or changed URL or name
/// (`EndpointUpdated`) since `previous`.
pub fn events(world: &World, previous: &[Entry], current: &[Entry]) -> Vec<Event> {
    let mut out = Vec::new();
    for e in current {
        let event = |reason: &str, note: String| Event {
            regarding: route_ref(world, &e.route),
            type_: "Normal".into(),
            reason: reason.into(),
            action: "RegistryExport".into(),
            note,
        };
        match previous.iter().find(|p| p.route == e.route) {
            None => out.push(event("EndpointDiscovered", format!("exported as {} at {}", e.name(), e.url()))),
            Some(p) if p.url() != e.url() || p.name() != e.name() => {
                out.push(event("EndpointUpdated", format!("{} at {} (was {} at {})", e.name(), e.url(), p.name(), p.url())))
            }
            Some(_) => {}
        }
    }
    out
}
