//! A snapshot of every object the controller reads: what the live layer's watches hold, or
//! what [`crate::manifests`] reads from YAML files. The reconcile is a function of this alone
//! (plus the clock and the backend probes), so a snapshot from files exercises exactly the code
//! a cluster does.
//!
//! Secrets are held as their names and key names only: the controller never needs a value
//! (the gateway config names the file the broker's mounted Secret holds), so no value can leak
//! into an output.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::core::{Selector, SelectorExt};
use kube::ResourceExt;

use crate::crd::{MCPGateway, MCPGatewayClass, MCPServer};
use crate::gateway_api::{Gateway, HTTPRoute, ReferenceGrant};

/// `namespace/name` of a namespaced object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjKey {
    pub namespace: String,
    pub name: String,
}

impl ObjKey {
    pub fn new(namespace: &str, name: &str) -> ObjKey {
        ObjKey { namespace: namespace.into(), name: name.into() }
    }

    pub fn of<K: ResourceExt>(obj: &K) -> ObjKey {
        ObjKey { namespace: obj.namespace().unwrap_or_default(), name: obj.name_any() }
    }
}

impl std::fmt::Display for ObjKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A Secret without its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKeys {
    pub namespace: String,
    pub name: String,
    pub keys: BTreeSet<String>,
}

impl SecretKeys {
    pub fn of(secret: &k8s_openapi::api::core::v1::Secret) -> SecretKeys {
        let mut keys: BTreeSet<String> = secret.data.iter().flat_map(|d| d.keys().cloned()).collect();
        keys.extend(secret.string_data.iter().flat_map(|d| d.keys().cloned()));
        SecretKeys { namespace: secret.namespace().unwrap_or_default(), name: secret.name_any(), keys }
    }
}

#[derive(Debug, Clone, Default)]
pub struct World {
    pub servers: Vec<MCPServer>,
    pub gateways: Vec<MCPGateway>,
    pub classes: Vec<MCPGatewayClass>,
    pub routes: Vec<HTTPRoute>,
    pub api_gateways: Vec<Gateway>,
    pub grants: Vec<ReferenceGrant>,
    pub services: Vec<Service>,
    pub secrets: Vec<SecretKeys>,
    pub namespaces: Vec<Namespace>,
}

fn find<'a, K: ResourceExt>(list: &'a [K], ns: &str, name: &str) -> Option<&'a K> {
    list.iter().find(|o| o.namespace().as_deref() == Some(ns) && o.name_any() == name)
}

impl World {
    pub fn route(&self, ns: &str, name: &str) -> Option<&HTTPRoute> {
        find(&self.routes, ns, name)
    }
    pub fn api_gateway(&self, ns: &str, name: &str) -> Option<&Gateway> {
        find(&self.api_gateways, ns, name)
    }
    pub fn service(&self, ns: &str, name: &str) -> Option<&Service> {
        find(&self.services, ns, name)
    }
    pub fn secret(&self, ns: &str, name: &str) -> Option<&SecretKeys> {
        self.secrets.iter().find(|s| s.namespace == ns && s.name == name)
    }
    pub fn class(&self, name: &str) -> Option<&MCPGatewayClass> {
        self.classes.iter().find(|c| c.name_any() == name)
    }
    /// A namespace's labels (none when the namespace object is not known).
    pub fn namespace_labels(&self, ns: &str) -> BTreeMap<String, String> {
        self.namespaces.iter().find(|n| n.name_any() == ns).map(|n| n.labels().clone()).unwrap_or_default()
    }
}

/// Whether `labels` match a Kubernetes label selector (an empty selector matches everything).
/// An invalid selector matches nothing.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    match Selector::try_from(selector.clone()) {
        Ok(s) => s.matches(labels),
        Err(_) => false,
    }
}
