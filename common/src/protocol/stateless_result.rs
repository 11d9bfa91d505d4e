//! What a 2026-07-28 result must carry that a 2025 server's result lacks, and completing a
//! backend's answer with it, byte-wise.
//!
//! The 2026-07-28 schema requires `resultType` on every result (`"complete"`, or
//! `"input_required"`, or an extension's such as `"task"`; absent means complete, but the
//! schema still requires it), and on the cacheable results (`server/discover`, the lists,
//! `resources/read`) also `ttlMs` (integer ≥ 0) and `cacheScope` (`"public"|"private"`). A
//! server written against 2025-11-25 or older sends none of them, so the gateway completes
//! its answers for a 2026-07-28 client with the defaults the official SDKs use (`"complete"`,
//! `0`, `"private"`): immediately stale and never shared, the safe reading of a server that
//! said nothing about caching.
//!
//! Completing never re-serialises the answer (a tool result can be megabytes): one pass with
//! serde visitors (as [`crate::message`] does) finds the `result` object and which of the keys
//! it has, and the missing ones are spliced in before its closing `}`. An answer that has
//! them all, an error, or anything that is not a result is left alone and nothing is copied.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::method::Method;
use crate::sse;

/// The keys a 2026-07-28 result of some method requires that older servers omit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Required {
    /// `resultType` (every result).
    pub result_type: bool,
    /// `ttlMs` and `cacheScope` (a `CacheableResult`).
    pub caching: bool,
}

/// The default `resultType`: a final result.
pub const COMPLETE: &str = "complete";
/// The default `ttlMs`: immediately stale.
pub const DEFAULT_TTL_MS: u64 = 0;
/// The default `cacheScope`: no shared cache may serve it to another user.
pub const DEFAULT_CACHE_SCOPE: &str = "private";

impl Required {
    const NONE: Required = Required { result_type: false, caching: false };

    /// What a 2026-07-28 result of `method` requires. Methods without a 2026-07-28 result
    /// (notifications, the session lifecycle) require nothing.
    pub fn of(method: Method) -> Required {
        match method {
            Method::ToolsList
            | Method::PromptsList
            | Method::ResourcesList
            | Method::ResourceTemplatesList
            | Method::ResourcesRead
            | Method::ServerDiscover => Required { result_type: true, caching: true },
            Method::ToolsCall | Method::PromptsGet | Method::CompletionComplete | Method::SubscriptionsListen => {
                Required { result_type: true, caching: false }
            }
            Method::Initialize
            | Method::Ping
            | Method::ResourcesSubscribe
            | Method::ResourcesUnsubscribe
            | Method::LoggingSetLevel
            | Method::NotificationsInitialized
            | Method::NotificationsCancelled
            | Method::NotificationsProgress
            | Method::NotificationsRootsListChanged => Required::NONE,
            // Only a server that implements the tasks extension answers these, and that
            // extension exists at 2026-07-28 only: its results are its own to shape.
            Method::TasksGet | Method::TasksUpdate | Method::TasksCancel => Required::NONE,
        }
    }

    /// Whether anything is required at all.
    pub fn any(self) -> bool {
        self.result_type || self.caching
    }
}

/// What [`inspect`] found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    /// A complete result that already has every required key: it goes on as it is, and shows
    /// that its server implements the 2026-07-28 result schema.
    Compliant,
    /// Another kind of result (`resultType` `"input_required"`, an extension's `"task"`): it
    /// goes on as it is, but shows nothing about the server's complete results (a server may
    /// stamp the kinds it added and leave its complete results bare).
    OtherKind,
    /// A result that lacks some: [`Missing::apply`] completes it.
    Missing(Missing),
    /// Not a result (an error, a request or notification, not JSON, a result that is no
    /// object): nothing to complete, and nothing learnt about the server.
    NotAResult,
}

/// The keys a result lacks, and where they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Byte offset of the result object's closing `}`.
    close: usize,
    /// The object has keys already (the insertion then starts with a comma).
    has_keys: bool,
    result_type: bool,
    ttl_ms: bool,
    cache_scope: bool,
}

impl Missing {
    /// `body` with the missing keys spliced in before the result's closing `}`; every other
    /// byte as it was.
    pub fn apply(&self, body: &[u8]) -> Option<Vec<u8>> {
        let (head, tail) = body.split_at_checked(self.close)?;
        let mut insert: Vec<u8> = Vec::with_capacity(64);
        let mut key = |k: &str, v: &str| {
            if self.has_keys || !insert.is_empty() {
                insert.push(b',');
            }
            insert.push(b'"');
            insert.extend_from_slice(k.as_bytes());
            insert.extend_from_slice(b"\":");
            insert.extend_from_slice(v.as_bytes());
        };
        if self.result_type {
            key("resultType", "\"complete\"");
        }
        let ttl = DEFAULT_TTL_MS.to_string();
        if self.ttl_ms {
            key("ttlMs", &ttl);
        }
        if self.cache_scope {
            key("cacheScope", "\"private\"");
        }
        let mut out = Vec::with_capacity(body.len() + insert.len());
        out.extend_from_slice(head);
        out.extend_from_slice(&insert);
        out.extend_from_slice(tail);
        Some(out)
    }
}

