//! The MCP gateway's Kubernetes mode (issue 17): the custom resources, for now.

pub mod crd;
