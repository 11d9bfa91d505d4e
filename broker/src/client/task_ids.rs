//! Task ids of the tasks extension on their way back to a 2026-07-28 client: a relayed answer
//! to a `tools/call` or a task method whose `taskId` the client must see namespaced
//! (`"<server>:<id>"`, `mcpgw_common::protocol::tasks`), so that its `tasks/*` find the server.
//!
//! Only a JSON answer is rewritten here, and only when it ends within [`MAX_REWRITTEN`] bytes
//! (a `CreateTaskResult` is small; a `tasks/get` inlines the tool's result): a longer one, and
//! an SSE answer, are relayed as they come.

use mcpgw_common::protocol::tasks::expose_task_ids;
use mcpgw_common::protocol::{Class, Method, Target};

use crate::client::relay::{rewrite_json, RelayedAnswer};

/// The largest JSON answer held back to be rewritten.
pub const MAX_REWRITTEN: usize = 4 << 20;

/// Whether answers to `method` may carry a task id.
pub fn may_carry_task_id(method: Option<Method>) -> bool {
    method.is_some_and(|m| m == Method::ToolsCall || m.class() == Class::Routed(Target::TaskId))
}

/// `answer` with its task id namespaced for `server` (see the module docs).
pub fn expose(answer: RelayedAnswer, server: &str, method: Option<Method>) -> RelayedAnswer {
    let is_json = answer.content_type.as_ref().and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.trim_start().starts_with("application/json"));
    if !is_json || !may_carry_task_id(method) {
        return answer;
    }
    let server = server.to_string();
    let RelayedAnswer { status, content_type, body } = answer;
    let body = rewrite_json(body, MAX_REWRITTEN, move |held| expose_task_ids(&held, &server, method).unwrap_or(held));
    RelayedAnswer { status, content_type, body }
}