/// Reads `body` (one JSON-RPC message) once and tells whether its `result` lacks what
/// `required` names. A result whose `resultType` is not `"complete"` (`"input_required"`, an
/// extension's) is another kind of result: only `resultType` is required of it, so it is
/// left as it is ([`Inspection::OtherKind`]).
pub fn inspect(body: &[u8], required: Required) -> Inspection {
    if !required.any() {
        return Inspection::NotAResult;
    }
    let Ok(env) = serde_json::from_slice::<Envelope<'_>>(body) else {
        return Inspection::NotAResult;
    };
    let Some(result) = env.result.filter(|_| !env.has_error && !env.has_method) else {
        return Inspection::NotAResult;
    };
    let Some(close) = result.close_at(body) else {
        return Inspection::NotAResult;
    };
    let kind_is_complete = match result.result_type {
        None => true,
        Some(raw) => serde_json::from_str::<Cow<'_, str>>(raw.get()).is_ok_and(|v| v == COMPLETE),
    };
    if !kind_is_complete {
        return Inspection::OtherKind;
    }
    let missing = Missing {
        close,
        has_keys: result.keys > 0,
        result_type: required.result_type && result.result_type.is_none(),
        ttl_ms: required.caching && !result.has_ttl_ms,
        cache_scope: required.caching && !result.has_cache_scope,
    };
    if missing.result_type || missing.ttl_ms || missing.cache_scope {
        Inspection::Missing(missing)
    } else {
        Inspection::Compliant
    }
}

/// `body` completed for a 2026-07-28 client of `method`; `None` when nothing is missing or it
/// is no result (the body then goes on as it is, uncopied).
pub fn complete(body: &[u8], method: Method) -> Option<Vec<u8>> {
    match inspect(body, Required::of(method)) {
        Inspection::Missing(m) => m.apply(body),
        Inspection::Compliant | Inspection::OtherKind | Inspection::NotAResult => None,
    }
}

/// One SSE event's bytes (a whole event, through its blank line) whose `data` is checked as
/// [`inspect`] does; `Missing` comes with the rebuilt event: the same fields in the same
/// order, the completed data as `data` lines, lines ending in LF.
pub fn inspect_event(event: &[u8], required: Required) -> (Inspection, Option<Vec<u8>>) {
    // Only an event holding a result is worth parsing: most of a stream is notifications.
    if !contains(event, b"\"result\"") {
        return (Inspection::NotAResult, None);
    }
    // Text that is not UTF-8 goes on as it is rather than with replacement characters.
    if std::str::from_utf8(event).is_err() {
        return (Inspection::NotAResult, None);
    }
    let Some(data) = sse::Event::parse(event).map(|e| e.data) else {
        return (Inspection::NotAResult, None);
    };
    let found = inspect(data.as_bytes(), required);
    let Inspection::Missing(m) = &found else { return (found, None) };
    let Some(new_data) = m.apply(data.as_bytes()) else { return (Inspection::NotAResult, None) };
    let out = sse::with_data(event, &new_data);
    (found, Some(out))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// serde plumbing

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum EnvelopeKey {
    Result,
    Error,
    Method,
    #[serde(other)]
    Other,
}

struct Envelope<'a> {
    result: Option<ResultKeys<'a>>,
    has_error: bool,
    has_method: bool,
}

/// What the gateway reads of a result object: its keys' count, the required ones, and the
/// last value (its end locates the closing `}`).
#[derive(Default)]
struct ResultKeys<'a> {
    is_object: bool,
    keys: usize,
    result_type: Option<&'a RawValue>,
    has_ttl_ms: bool,
    has_cache_scope: bool,
    last_value: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum ResultKey {
    #[serde(rename = "resultType")]
    ResultType,
    #[serde(rename = "ttlMs")]
    TtlMs,
    #[serde(rename = "cacheScope")]
    CacheScope,
    #[serde(other)]
    Other,
}

