//! The decision both planes take for one POSTed message: from the parsed body, the standard
//! headers and the router, either where the message goes ([`Decision`]) or why it is refused
//! ([`Refusal`]). The filter applies a decision through its host (Envoy); the broker matches
//! on it. Because it is one function, the two cannot disagree on what a request is, which
//! checks it must pass (and in which order), or how a refusal is worded and sent.
//!
//! What it does not decide: anything about the caller's session (opened before, from the
//! `Mcp-Session-Id` header) and whether a routed call goes straight to its server or through
//! the broker (that depends on what the filter learnt about the session's backend sessions).

use serde_json::value::RawValue;

use crate::headers::{self, NameField};
use crate::ids::{is_malformed_mapped_id, unmap_server_request_id};
use crate::jsonrpc::{HEADER_MISMATCH, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, RESOURCE_NOT_FOUND, UNSUPPORTED_PROTOCOL_VERSION};
use crate::limits;
use crate::message::{self, Kind, Located, Message, Reference, RequestMeta};
use crate::names::Router;
use crate::scope::{self, Caller, Scope};

use super::era::{meta, Era, STATELESS_VERSIONS};
use super::method::{Method, Target};
use super::refusal::{Reason, Refusal};
use super::tasks;

/// The standard request headers the decision reads, as sent (a request repeating one was
/// refused before: `limits::duplicated_mcp_header`).
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardHeaders<'h> {
    /// `MCP-Protocol-Version`.
    pub protocol_version: Option<&'h str>,
    /// `Mcp-Method` (2026-07-28), possibly `=?base64?…?=`-encoded.
    pub method: Option<&'h str>,
    /// `Mcp-Name` (2026-07-28), possibly encoded.
    pub name: Option<&'h str>,
}

/// A message the gateway accepts, and where it goes.
#[derive(Debug)]
pub struct Decided<'m> {
    pub era: Era,
    /// The method, when the gateway knows it (`None` for a response or an unknown method).
    pub method: Option<Method>,
    pub decision: Decision<'m>,
    /// A 2026-07-28 request whose `_meta` declares the tasks extension: only its calls may be
    /// answered with a task (read with the other `_meta` checks, so that nobody reads it again).
    pub declares_tasks: bool,
}

#[derive(Debug)]
pub enum Decision<'m> {
    /// A request one server owns: to it, under its own name.
    Backend(Route<'m>),
    /// The client's answer to a request a server sent it through the gateway: to that server,
    /// with the id it used.
    Answer(Answer),
    /// Everything else is the broker's: lists, the session lifecycle, discovery, streams,
    /// notifications, and methods the gateway does not know (it answers those).
    Broker,
}

/// What a routed request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Tool,
    Prompt,
    Resource,
    /// A task of the tasks extension, by the id the gateway namespaced (`tasks`).
    Task,
}

impl Named {
    pub fn noun(self) -> &'static str {
        match self {
            Named::Tool => "tool",
            Named::Prompt => "prompt",
            Named::Resource => "resource",
            Named::Task => "task",
        }
    }
}

/// A request routed to the server owning its name, URI or task id.
#[derive(Debug)]
pub struct Route<'m> {
    /// The server's index in the config (and the router).
    pub server: usize,
    pub named: Named,
    /// The name, URI or task id as the client sent it (exposed, with the server's prefix, or
    /// for a task id its `"<server>:"`), and where its literal sits in the body.
    pub exposed: Located<'m>,
    /// Where the server's own name starts in `exposed.value` (the prefix's length).
    own_start: usize,
    /// The server's own name when the gateway config renames it (`crate::visibility`): then
    /// it is not a suffix of the exposed one.
    renamed: Option<String>,
}

