//! `MCPServer`: one MCP backend as the gateway sees it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ItemRulesSpec;

/// An MCP server the gateway exposes: where it is (an `HTTPRoute` of the Gateway API, or a URL
/// for servers outside it), the prefix its tools get, the credential the gateway sends it, and
/// which of its tools agents see. `MCPGateway`s pick servers by their labels.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[kube(
    group = "mcp.mcpgw.dev",
    version = "v1alpha1",
    kind = "MCPServer",
    plural = "mcpservers",
    shortname = "mcps",
    namespaced,
    status = "MCPServerStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An MCP server exposed through an MCPGateway.",
    printcolumn(name = "Prefix", type_ = "string", json_path = ".spec.toolPrefix"),
    printcolumn(name = "Accepted", type_ = "string", json_path = ".status.conditions[?(@.type==\"Accepted\")].status"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Tools", type_ = "integer", json_path = ".status.discoveredTools"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct MCPServerSpec {
    /// The `HTTPRoute` that routes to the server (group `gateway.networking.k8s.io`, kind
    /// `HTTPRoute`). Another namespace needs a `ReferenceGrant` there. Exactly one of
    /// `targetRef` and `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_ref: Option<TargetRef>,
    /// The server's streamable-HTTP endpoint, for servers outside the Gateway API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The MCP endpoint path on the route's backend (default: the route rule's path match, else
    /// `/mcp`). Only with `targetRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Prefix of the exposed tool and prompt names (`weather_` → `weather_get_forecast`); `""`
    /// makes this the gateway's pass-through server (at most one per gateway).
    pub tool_prefix: String,
    /// A disabled server stays declared but is left out of every gateway.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The credential the gateway sends to this server instead of the client's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialRef>,
    /// The server answers MCP 2026-07-28 sessionless requests.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sessionless: bool,
    /// Which tools agents see, under which names.
    #[serde(default, skip_serializing_if = "ItemRulesSpec::is_empty")]
    pub tools: ItemRulesSpec,
    /// The same for prompts.
    #[serde(default, skip_serializing_if = "ItemRulesSpec::is_empty")]
    pub prompts: ItemRulesSpec,
    /// Globs on resource URIs (no renames).
    #[serde(default, skip_serializing_if = "ItemRulesSpec::is_empty")]
    pub resources: ItemRulesSpec,
}

fn yes() -> bool {
    true
}

/// A reference to an `HTTPRoute` (the Gateway API's `LocalPolicyTargetReference`, plus a namespace).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    /// Default `gateway.networking.k8s.io`.
    #[serde(default = "gateway_api_group")]
    pub group: String,
    /// Default `HTTPRoute`, the only kind supported.
    #[serde(default = "http_route_kind")]
    pub kind: String,
    pub name: String,
    /// Default: the MCPServer's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

pub fn gateway_api_group() -> String {
    "gateway.networking.k8s.io".into()
}
fn http_route_kind() -> String {
    "HTTPRoute".into()
}

/// A header whose value is one key of a Secret. The Secret must be in the namespace of each
/// `MCPGateway` the server attaches to (the broker mounts it there; Secrets cannot be mounted
/// across namespaces), and if that is not the MCPServer's own namespace, a `ReferenceGrant` in
/// the Secret's namespace must allow `MCPServer`s of the server's namespace to refer to it.
/// The value is never copied: the gateway config names the mounted file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRef {
    /// Default `authorization`.
    #[serde(default = "authorization")]
    pub header: String,
    pub secret_ref: SecretKeyRef,
}

fn authorization() -> String {
    "authorization".into()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
    /// Default: the MCPServer's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// What the controller found.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPServerStatus {
    /// `Accepted` (the spec resolves: route found and accepted, references permitted, prefix
    /// free) and `Ready` (accepted, attached to a gateway, and its backend answered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The backend URL the gateway calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How many tools the backend listed when last probed (before the rules apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_tools: Option<u32>,
    /// The gateways (`namespace/name`) that serve this server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