impl<'a> ResultKeys<'a> {
    /// The offset of the object's closing `}` in `body`.
    fn close_at(&self, body: &'a [u8]) -> Option<usize> {
        if !self.is_object {
            return None;
        }
        let from = match self.last_value {
            Some(v) => offset_of(body, v.get())?.checked_add(v.get().len())?,
            // `{}` (or with whitespace): the only object after `"result"` with nothing in it.
            None => return empty_result_close(body),
        };
        // After the last value: whitespace, then the `}` (JSON allows nothing else there).
        let rest = body.get(from..)?;
        let n = rest.iter().position(|b| !b.is_ascii_whitespace())?;
        (rest.get(n) == Some(&b'}')).then_some(from + n)
    }
}

/// The closing `}` of an empty `result` object: found by reading the message again with
/// `result` taken raw. Only results without any key get here, and those are small.
fn empty_result_close(body: &[u8]) -> Option<usize> {
    #[derive(Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        result: &'a RawValue,
    }
    let raw: Raw<'_> = serde_json::from_slice(body).ok()?;
    let text = raw.result.get();
    let start = offset_of(body, text)?;
    let close = text.rfind('}')?;
    start.checked_add(close)
}

/// Where `part` (borrowed from `body`) starts in it.
fn offset_of(body: &[u8], part: &str) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(body.as_ptr() as usize)?;
    (start.checked_add(part.len())? <= body.len()).then_some(start)
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut env = Envelope { result: None, has_error: false, has_method: false };
                while let Some(key) = map.next_key::<EnvelopeKey>()? {
                    match key {
                        EnvelopeKey::Result => {
                            if env.result.is_some() {
                                return Err(de::Error::custom("duplicate key `result`"));
                            }
                            env.result = Some(map.next_value()?);
                        }
                        EnvelopeKey::Error => {
                            map.next_value::<IgnoredAny>()?;
                            env.has_error = true;
                        }
                        EnvelopeKey::Method => {
                            map.next_value::<IgnoredAny>()?;
                            env.has_method = true;
                        }
                        EnvelopeKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(env)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for ResultKeys<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResultKeys<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a result")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut r = ResultKeys { is_object: true, ..ResultKeys::default() };
                while let Some(key) = map.next_key::<ResultKey>()? {
                    // Each value taken raw (skipped, as `IgnoredAny` would, but borrowed): the
                    // last one's end locates the closing brace.
                    let value: &'de RawValue = map.next_value()?;
                    r.keys += 1;
                    r.last_value = Some(value);
                    match key {
                        ResultKey::ResultType => r.result_type = Some(value),
                        ResultKey::TtlMs => r.has_ttl_ms = true,
                        ResultKey::CacheScope => r.has_cache_scope = true,
                        ResultKey::Other => {}
                    }
                }
                Ok(r)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ResultKeys::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ResultKeys::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ResultKeys::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ResultKeys::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ResultKeys::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ResultKeys::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ResultKeys::default())
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

    fn done(body: &str, method: Method) -> Option<String> {
        complete(body.as_bytes(), method).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn a_tool_result_gets_result_type_and_nothing_else_changes() {
        let body = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}"#;
        let out = done(body, Method::ToolsCall).unwrap();
        assert_eq!(out, r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"isError":false,"resultType":"complete"}}"#);
    }

    #[test]
    fn resources_read_gets_the_caching_keys_too() {
        let body = "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"contents\":[]} \n}";
        let out = done(body, Method::ResourcesRead).unwrap();
        assert_eq!(out, "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":{\"contents\":[],\"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":\"private\"} \n}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["result"]["ttlMs"], 0);
        // Only what is missing is added.
        let body = r#"{"jsonrpc":"2.0","id":2,"result":{"contents":[],"resultType":"complete","ttlMs":60000}}"#;
        assert_eq!(done(body, Method::ResourcesRead).unwrap(), r#"{"jsonrpc":"2.0","id":2,"result":{"contents":[],"resultType":"complete","ttlMs":60000,"cacheScope":"private"}}"#);
    }

    #[test]
    fn compliant_results_are_not_copied() {
        let body = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"resultType":"complete"}}"#;
        assert_eq!(inspect(body.as_bytes(), Required::of(Method::ToolsCall)), Inspection::Compliant);
        assert_eq!(done(body, Method::ToolsCall), None);
        let body = r#"{"jsonrpc":"2.0","id":1,"result":{"cacheScope":"public","contents":[],"ttlMs":5,"resultType":"complete"}}"#;
        assert_eq!(inspect(body.as_bytes(), Required::of(Method::ResourcesRead)), Inspection::Compliant);
    }

    #[test]
    fn input_required_results_are_left_alone() {
        let body = r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required","inputRequests":{}}}"#;
        assert_eq!(inspect(body.as_bytes(), Required::of(Method::ToolsCall)), Inspection::OtherKind);
        assert_eq!(done(body, Method::ToolsCall), None);
        // Not a ReadResourceResult either: no caching keys for it.
        assert_eq!(inspect(body.as_bytes(), Required::of(Method::ResourcesRead)), Inspection::OtherKind);
        let task = r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"task","task":{}}}"#;
        assert_eq!(inspect(task.as_bytes(), Required::of(Method::ToolsCall)), Inspection::OtherKind);
    }

    #[test]
    fn errors_requests_and_non_json_are_not_results() {
        let cases = [
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"m"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"elicitation/create","params":{"result":{}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":[1,2]}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":1}"#,
            "not json",
            "",
        ];
        for body in cases {
            assert_eq!(inspect(body.as_bytes(), Required::of(Method::ToolsCall)), Inspection::NotAResult, "{body}");
            assert_eq!(done(body, Method::ToolsCall), None);
        }
        // A method without a 2026-07-28 result needs nothing.
        assert_eq!(done(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, Method::Ping), None);
    }

    #[test]
    fn nested_result_keys_inside_content_do_not_confuse_it() {
        let body = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"result\":{\"resultType\":\"x\"}}","result":{"resultType":"complete","ttlMs":1}}],"structuredContent":{"resultType":"complete"}}}"#;
        let out = done(body, Method::ToolsCall).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["result"]["resultType"], "complete");
        assert!(out.starts_with(&body[..body.len() - 2]), "a pure insertion at the end");
        assert!(out.ends_with(r#"},"resultType":"complete"}}"#));
        // `result` not first among the envelope's keys, and a key named resultType elsewhere.
        let body = r#"{"result":{"x":{"resultType":"task"}},"jsonrpc":"2.0","resultType":"y","id":9}"#;
        assert_eq!(done(body, Method::PromptsGet).unwrap(), r#"{"result":{"x":{"resultType":"task"},"resultType":"complete"},"jsonrpc":"2.0","resultType":"y","id":9}"#);
    }

    #[test]
    fn escaped_strings_and_keys() {
        // The last value is a string ending in an escaped quote and brace.
        let body = r#"{"jsonrpc":"2.0","id":"a\"}","result":{"text":"ends with \"}\\","\u0072esultType":"complete"}}"#;
        // An escaped key is still the key: compliant.
        assert_eq!(inspect(body.as_bytes(), Required::of(Method::ToolsCall)), Inspection::Compliant);
        let body = r#"{"jsonrpc":"2.0","id":"a\"}","result":{"text":"ends with \"}\\"  }}"#;
        let out = done(body, Method::ToolsCall).unwrap();
        assert_eq!(out, r#"{"jsonrpc":"2.0","id":"a\"}","result":{"text":"ends with \"}\\"  ,"resultType":"complete"}}"#);
        // resultType spelt with escapes but meaning "complete": still complete, so caching is due.
        let body = r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"compl\u0065te"}}"#;
        let out = done(body, Method::ResourcesRead).unwrap();
        assert!(out.ends_with(r#""compl\u0065te","ttlMs":0,"cacheScope":"private"}}"#), "{out}");
    }

    #[test]
    fn empty_results() {
        assert_eq!(done(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, Method::ToolsCall).unwrap(), r#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete"}}"#);
        assert_eq!(
            done("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{ \n }}", Method::ResourcesRead).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{ \n \"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":\"private\"}}"
        );
    }

    #[test]
    fn sse_events() {
        let req = Required::of(Method::ToolsCall);
        let progress = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n";
        assert_eq!(inspect_event(progress, req), (Inspection::NotAResult, None));
        let ev = b"event: message\r\nid: 7\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\r\n\r\n";
        let (found, out) = inspect_event(ev, req);
        assert!(matches!(found, Inspection::Missing(_)));
        assert_eq!(String::from_utf8(out.unwrap()).unwrap(), "event: message\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[],\"resultType\":\"complete\"}}\n\n");
        // Data split over lines stays split (its line ends are JSON whitespace).
        let ev = b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\ndata: \"result\":{\"content\":[]}}\n\n";
        let out = String::from_utf8(inspect_event(ev, req).1.unwrap()).unwrap();
        assert_eq!(out, "data: {\"jsonrpc\":\"2.0\",\"id\":1,\ndata: \"result\":{\"content\":[],\"resultType\":\"complete\"}}\n\n");
        let mut p = sse::Parser::default();
        let parsed = p.push(out.as_bytes());
        assert_eq!(serde_json::from_str::<serde_json::Value>(&parsed[0].data).unwrap()["result"]["resultType"], "complete");
        let ok = b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\"}}\n\n";
        assert_eq!(inspect_event(ok, req), (Inspection::Compliant, None));
    }
}
