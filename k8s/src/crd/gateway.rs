//! `MCPGateway`: one MCP gateway, the servers it groups (by label selection) and where agents
//! reach it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An MCP gateway: the `MCPServer`s its selector matches (in the namespaces it allows) are
/// aggregated behind one MCP endpoint, each under its prefix.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[kube(
    group = "mcp.mcpgw.dev",
    version = "v1alpha1",
    kind = "MCPGateway",
    plural = "mcpgateways",
    shortname = "mcpgw",
    namespaced,
    status = "MCPGatewayStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "An MCP gateway aggregating the MCPServers it selects.",
    printcolumn(name = "Class", type_ = "string", json_path = ".spec.gatewayClassName"),
    printcolumn(name = "URL", type_ = "string", json_path = ".status.url"),
    printcolumn(name = "Servers", type_ = "integer", json_path = ".status.attachedServerCount"),
    printcolumn(name = "Programmed", type_ = "string", json_path = ".status.conditions[?(@.type==\"Programmed\")].status")
)]
#[serde(rename_all = "camelCase")]
pub struct MCPGatewaySpec {
    /// The `MCPGatewayClass` whose controller implements this gateway.
    pub gateway_class_name: String,
    /// Which `MCPServer`s belong to this gateway (its group). Empty matches all.
    #[serde(default)]
    pub selector: LabelSelector,
    /// From which namespaces servers may attach (default: this gateway's namespace only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_servers: Option<AllowedServers>,
    /// Where agents reach the gateway. The first listener gives the status URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
    /// Implementation parameters; unset ones come from the class, then the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<GatewayParameters>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowedServers {
    pub namespaces: ServerNamespaces,
}

/// As the Gateway API's `RouteNamespaces`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerNamespaces {
    /// `Same` (default), `All`, or `Selector`.
    #[serde(default)]
    pub from: FromNamespaces,
    /// With `from: Selector`: the namespaces whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum FromNamespaces {
    #[default]
    Same,
    All,
    Selector,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    pub name: String,
    /// The host agents use (default: the gateway's Service, `<name>.<namespace>.svc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub port: u16,
    /// `HTTP` or `HTTPS` (TLS terminated in front of the gateway).
    #[serde(default = "http")]
    pub protocol: String,
    /// The MCP endpoint path (default `/mcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

fn http() -> String {
    "HTTP".into()
}

/// How the gateway runs: where the broker reads its config, which Secrets hold the session key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayParameters {
    /// The ConfigMap the controller writes the gateway config to (key `gateway.yaml`), in the
    /// gateway's namespace. Default `mcpgw-<gateway name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_name: Option<String>,
    /// The broker Deployment that mounts that ConfigMap and the credential Secrets. Default
    /// `mcpgw-broker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_deployment: Option<String>,
    /// The broker's container in it. Default `broker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_container: Option<String>,
    /// The Secret (in the gateway's namespace) with the session keys, key `key`. Default
    /// `mcpgw-session`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_secret: Option<String>,
    /// Where the gateway's Envoy listens inside its pod. Default `0.0.0.0:8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Where the broker listens inside its pod. Default `0.0.0.0:9000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_listen: Option<String>,
    /// `Host`/`Origin` values the endpoint accepts (default: the listeners' hostnames).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPGatewayStatus {
    /// `Accepted` (the class is ours and found) and `Programmed` (the gateway config was
    /// written and passes the gateway's own checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The MCP endpoint agents use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub attached_server_count: u32,
    /// The servers it serves, in the gateway config's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached_servers: Vec<AttachedServer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachedServer {
    pub namespace: String,
    pub name: String,
    pub tool_prefix: String,
    pub url: String,
}
