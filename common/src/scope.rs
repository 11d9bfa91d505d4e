//! Who sees what, per request: **virtual servers** (named subsets of the gateway, each at its
//! own MCP path) and **access rules** (what a verified caller may see and call). One home for
//! both planes: the filter refuses a routed request outside the request's scope before any
//! backend is asked, the broker leaves it out of every list it aggregates, and both read the
//! scope the same way from the same two inputs.
//!
//! ```yaml
//! virtual_servers:
//!   - name: support                    # served at <mcp_path>/support, or on <mcp_path> with
//!     tools: ["alpha_echo", "beta_*"]  #   the header `X-Mcp-Virtualserver: support`
//!     prompts: ["alpha_*"]
//!     resources: ["alpha+info://*"]
//! identity:
//!   payload_header: x-jwt-payload      # base64url JSON claims, set by Envoy's jwt_authn
//! access:
//!   - when: { groups: ops }            # every listed claim must match
//!     tools: ["*"]
//!   - tools: ["alpha_echo"]            # no `when`: every caller, anonymous ones too
//! ```
//!
//! - Patterns are globs (`crate::visibility::glob_match`) on the names clients see: exposed
//!   tool and prompt names (prefix included, after renames), exposed resource URIs and URI
//!   templates (`alpha+file:///…`). A kind a virtual server or rule does not list is empty.
//! - A request's scope is the intersection of its virtual server's subset (none: everything)
//!   and, when `access` is configured, the union of the rules whose `when` the caller's claims
//!   match (none match: nothing). Without `access`, identity plays no part.
//! - Claims come only from the payload header, which a client cannot set: the gateway's
//!   Envoy config removes client copies before `jwt_authn` writes it (`mcp-gateway render`
//!   does both when `identity.jwt` is set). A header that does not decode is no identity.
//!   `when` values compare to string, number or boolean claims by their text, and to an array
//!   claim by membership; a list of values matches any of them; `a.b` reads a nested claim.
//! - Task ids are outside any scope (a task exists only because an allowed call created it).
//!
//! Cost: nothing without virtual servers or access rules. Otherwise one glob pass per
//! pattern over the routed name; with `access`, one base64 + JSON decode of the payload
//! header per routed request.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::visibility::glob_match;

/// The request header a client may use to choose a virtual server on the gateway's own MCP
/// path (Kuadrant's spelling). Inside the gateway (filter → broker) the same header carries
/// the filter's validated choice: the filter removes client copies, as for every `x-mcp-*`.
pub const VIRTUAL_SERVER_HEADER: &str = "x-mcp-virtualserver";

/// The payload header's default name (Istio's `outputPayloadToHeader` examples use it too).
pub const DEFAULT_PAYLOAD_HEADER: &str = "x-jwt-payload";

/// At most this many access rules: a caller's matching rules are one bitmask.
pub const MAX_RULES: usize = 64;

/// The kinds of item a scope selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tool,
    Prompt,
    /// Resources and resource templates, by exposed URI.
    Resource,
}

/// A named subset of the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualServer {
    /// `[a-z][a-z0-9-]*`: a path segment and a header value.
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

/// What the callers a `when` matches may see and call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// Claim (path) → the value, or values, it must have. Empty: every caller.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub when: BTreeMap<String, OneOrMany>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn values(&self) -> &[String] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }
}

/// Where verified caller attributes are read (the filter's and broker's part of the
/// gateway config's `identity`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Request header holding the verified JWT payload (base64url JSON), as Envoy's
    /// `jwt_authn` `forward_payload_header` and Istio's `outputPayloadToHeader` write it.
    #[serde(default = "default_payload_header")]
    pub payload_header: String,
}

fn default_payload_header() -> String {
    DEFAULT_PAYLOAD_HEADER.to_string()
}

impl Default for Identity {
    fn default() -> Self {
        Identity { payload_header: default_payload_header() }
    }
}