impl Route<'_> {
    /// The name or URI as the server knows it.
    pub fn own(&self) -> &str {
        if let Some(own) = &self.renamed {
            return own;
        }
        let exposed = self.exposed.value.as_ref();
        exposed.get(self.own_start..).unwrap_or(exposed)
    }

    /// Whether the server's own name differs from the exposed one (a prefix to strip, or a
    /// rename).
    pub fn is_prefixed(&self) -> bool {
        self.own_start > 0 || self.renamed.is_some()
    }

    /// The body with the server's own name in place of the exposed one, `None` when nothing
    /// changes (or the span is out of date, which cannot happen for a body it was parsed
    /// from). The length is kept when it can be: spaces make up the difference, so that
    /// `content-length` stays right.
    pub fn rewritten_body(&self, body: &[u8]) -> Option<Vec<u8>> {
        if !self.is_prefixed() {
            return None;
        }
        message::splice_string_keeping_length(body, self.exposed.span.clone(), self.own())
    }

    /// The `Mcp-Name` value for the server (2026-07-28): the server's own name, encoded.
    pub fn own_name_header(&self) -> std::borrow::Cow<'_, str> {
        headers::encode_value(self.own())
    }
}

/// A client's answer to a server request whose id the gateway namespaced (`"<server>:<id>"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub server: usize,
    /// The id the server used, as raw JSON (a number or a string literal).
    pub raw_id: String,
}

impl Answer {
    /// The body with the server's own id in place of the namespaced one.
    pub fn rewritten_body(&self, msg: &Message<'_>) -> Option<Vec<u8>> {
        let span = msg.id_span()?;
        message::splice_raw_keeping_length(msg.body(), span.clone(), self.raw_id.as_bytes())
            .or_else(|| message::splice_raw(msg.body(), span, self.raw_id.as_bytes()))
    }
}

/// Decides one parsed message. See the module docs.
pub fn decide<'m>(msg: &'m Message<'m>, headers: StandardHeaders<'_>, router: &Router) -> Result<Decided<'m>, Refusal> {
    let era = Era::of_request(headers.protocol_version, || msg.meta().protocol_version.flatten());
    let name = msg.method.as_deref();
    let method = name.and_then(Method::parse);
    let refuse = |reason: Reason, code: i32, message: String| Refusal::new(era, reason, code, message).with_id(msg.id);
    // Bounded before anything from the body is echoed or becomes a header.
    if let Some(Err(why)) = name.map(limits::check_method) {
        return Err(refuse(Reason::TooLong, INVALID_REQUEST, why));
    }
    let mut declares_tasks = false;
    let decision = match msg.kind {
        Kind::Response => answer(msg, router).map_err(|why| refuse(Reason::InvalidRequest, INVALID_REQUEST, why.into()))?,
        Kind::Notification => {
            if era == Era::Stateless {
                // Notifications carry no `_meta` envelope: the header version and
                // `Mcp-Method` only.
                let version = headers.protocol_version.map(String::from).or_else(|| msg.meta().protocol_version.flatten());
                check_version_served(version.as_deref().unwrap_or_default(), msg.id)?;
                check_standard_headers(msg, method, headers).map_err(|why| refuse(Reason::HeaderMismatch, HEADER_MISMATCH, why))?;
            }
            limits::check_notification(name.unwrap_or_default()).map_err(|why| refuse(Reason::InvalidRequest, INVALID_REQUEST, why))?;
            Decision::Broker
        }
        Kind::Request => {
            if era == Era::Stateless {
                declares_tasks = check_stateless_request(msg, method, headers)?.declares_tasks;
            }
            match method {
                Some(m) if era == Era::Stateless && !m.exists_in(era) => return Err(method_not_found(era, msg)),
                None if era == Era::Stateless => return Err(method_not_found(era, msg)),
                // A method of another era (the tasks extension's, in a session) is the
                // broker's, as an unknown method is: it answers "not found".
                Some(m) if !m.exists_in(era) => Decision::Broker,
                Some(m) => match m.target() {
                    Some(target) => Decision::Backend(route(msg, target, router, era)?),
                    None => Decision::Broker,
                },
                None => Decision::Broker,
            }
        }
    };
    Ok(Decided { era, method, decision, declares_tasks })
}

