//! Task ids of the tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`, 2026-07-28), as
//! the client sees them.
//!
//! A server that answers a `tools/call` with a `CreateTaskResult` (`resultType: "task"` and a
//! top-level `taskId`) picks the task id itself, so two servers can pick the same one, and a
//! later `tasks/get|update|cancel` names nothing but that id. The gateway therefore exposes
//! the id as `"<server>:<the server's task id>"` (its config name, which cannot contain `:`, so
//! the first `:` always ends it), the rule `ids` uses for server-to-client request ids, and
//! routes `tasks/*` by it (`decide`), handing the server its own id back.
//!
//! Why the server's name and not its tool prefix: a prefix may be empty (a server that is
//! alone, or whose names are exposed as they are) and prefixes may nest (`a_`, `a_b_`), so a
//! task id under a prefix could be unroutable or ambiguous; names are unique and never empty.
//! Unlike a request id, a task id is always a string: the server's id follows the `:` as it
//! is (not as JSON text).
//!
//! [`expose_task_ids`] rewrites a server's message on its way to the client: the `taskId` of a
//! `CreateTaskResult`, of an answer to a task method (`tasks/get` echoes it), and of a
//! `notifications/tasks/status`. It reads the message in one pass, like `message`, and splices
//! the id in place; everything else is copied byte for byte.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::message;
use crate::names::Router;

use super::method::{Class, Method, Target};

/// The extension's identifier, under `capabilities.extensions`.
pub const EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// The notification a server may send when a task's status changes (its params are a Task).
pub const STATUS_NOTIFICATION: &str = "notifications/tasks/status";

/// The task id the client sees for task `own` of `server`.
pub fn expose_task_id(server: &str, own: &str) -> String {
    let mut s = String::with_capacity(server.len() + 1 + own.len());
    s.push_str(server);
    s.push(':');
    s.push_str(own);
    s
}

/// The server (its index in the router) that minted the exposed task id, and where the
/// server's own id starts in it. `None` when the id names no configured server, or names one
/// with nothing after the `:` (never minted by the gateway).
pub fn route_task_id(exposed: &str, router: &Router) -> Option<(usize, usize)> {
    let (server, own) = exposed.split_once(':')?;
    if own.is_empty() {
        return None;
    }
    router.server_index(server).map(|index| (index, server.len() + 1))
}

/// A server's message (one JSON-RPC message: a JSON body or one SSE event's data) with its
/// task ids namespaced for the client: `result.taskId` when `result.resultType` is `"task"` or
/// when the message answers a task method (`answered`, the method of the request it answers,
/// when the caller knows it), and `params.taskId` of `notifications/tasks/status`. `None`
/// when nothing changes: no task id there, not JSON, or a duplicated key among the fields read
/// (the message then goes on as it is, and a client that uses the bare id is refused, as an
/// id of no server).
pub fn expose_task_ids(message: &[u8], server: &str, answered: Option<Method>) -> Option<Vec<u8>> {
    let found: Found<'_> = serde_json::from_slice(message).ok()?;
    let answers_task_method = answered.is_some_and(|m| m.class() == Class::Routed(Target::TaskId));
    let task_id = match (found.method, found.result, found.params) {
        (None, Some(result), _) if answers_task_method || result.result_type.is_some_and(|t| is_string(t, "task")) => result.task_id?,
        (Some(method), None, Some(params)) if is_string(method, STATUS_NOTIFICATION) => params.task_id?,
        _ => return None,
    };
    let own = serde_json::from_str::<String>(task_id.get()).ok()?;
    let span = span_of(message, task_id)?;
    let mut literal = Vec::with_capacity(server.len() + own.len() + 3);
    message::write_json_string(&mut literal, &expose_task_id(server, &own));
    message::splice_raw(message, span, &literal)
}

/// Whether `raw` is the JSON string `expected`.
fn is_string(raw: &RawValue, expected: &str) -> bool {
    serde_json::from_str::<std::borrow::Cow<'_, str>>(raw.get()).is_ok_and(|s| s == expected)
}

/// Where `raw`, borrowed from `body`, sits in it.
fn span_of(body: &[u8], raw: &RawValue) -> Option<std::ops::Range<usize>> {
    let text = raw.get();
    let start = (text.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    let end = start.checked_add(text.len())?;
    (end <= body.len()).then_some(start..end)
}

// ---------------------------------------------------------------------------------------------
// serde plumbing: the top level's `method`, `result` and `params`, and in the latter two only
// `resultType` and `taskId`; every other value is validated and skipped.

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum TopKey {
    Method,
    Result,
    Params,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum InnerKey {
    #[serde(rename = "resultType")]
    ResultType,
    #[serde(rename = "taskId")]
    TaskId,
    #[serde(other)]
    Other,
}

struct Found<'a> {
    method: Option<&'a RawValue>,
    result: Option<Inner<'a>>,
    params: Option<Inner<'a>>,
}

#[derive(Default)]
struct Inner<'a> {
    result_type: Option<&'a RawValue>,
    task_id: Option<&'a RawValue>,
}