/// The compiled scope rules of one configuration.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    virtual_servers: Vec<VirtualServer>,
    /// `None`: identity plays no part.
    access: Option<Vec<AccessRule>>,
    /// Lower-cased.
    payload_header: String,
}

/// What one request may see: its virtual server and the access rules its caller matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub virtual_server: Option<usize>,
    /// Bit `i`: access rule `i` applies. All ones when `access` is not configured.
    pub rules: u64,
}

impl Caller {
    /// A caller of the whole gateway with every right: what a configuration without scope
    /// rules gives everybody.
    pub const ANYONE: Caller = Caller { virtual_server: None, rules: u64::MAX };
}

fn selects(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, name))
}

fn patterns_of<'a>(kind: Kind, tools: &'a [String], prompts: &'a [String], resources: &'a [String]) -> &'a [String] {
    match kind {
        Kind::Tool => tools,
        Kind::Prompt => prompts,
        Kind::Resource => resources,
    }
}

/// Checks a virtual server name: `[a-z][a-z0-9-]{0,62}` (a path segment, a header value).
pub fn validate_virtual_server_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let ok = matches!(bytes.next(), Some(b'a'..=b'z')) && name.len() <= 63 && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!("virtual server name {name:?} must start with a-z and use only a-z 0-9 - (at most 63 characters)"))
    }
}

fn check_patterns(what: &str, lists: [&[String]; 3]) -> Result<(), String> {
    for (kind, list) in ["tools", "prompts", "resources"].into_iter().zip(lists) {
        if list.iter().any(String::is_empty) {
            return Err(format!("{what}.{kind}: an empty pattern matches nothing; remove it"));
        }
    }
    Ok(())
}

impl Scope {
    /// Validates and compiles. Errors name the field.
    pub fn new(virtual_servers: Vec<VirtualServer>, identity: Option<Identity>, access: Option<Vec<AccessRule>>) -> Result<Scope, String> {
        for (i, v) in virtual_servers.iter().enumerate() {
            validate_virtual_server_name(&v.name).map_err(|e| format!("virtual_servers[{i}]: {e}"))?;
            if virtual_servers.iter().take(i).any(|o| o.name == v.name) {
                return Err(format!("virtual_servers: {:?} is defined twice", v.name));
            }
            check_patterns(&format!("virtual_servers[{i}]"), [&v.tools, &v.prompts, &v.resources])?;
        }
        if let Some(rules) = &access {
            if rules.len() > MAX_RULES {
                return Err(format!("access: {} rules; at most {MAX_RULES}", rules.len()));
            }
            for (i, r) in rules.iter().enumerate() {
                check_patterns(&format!("access[{i}]"), [&r.tools, &r.prompts, &r.resources])?;
                if r.when.keys().any(|k| k.is_empty() || k.split('.').any(str::is_empty)) {
                    return Err(format!("access[{i}].when: claim names must be non-empty (a.b for nested claims)"));
                }
            }
        }
        if access.is_some() && identity.is_none() {
            return Err("access: rules on callers need `identity` (where the verified claims are read)".into());
        }
        let payload_header = identity.unwrap_or_default().payload_header.to_ascii_lowercase();
        let header_ok = !payload_header.is_empty() && payload_header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !header_ok {
            return Err(format!("identity.payload_header: {payload_header:?} is not a valid header name"));
        }
        if payload_header.starts_with("x-mcp-") {
            // The filter removes the whole family from every request: it would never arrive.
            return Err(format!("identity.payload_header: {payload_header:?} is in the x-mcp- family the filter reserves for its own facts"));
        }
        Ok(Scope { virtual_servers, access, payload_header })
    }

    /// Whether any rule applies: a request is then scoped.
    pub fn is_active(&self) -> bool {
        !self.virtual_servers.is_empty() || self.access.is_some()
    }

    /// Whether callers' identities play a part (`access` is configured).
    pub fn reads_identity(&self) -> bool {
        self.access.is_some()
    }