fn method_not_found(era: Era, msg: &Message<'_>) -> Refusal {
    let name = msg.method.as_deref().unwrap_or_default();
    Refusal::new(era, Reason::MethodNotFound, METHOD_NOT_FOUND, format!("Method not found: {name}")).with_id(msg.id)
}

/// The server that owns a routed request, and its own name for it.
fn route<'m>(msg: &'m Message<'m>, target: Target, router: &Router, era: Era) -> Result<Route<'m>, Refusal> {
    let refuse = |reason: Reason, code: i32, message: String| Refusal::new(era, reason, code, message).with_id(msg.id);
    let required = |field: &Option<Located<'m>>, what: &str| {
        field.clone().ok_or_else(|| refuse(Reason::InvalidParams, INVALID_PARAMS, format!("Invalid params: {what} must be a string")))
    };
    let (exposed, named) = match target {
        Target::ToolName => (required(&msg.name, "params.name")?, Named::Tool),
        Target::PromptName => (required(&msg.name, "params.name")?, Named::Prompt),
        Target::ResourceUri => (required(&msg.uri, "params.uri")?, Named::Resource),
        Target::TaskId => return route_task(msg, required(&msg.task_id, "params.taskId")?, router, era),
        Target::CompletionRef => match msg.reference() {
            Some(Reference::Prompt(l)) => (l, Named::Prompt),
            Some(Reference::Resource(l)) => (l, Named::Resource),
            None => {
                let why = "Invalid params: params.ref must be a ref/prompt with a name or a ref/resource with a uri";
                return Err(refuse(Reason::InvalidParams, INVALID_PARAMS, why.into()));
            }
        },
    };
    let by_uri = named == Named::Resource;
    let bounded = if by_uri {
        limits::check_uri(&format!("{} URI", named.noun()), &exposed.value)
    } else {
        limits::check_name(&format!("{} name", named.noun()), &exposed.value)
    };
    bounded.map_err(|why| refuse(Reason::TooLong, INVALID_PARAMS, why))?;
    let routed = if by_uri { router.route_uri(&exposed.value) } else { router.route_name(&exposed.value) };
    let Some((server, own)) = routed else {
        let code = if by_uri { RESOURCE_NOT_FOUND } else { INVALID_PARAMS };
        let message = format!("Unknown {}: {:?} matches no server's prefix", named.noun(), exposed.value.as_ref());
        return Err(refuse(Reason::UnknownName, code, message));
    };
    // The router returns a suffix of the exposed value: keep its offset.
    let own_start = exposed.value.len().saturating_sub(own.len());
    // What the gateway config exposes of that server: a hidden name is refused as an unknown
    // one (no backend is asked), a renamed one goes on under the server's own name.
    let backend = match (router.rules(server), named) {
        (None, _) | (_, Named::Task) => Some(own),
        (Some(r), Named::Tool) => r.tools.backend(own),
        (Some(r), Named::Prompt) => r.prompts.backend(own),
        (Some(r), Named::Resource) => r.resources.visible(own).then_some(own),
    };
    let Some(backend) = backend else {
        return Err(unknown(era, Reason::UnknownName, named, &exposed.value, msg.id));
    };
    let renamed = (backend != own).then(|| backend.to_string());
    Ok(Route { server, named, exposed, own_start, renamed })
}

/// "Unknown tool: \"x\"" (or prompt, resource): what a client is told for a name the gateway
/// config hides or the request's scope excludes, as a server answers for a name it does not
/// have, so that neither tells the client the name exists.
fn unknown(era: Era, reason: Reason, named: Named, exposed: &str, id: Option<&RawValue>) -> Refusal {
    let code = if named == Named::Resource { RESOURCE_NOT_FOUND } else { INVALID_PARAMS };
    Refusal::new(era, reason, code, format!("Unknown {}: {exposed:?}", named.noun())).with_id(id)
}

