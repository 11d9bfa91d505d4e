//! The MCP gateway's Kubernetes mode (issue 17).
//!
//! Everything but the watches and the writes to the API server is a pure function from
//! Kubernetes objects to outputs, tested offline on YAML manifests:
//!
//! - [`crd`]: the `MCPServer`, `MCPGatewayClass` and `MCPGateway` resources.
//! - [`gateway_api`]: the parts of `HTTPRoute`, `Gateway` and `ReferenceGrant` the controller reads.
//! - [`world`]: a snapshot of the objects the controller watches (from a cluster or from files).
//! - [`reconcile`]: the snapshot → each gateway's config (a ConfigMap), statuses, Events.
//! - [`registry`]: annotated `HTTPRoute`s → MCP Registry `server.json` entries, and the
//!   registry read API (`/v0/servers`).
//! - [`writes`]: the outputs → the writes to the API server (unchanged statuses dropped).
//! - [`apply`]: those writes sent (server-side apply, status subresources, Events).
//! - `live` (binary only): the thin layer that watches and calls the above.

pub mod apply;
pub mod conditions;
pub mod crd;
pub mod gateway_api;
pub mod http;
pub mod manifests;
pub mod probe;
pub mod reconcile;
pub mod refgrant;
pub mod registry;
pub mod world;
pub mod writes;