    /// The header the verified claims come in (lower-cased).
    pub fn payload_header(&self) -> &str {
        &self.payload_header
    }

    /// The index of the virtual server named `name`.
    pub fn virtual_server(&self, name: &str) -> Option<usize> {
        self.virtual_servers.iter().position(|v| v.name == name)
    }

    /// The name of virtual server `index`.
    pub fn virtual_server_name(&self, index: usize) -> Option<&str> {
        self.virtual_servers.get(index).map(|v| v.name.as_str())
    }

    /// The access rules whose `when` the claims in `payload` (the payload header's value, if
    /// any) match. All ones without `access`.
    pub fn rules_of(&self, payload: Option<&str>) -> u64 {
        let Some(rules) = &self.access else { return u64::MAX };
        let claims = payload.and_then(decode_payload);
        rules.iter().enumerate().fold(0u64, |mask, (i, r)| {
            let matched = r.when.iter().all(|(claim, wanted)| claims.as_ref().and_then(|c| claim_at(c, claim)).is_some_and(|v| claim_matches(v, wanted.values())));
            if matched {
                mask | (1u64 << i)
            } else {
                mask
            }
        })
    }

    /// Whether `caller` may see and call the item of `kind` exposed as `exposed`.
    pub fn allows(&self, caller: Caller, kind: Kind, exposed: &str) -> bool {
        if let Some(v) = caller.virtual_server.and_then(|i| self.virtual_servers.get(i)) {
            if !selects(patterns_of(kind, &v.tools, &v.prompts, &v.resources), exposed) {
                return false;
            }
        }
        match &self.access {
            None => true,
            Some(rules) => rules
                .iter()
                .enumerate()
                .any(|(i, r)| caller.rules & (1u64 << i) != 0 && selects(patterns_of(kind, &r.tools, &r.prompts, &r.resources), exposed)),
        }
    }
}

/// The JSON object in a payload header: base64url (as Envoy writes it) or standard base64,
/// padded or not. Anything else is no identity.
fn decode_payload(value: &str) -> Option<Value> {
    let trimmed = value.trim().trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD.decode(trimmed).or_else(|_| STANDARD_NO_PAD.decode(trimmed)).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.is_object().then_some(v)
}

fn claim_at<'v>(claims: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(claims, |v, key| v.get(key))
}