/// Whether `caller` may reach what `route` names (`crate::scope`: its virtual server and
/// access rules); refused as an unknown name otherwise. Task ids are outside any scope (a
/// task exists because an allowed call created it). Filter and broker both ask.
pub fn check_scope(route: &Route<'_>, scope: &Scope, caller: Caller, era: Era, id: Option<&RawValue>) -> Result<(), Refusal> {
    let kind = match route.named {
        Named::Tool => scope::Kind::Tool,
        Named::Prompt => scope::Kind::Prompt,
        Named::Resource => scope::Kind::Resource,
        Named::Task => return Ok(()),
    };
    if !scope.is_active() || scope.allows(caller, kind, &route.exposed.value) {
        return Ok(());
    }
    Err(unknown(era, Reason::OutOfScope, route.named, &route.exposed.value, id))
}

/// A task method: to the server whose name the task id starts with (`tasks`), with the
/// server's own id. Task ids are opaque tokens a server mints (some carry state), not names:
/// bounded like a URI, which travels in `Mcp-Name` the same way. An id of no configured
/// server is refused as an unknown tool is (-32602, which the extension also uses for an
/// unknown task), without any server being asked.
fn route_task<'m>(msg: &'m Message<'m>, exposed: Located<'m>, router: &Router, era: Era) -> Result<Route<'m>, Refusal> {
    let refuse = |reason: Reason, message: String| Refusal::new(era, reason, INVALID_PARAMS, message).with_id(msg.id);
    limits::check_uri("task id", &exposed.value).map_err(|why| refuse(Reason::TooLong, why))?;
    let Some((server, own_start)) = tasks::route_task_id(&exposed.value, router) else {
        let message = format!("Unknown task: {:?} names no server (task ids are \"<server>:<id>\")", exposed.value.as_ref());
        return Err(refuse(Reason::UnknownName, message));
    };
    Ok(Route { server, named: Named::Task, exposed, own_start, renamed: None })
}

/// A response: to the server whose namespaced id it carries, refused when the id has the
/// gateway's form for a configured server but cannot be one the gateway minted (`"alpha:01"`),
/// else the broker's (it knows which server asked on its own streams).
fn answer(msg: &Message<'_>, router: &Router) -> Result<Decision<'static>, &'static str> {
    let Some(mapped) = msg.id_text().and_then(|t| serde_json::from_str::<String>(t).ok()) else {
        return Ok(Decision::Broker);
    };
    if let Some((server_name, raw_id)) = unmap_server_request_id(&mapped) {
        if let Some(server) = router.server_index(server_name) {
            return Ok(Decision::Answer(Answer { server, raw_id: raw_id.to_string() }));
        }
    }
    if is_malformed_mapped_id(&mapped, |name| router.server_index(name).is_some()) {
        return Err("Invalid Request: the id does not name a request the gateway relayed");
    }
    Ok(Decision::Broker)
}

