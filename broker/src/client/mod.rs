//! The broker's one outbound MCP client: every request, notification, client answer, stream
//! and session it opens towards a backend goes through here (`App::http` is called nowhere
//! else; `tests/module_layers.rs` checks it). It uses the state layer only.

pub mod addressing;
pub mod backend_sessions;
pub mod backend_stream;
pub mod capability_probe;
pub mod ephemeral;
pub mod ephemeral_stream;
pub mod exchange;
pub mod identity;
pub mod relay;
pub mod stream_reader;
pub mod task_ids;
