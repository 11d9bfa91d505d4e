//! Events instead of status bloat: a server's endpoint found (`EndpointDiscovered`) or changed
//! (`EndpointUpdated`: another URL, or another set of gateways — a server that moved between
//! groups), decided by comparing the status about to be written with the one the object
//! carries. The same snapshot reconciled twice records nothing the second time.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{Resource, ResourceExt};

use crate::crd::{MCPServer, MCPServerStatus};

use super::Event;

fn reference(s: &MCPServer) -> ObjectReference {
    ObjectReference {
        api_version: Some(MCPServer::api_version(&()).into_owned()),
        kind: Some(MCPServer::kind(&()).into_owned()),
        namespace: s.namespace(),
        name: Some(s.name_any()),
        uid: s.uid(),
        resource_version: s.resource_version(),
        ..ObjectReference::default()
    }
}

pub fn for_server(s: &MCPServer, new: &MCPServerStatus) -> Vec<Event> {
    let Some(url) = &new.url else { return Vec::new() };
    let old = s.status.as_ref();
    let event = |reason: &str, note: String| Event {
        regarding: reference(s),
        type_: "Normal".into(),
        reason: reason.into(),
        action: "Reconcile".into(),
        note,
    };
    match old.and_then(|o| o.url.as_ref()) {
        None => vec![event("EndpointDiscovered", format!("{url} served by {}", new.gateways.join(", ")))],
        Some(prev) if prev != url => vec![event("EndpointUpdated", format!("endpoint {prev} -> {url}"))],
        Some(_) if old.map(|o| &o.gateways) != Some(&new.gateways) => {
            let before = old.map(|o| o.gateways.join(", ")).unwrap_or_default();
            vec![event("EndpointUpdated", format!("served by [{}] (was [{before}])", new.gateways.join(", ")))]
        }
        Some(_) => Vec::new(),
    }
}