/// The per-request checks of 2026-07-28, in the official SDKs' order (the first failure wins):
/// `params._meta` carries the protocol version and the client capabilities (else -32602);
/// `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` mirror the body (else -32020); the
/// version is one the gateway serves (else -32022 with `data.supported` and `data.requested`).
/// The `_meta` read, for what else the request declares.
fn check_stateless_request(msg: &Message<'_>, method: Option<Method>, headers: StandardHeaders<'_>) -> Result<RequestMeta, Refusal> {
    let refuse = |reason: Reason, code: i32, message: String| Refusal::new(Era::Stateless, reason, code, message).with_id(msg.id);
    let found = msg.meta();
    if !found.is_object {
        let why = format!("params._meta must be an object carrying {:?} and {:?}", meta::PROTOCOL_VERSION, meta::CLIENT_CAPABILITIES);
        return Err(refuse(Reason::InvalidParams, INVALID_PARAMS, why));
    }
    let missing: Vec<&str> = [
        (meta::PROTOCOL_VERSION, found.protocol_version.is_some()),
        (meta::CLIENT_CAPABILITIES, found.has_client_capabilities),
    ]
    .into_iter()
    .filter_map(|(key, present)| (!present).then_some(key))
    .collect();
    if !missing.is_empty() {
        return Err(refuse(Reason::InvalidParams, INVALID_PARAMS, format!("params._meta is missing {}", missing.join(", "))));
    }
    let version = found.protocol_version.clone().flatten();
    match headers.protocol_version {
        Some(h) if Some(h) == version.as_deref() => {}
        Some(_) => {
            let why = "Header mismatch: MCP-Protocol-Version header does not match params._meta's protocol version";
            return Err(refuse(Reason::HeaderMismatch, HEADER_MISMATCH, why.into()));
        }
        None => {
            let why = "Header mismatch: MCP-Protocol-Version header is required at protocol 2026-07-28";
            return Err(refuse(Reason::HeaderMismatch, HEADER_MISMATCH, why.into()));
        }
    }
    check_standard_headers(msg, method, headers).map_err(|why| refuse(Reason::HeaderMismatch, HEADER_MISMATCH, why))?;
    let Some(version) = version else {
        let why = "Invalid params: the protocol version in params._meta must be a string";
        return Err(refuse(Reason::InvalidParams, INVALID_PARAMS, why.into()));
    };
    check_version_served(&version, msg.id)?;
    Ok(found)
}

/// -32022 for a version the gateway does not serve, naming the ones it does.
fn check_version_served(version: &str, id: Option<&RawValue>) -> Result<(), Refusal> {
    if STATELESS_VERSIONS.contains(&version) {
        return Ok(());
    }
    let mut refusal = Refusal::new(Era::Stateless, Reason::UnsupportedVersion, UNSUPPORTED_PROTOCOL_VERSION, format!("Unsupported protocol version {version}")).with_id(id);
    refusal.data = serde_json::to_string(&serde_json::json!({"supported": STATELESS_VERSIONS, "requested": version})).ok();
    Err(refusal)
}

/// SEP-2243: `Mcp-Method` must be present and equal the body's method; `Mcp-Name` must equal
/// the field it mirrors (`Method::name_header_field`). Values may be `=?base64?…?=`-encoded.
fn check_standard_headers(msg: &Message<'_>, method: Option<Method>, headers: StandardHeaders<'_>) -> Result<(), String> {
    let Some(body_method) = msg.method.as_deref() else { return Ok(()) };
    let header_method = headers.method.ok_or("Header mismatch: Mcp-Method header is required")?;
    let header_method = headers::decode_value(header_method).ok_or("Header mismatch: Mcp-Method header is not validly encoded")?;
    if header_method != body_method {
        return Err(format!("Header mismatch: Mcp-Method {header_method:?} does not match the body's method {body_method:?}"));
    }
    // A method 2026-07-28 removed names nothing: it is answered "not found" whatever it carries.
    let Some(field) = method.filter(|m| m.exists_in(Era::Stateless)).and_then(Method::name_header_field) else { return Ok(()) };
    let body_value = match field {
        NameField::Name => msg.name.as_ref(),
        NameField::Uri => msg.uri.as_ref(),
        NameField::TaskId => msg.task_id.as_ref(),
    };
    let header_name = headers.name.ok_or("Header mismatch: Mcp-Name header is required")?;
    let header_name = headers::decode_value(header_name).ok_or("Header mismatch: Mcp-Name header is not validly encoded")?;
    match body_value {
        Some(v) if v.value == header_name => Ok(()),
        Some(v) => Err(format!("Header mismatch: Mcp-Name {header_name:?} does not match the body's {:?}", v.value.as_ref())),
        None => Err("Header mismatch: Mcp-Name is set but the body has no name, uri or taskId".into()),
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
