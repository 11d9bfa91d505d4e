//! `MCPGatewayClass`: which controller implements a class of gateways, as the Gateway API's
//! `GatewayClass` does, so that gateway implementations are pluggable.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A class of MCP gateways and the controller that implements it (cluster-scoped).
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[kube(
    group = "mcp.mcpgw.dev",
    version = "v1alpha1",
    kind = "MCPGatewayClass",
    plural = "mcpgatewayclasses",
    shortname = "mcpgc",
    status = "MCPGatewayClassStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "A class of MCP gateways, implemented by the controller it names.",
    printcolumn(name = "Controller", type_ = "string", json_path = ".spec.controllerName"),
    printcolumn(name = "Accepted", type_ = "string", json_path = ".status.conditions[?(@.type==\"Accepted\")].status")
)]
#[serde(rename_all = "camelCase")]
pub struct MCPGatewayClassSpec {
    /// The controller that implements this class (`mcp.mcpgw.dev/gateway-controller` for ours).
    pub controller_name: String,
    /// Implementation parameters shared by the class's gateways (a gateway's own override them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<super::GatewayParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MCPGatewayClassStatus {
    /// `Accepted`: this controller implements the class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
