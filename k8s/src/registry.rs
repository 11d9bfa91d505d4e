//! Registry export: `HTTPRoute`s annotated `toolhive.stacklok.dev/registry-export: "true"`
//! become entries of the upstream MCP Registry (`server.json`, schema version
//! [`SCHEMA_URL`], carried in `k8s/schemas/`), served on the registry's read API shape.
//!
//! - [`export`]: the snapshot → the entries, and the routes skipped with the reason (pure).
//! - [`api`]: `GET /v0/servers`, `GET /v0/servers/{name}` (and its `versions` forms, and the
//!   same under `/v0.1`), as the registry's OpenAPI describes them.

pub mod api;
mod export;

pub use export::*;

/// The `server.json` schema the entries follow (pinned; the file is in k8s/schemas/).
pub const SCHEMA_URL: &str = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json";