fn once<T, E: de::Error>(slot: &mut Option<T>, v: T, key: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::custom(format_args!("duplicate key `{key}`")));
    }
    *slot = Some(v);
    Ok(())
}

impl<'de> Deserialize<'de> for Found<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Found<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut found = Found { method: None, result: None, params: None };
                while let Some(key) = map.next_key::<TopKey>()? {
                    match key {
                        TopKey::Method => once(&mut found.method, map.next_value()?, "method")?,
                        TopKey::Result => once(&mut found.result, map.next_value()?, "result")?,
                        TopKey::Params => once(&mut found.params, map.next_value()?, "params")?,
                        TopKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(found)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Inner<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Inner<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a result or params")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut inner = Inner::default();
                while let Some(key) = map.next_key::<InnerKey>()? {
                    match key {
                        InnerKey::ResultType => once(&mut inner.result_type, map.next_value()?, "resultType")?,
                        InnerKey::TaskId => once(&mut inner.task_id, map.next_value()?, "taskId")?,
                        InnerKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(inner)
            }
            // Anything but an object has no task id.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Inner::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Inner::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Inner::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Inner::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Inner::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Inner::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Inner::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;
    use serde_json::Value;

    fn exposed(body: &str, answered: Option<Method>) -> Option<Value> {
        expose_task_ids(body.as_bytes(), "alpha", answered).map(|b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn a_created_task_is_namespaced_in_place() {
        let body = r#"{"jsonrpc":"2.0","id":3,"result":{"taskId":"t-1","resultType":"task","status":"working","ttlMs":60000}}"#;
        let out = expose_task_ids(body.as_bytes(), "alpha", Some(Method::ToolsCall)).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"jsonrpc":"2.0","id":3,"result":{"taskId":"alpha:t-1","resultType":"task","status":"working","ttlMs":60000}}"#
        );
        // The caller need not know what was asked: resultType says it.
        assert_eq!(exposed(body, None).unwrap()["result"]["taskId"], "alpha:t-1");
    }

    #[test]
    fn answers_to_task_methods_and_status_notifications_echo_the_id() {
        let get = r#"{"jsonrpc":"2.0","id":4,"result":{"resultType":"complete","taskId":"t-1","status":"completed","result":{"content":[],"taskId":"decoy"}}}"#;
        let v = exposed(get, Some(Method::TasksGet)).unwrap();
        assert_eq!(v["result"]["taskId"], "alpha:t-1");
        assert_eq!(v["result"]["result"]["taskId"], "decoy", "only the top-level id");
        let note = r#"{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"t\"2","status":"working"}}"#;
        assert_eq!(exposed(note, None).unwrap()["params"]["taskId"], "alpha:t\"2");
    }

    #[test]
    fn other_messages_are_left_alone() {
        for (body, answered) in [
            // A complete tool result that happens to carry a taskId field.
            (r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","taskId":"x","content":[]}}"#, Some(Method::ToolsCall)),
            (r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":7}}"#, None),
            (r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"task"}}"#, None),
            (r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no such task"}}"#, Some(Method::TasksGet)),
            (r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"taskId":"x"}}"#, None),
            (r#"{"jsonrpc":"2.0","id":1,"result":[1]}"#, Some(Method::TasksGet)),
            (r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"a","taskId":"b"}}"#, None),
            ("not json", None),
            (r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"x"}"#, None),
        ] {
            assert!(exposed(body, answered).is_none(), "{body}");
        }
    }

    #[test]
    fn exposed_ids_route_back_to_their_server() {
        let entry = crate::names::RouteEntry::plain;
        let router = Router::new(&[entry("alpha", "alpha_"), entry("beta", "")]).unwrap();
        let id = expose_task_id("beta", "t:1");
        let (index, own_start) = route_task_id(&id, &router).unwrap();
        assert_eq!(router.server_index("beta"), Some(index));
        assert_eq!(&id[own_start..], "t:1");
        for foreign in ["t-1", "gamma:t-1", "beta:", ":t-1", ""] {
            assert_eq!(route_task_id(foreign, &router), None, "{foreign}");
        }
    }
}
