//! The Gateway API objects the controller reads (`HTTPRoute`, `Gateway`, `ReferenceGrant`),
//! declared with only the fields it uses: unknown fields are ignored when reading, and these
//! types are never written back nor installed as CRDs (the Gateway API's own CRDs are).
//! Declaring them here saves a dependency for a handful of fields.

use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// Conditions as found in other controllers' statuses: read leniently (a manifest written by
/// hand may omit `lastTransitionTime`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
}

pub fn is_true(conditions: &[ObservedCondition], type_: &str) -> bool {
    conditions.iter().any(|c| c.type_ == type_ && c.status == "True")
}

#[derive(CustomResource, Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[kube(group = "gateway.networking.k8s.io", version = "v1", kind = "HTTPRoute", namespaced, schema = "disabled", status = "HTTPRouteStatus", derive = "Default", derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteSpec {
    #[serde(default)]
    pub parent_refs: Vec<ParentReference>,
    #[serde(default)]
    pub hostnames: Vec<String>,
    #[serde(default)]
    pub rules: Vec<HTTPRouteRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default)]
    pub section_name: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
}

impl ParentReference {
    /// A `Gateway` of the Gateway API (the defaults of group and kind).
    pub fn is_gateway(&self) -> bool {
        self.group.as_deref().unwrap_or("gateway.networking.k8s.io") == "gateway.networking.k8s.io"
            && self.kind.as_deref().unwrap_or("Gateway") == "Gateway"
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteRule {
    #[serde(default)]
    pub matches: Vec<HTTPRouteMatch>,
    #[serde(default)]
    pub backend_refs: Vec<BackendRef>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteMatch {
    #[serde(default)]
    pub path: Option<HTTPPathMatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HTTPPathMatch {
    /// `Exact`, `PathPrefix` (the default) or `RegularExpression`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendRef {
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteStatus {
    #[serde(default)]
    pub parents: Vec<RouteParentStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    pub parent_ref: ParentReference,
    #[serde(default)]
    pub controller_name: Option<String>,
    #[serde(default)]
    pub conditions: Vec<ObservedCondition>,
}

impl HTTPRoute {
    /// Some parent (a Gateway's controller) accepted the route.
    pub fn accepted(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.parents.iter().any(|p| is_true(&p.conditions, "Accepted")))
    }

    /// Accepted by this parent gateway.
    pub fn accepted_by(&self, gateway_ns: &str, gateway_name: &str, route_ns: &str) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.parents.iter().any(|p| {
                p.parent_ref.is_gateway()
                    && p.parent_ref.name == gateway_name
                    && p.parent_ref.namespace.as_deref().unwrap_or(route_ns) == gateway_ns
                    && is_true(&p.conditions, "Accepted")
            })
        })
    }

    /// The path of the first rule's first path match, if it is a plain path (`Exact` or
    /// `PathPrefix`).
    pub fn first_path(&self) -> Option<&str> {
        self.spec.rules.iter().flat_map(|r| r.matches.iter()).find_map(|m| {
            let p = m.path.as_ref()?;
            match p.type_.as_deref().unwrap_or("PathPrefix") {
                "Exact" | "PathPrefix" => p.value.as_deref(),
                _ => None,
            }
        })
    }
}

#[derive(CustomResource, Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[kube(group = "gateway.networking.k8s.io", version = "v1", kind = "Gateway", namespaced, schema = "disabled", status = "GatewayStatus", derive = "Default", derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    #[serde(default)]
    pub gateway_class_name: String,
    #[serde(default)]
    pub listeners: Vec<GatewayListener>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayListener {
    pub name: String,
    #[serde(default)]
    pub hostname: Option<String>,
    pub port: u16,
    pub protocol: String,
    #[serde(default)]
    pub allowed_routes: Option<AllowedRoutes>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedRoutes {
    #[serde(default)]
    pub namespaces: Option<RouteNamespaces>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteNamespaces {
    /// `Same` (default), `All`, `Selector`.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub selector: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    #[serde(default)]
    pub addresses: Vec<GatewayAddress>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayAddress {
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    pub value: String,
}

#[derive(CustomResource, Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[kube(group = "gateway.networking.k8s.io", version = "v1beta1", kind = "ReferenceGrant", namespaced, schema = "disabled", derive = "Default", derive = "PartialEq")]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantSpec {
    #[serde(default)]
    pub from: Vec<ReferenceGrantFrom>,
    #[serde(default)]
    pub to: Vec<ReferenceGrantTo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantFrom {
    #[serde(default)]
    pub group: String,
    pub kind: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantTo {
    #[serde(default)]
    pub group: String,
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
}