fn claim_matches(claim: &Value, wanted: &[String]) -> bool {
    let is = |v: &Value| match v {
        Value::String(s) => wanted.iter().any(|w| w == s),
        Value::Number(n) => wanted.iter().any(|w| *w == n.to_string()),
        Value::Bool(b) => wanted.iter().any(|w| *w == b.to_string()),
        _ => false,
    };
    match claim {
        Value::Array(items) => items.iter().any(is),
        other => is(other),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn payload(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn scope() -> Scope {
        let vs = VirtualServer { name: "support".into(), tools: strings(&["alpha_*", "beta_echo"]), prompts: vec![], resources: strings(&["alpha+*"]) };
        let ops = AccessRule { when: [("groups".to_string(), OneOrMany::One("ops".into()))].into(), tools: strings(&["*"]), prompts: strings(&["*"]), resources: strings(&["*"]) };
        let nested = AccessRule { when: [("realm.roles".to_string(), OneOrMany::Many(strings(&["dev", "qa"])))].into(), tools: strings(&["beta_*"]), ..Default::default() };
        let everyone = AccessRule { tools: strings(&["alpha_echo"]), ..Default::default() };
        Scope::new(vec![vs], Some(Identity::default()), Some(vec![ops, nested, everyone])).unwrap()
    }

    #[test]
    fn claims_select_rules() {
        let s = scope();
        assert_eq!(s.rules_of(None), 0b100, "anonymous: the rule without `when` only");
        assert_eq!(s.rules_of(Some("not base64 !")), 0b100);
        assert_eq!(s.rules_of(Some(&payload(r#"{"groups":["dev","ops"]}"#))), 0b101);
        assert_eq!(s.rules_of(Some(&payload(r#"{"groups":"ops"}"#))), 0b101);
        assert_eq!(s.rules_of(Some(&payload(r#"{"realm":{"roles":["qa"]}}"#))), 0b110);
        assert_eq!(s.rules_of(Some(&payload(r#"{"realm":{"roles":"admin"}}"#))), 0b100);
        // Padded and standard-alphabet encodings are the same claims.
        let padded = base64::engine::general_purpose::STANDARD.encode(r#"{"groups":"ops"}"#);
        assert_eq!(s.rules_of(Some(&padded)), 0b101);
        // A payload that is not an object is no identity.
        assert_eq!(s.rules_of(Some(&payload(r#"["ops"]"#))), 0b100);
    }

    #[test]
    fn scope_is_the_virtual_server_and_the_rules_together() {
        let s = scope();
        let ops = Caller { virtual_server: None, rules: 0b101 };
        let anonymous = Caller { virtual_server: None, rules: 0b100 };
        assert!(s.allows(ops, Kind::Tool, "beta_delete"));
        assert!(s.allows(anonymous, Kind::Tool, "alpha_echo"));
        assert!(!s.allows(anonymous, Kind::Tool, "alpha_whoami"));
        assert!(!s.allows(anonymous, Kind::Prompt, "alpha_greet"), "a kind a rule does not list is empty");
        let ops_support = Caller { virtual_server: Some(0), ..ops };
        assert!(s.allows(ops_support, Kind::Tool, "alpha_whoami"));
        assert!(!s.allows(ops_support, Kind::Tool, "beta_delete"), "outside the virtual server");
        assert!(!s.allows(ops_support, Kind::Prompt, "alpha_greet"), "the virtual server lists no prompts");
        assert!(s.allows(ops_support, Kind::Resource, "alpha+file:///x"));
        assert!(s.allows(Caller::ANYONE, Kind::Tool, "alpha_whoami"), "rule bits are the caller's, not the config's");
    }

    #[test]
    fn without_access_identity_plays_no_part() {
        let vs = VirtualServer { name: "a".into(), tools: strings(&["x_*"]), ..Default::default() };
        let s = Scope::new(vec![vs], None, None).unwrap();
        assert_eq!(s.rules_of(None), u64::MAX);
        assert!(s.allows(Caller::ANYONE, Kind::Tool, "y_z"));
        assert!(s.allows(Caller { virtual_server: Some(0), rules: u64::MAX }, Kind::Tool, "x_1"));
        assert!(!s.allows(Caller { virtual_server: Some(0), rules: u64::MAX }, Kind::Tool, "y_1"));
        assert!(!Scope::default().is_active());
    }

    #[test]
    fn bad_configs_are_refused() {
        let vs = |n: &str| VirtualServer { name: n.into(), ..Default::default() };
        assert!(Scope::new(vec![vs("Bad")], None, None).is_err());
        assert!(Scope::new(vec![vs("a/b")], None, None).is_err());
        assert!(Scope::new(vec![vs("a"), vs("a")], None, None).unwrap_err().contains("twice"));
        let empty = VirtualServer { name: "a".into(), tools: strings(&[""]), ..Default::default() };
        assert!(Scope::new(vec![empty], None, None).unwrap_err().contains("empty pattern"));
        assert!(Scope::new(vec![], None, Some(vec![])).unwrap_err().contains("identity"));
        let reserved = Identity { payload_header: "x-mcp-claims".into() };
        assert!(Scope::new(vec![], Some(reserved), Some(vec![])).unwrap_err().contains("x-mcp-"));
        let many = vec![AccessRule::default(); MAX_RULES + 1];
        assert!(Scope::new(vec![], Some(Identity::default()), Some(many)).is_err());
    }
}
