//! The filter's plugin configuration (the JSON in Envoy's `plugin_config.configuration`, or
//! Istio's `WasmPlugin.spec.pluginConfig`), its defaults, and its validation.
//!
//! ```json
//! {
//!   "mcp_paths": ["/mcp"],
//!   "max_body_bytes": 4194304,
//!   "broker":  { "authority": "broker.mcp.internal", "path": "/mcp" },
//!   "servers": [
//!     { "name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal", "path": "/mcp" }
//!   ],
//!   "session": { "keys_env": "MCPGW_SESSION_KEYS", "subject_header": "x-jwt-sub" },
//!   "filter_state": true
//! }
//! ```
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `mcp_paths` | `["/mcp"]` | request paths (query ignored) the filter acts on; every other path passes untouched except for spoofed-header stripping |
//! | `max_body_bytes` | 4 MiB | largest POST body buffered; larger → 413. Keep the listener's `per_connection_buffer_limit_bytes` at least this big |
//! | `broker.authority` | required | `:authority` set for everything that is not routed to one backend (initialize, lists, ping, notifications, responses, GET, DELETE); must match an Envoy virtual host / Istio HTTPRoute hostname |
//! | `broker.path` | `/mcp` | `:path` set for broker requests |
//! | `servers[].name` | required | `[a-z][a-z0-9.-]*`; used in URIs (`name+scheme:…`), headers, metadata and stats |
//! | `servers[].prefix` | required | exposed-name prefix; `""` makes the server the pass-through default (at most one) |
//! | `servers[].authority` | required | `:authority` for calls routed to this server (its virtual host / HTTPRoute hostname) |
//! | `servers[].path` | `/mcp` | upstream `:path` |
//! | `servers[].tools`, `.prompts`, `.resources` | everything, own names | which of the server's items are exposed: `include` / `exclude` globs on its own names (URIs for resources), `overrides.<own>.name` to rename a tool or prompt; a hidden or renamed-away name is refused like an unknown one (`crate::visibility`) |
//! | `servers[].tools.overrides.<own>.annotations` | none | `{readOnlyHint, destructiveHint, idempotentHint, openWorldHint}` (each optional): the hints published for this tool on `tools/call` (`x-mcp-toolhints`, `wasm.mcp_gateway.tool_hints`), replacing whatever the backend declares or was learnt; unset ones take MCP's defaults (`crate::tool_hints`). Tools only |
//! | `servers[].tool_hints` | `{}` | own tool name → `{readOnlyHint, …}`: what the backend declared in its `tools/list`, learnt by the broker and filled in by `mcp-gateway up` (you do not write it). A tool in neither this nor the config's annotations is published with MCP's defaults and `source=default` |
//! | `servers[].tools.confirm` | none | globs on the server's own tool names whose calls need the human's confirmation first: the filter sends them to the broker, which asks the client (`elicitation/create`, or an input-required round at 2026-07-28) before the backend sees the call |
//! | `servers[].confirm_destructive` | `false` | every `tools/call` of the server goes to the broker, which asks for confirmation when the tool declares `annotations.destructiveHint: true` (the filter never sees annotations) |
//! | `servers[].sessionless` | `false` | the backend serves MCP 2026-07-28 (sessionless) requests itself, so the filter routes a 2026-07-28 client's calls straight to it; otherwise such calls go to the broker, which opens a short-lived backend session for each |
//! | `session.keys_env` | one of these two | the name of an environment variable of the filter's VM that holds 1–4 base64 keys of 32 bytes, separated by commas or newlines; the broker mints with the first, the filter accepts all (rotation). Envoy passes the variable to the VM when it is listed in `vm_config.environment_variables.host_env_keys` (Istio: `WasmPlugin.spec.vmConfig.env` with `valueFrom: HOST`), so the keys never appear in Envoy's config or `/config_dump` |
//! | `session.keys` | one of these two | the same keys inline: for tests and benches only, since anything in the plugin configuration is readable in Envoy's admin `/config_dump` |
//! | `session.subject_header` | none | request header holding the verified caller identity (set by e.g. `jwt_authn`); a session bound to a subject is refused (404) for any other |
//! | `allowed_hosts` | `[]` (no check) | DNS-rebinding protection: the request's `Host`/`:authority` on the MCP endpoint must match one of these (`host`, `host:port`, or `*.domain`; a pattern without a port matches any port), else 403. Use it whenever the gateway listens on loopback |
//! | `allowed_origins` | `[]` (no check) | same patterns for the host of a present `Origin` header; a request without `Origin` (non-browser clients) passes |
//! | `virtual_servers` | `[]` | named subsets `{name, tools, prompts, resources}` (globs on exposed names and URIs; an unlisted kind is empty), each served at `<mcp path>/<name>` and on the MCP path with the request header `X-Mcp-Virtualserver: <name>`; a routed request outside its virtual server is refused like an unknown name, a session opened on one is refused on any other (`crate::scope`) |
//! | `identity.payload_header` | `x-jwt-payload` | request header holding the verified JWT payload (base64url JSON) that `access` reads: Envoy's `jwt_authn` `forward_payload_header`, Istio's `outputPayloadToHeader`. The Envoy config must remove client copies before the authenticator writes it (`mcp-gateway render` does) |
//! | `access` | none (everyone sees everything) | rules `{when: {claim: value(s)}, tools, prompts, resources}`: a caller sees and calls the union of what the rules its claims match allow (no `when`: every caller); a routed request outside it is refused like an unknown name. Needs `identity` |
//! | `filter_state` | `true` | also write the request's facts to Envoy filter state (`wasm.mcp_gateway.*`), for access logs and RBAC |
//! | `metadata_headers` | all seven | which facts are also set as `x-mcp-*` request headers, by fact name: `method`, `server`, `tool`, `prompt`, `resource_uri`, `session`, `tool_hints` (`[]`: none). Each header costs about 2.8 µs of Envoy CPU per request in Envoy 1.40 (benches/README.md); keep those your policies, rate limits and upstreams read. Client-sent `x-mcp-*` headers are stripped whatever this says. The Envoy config `mcp-gateway render` writes needs `server` and filter state (its JSON-RPC error for an unavailable backend reads them) |

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::names::{RouteEntry, Router};
use crate::scope::{AccessRule, Identity, Scope, VirtualServer};
use crate::visibility::{ItemRules, Visibility};
use crate::session::{SessionCodec, SessionKey};
use crate::tool_hints::{Annotations, ToolHintTable};

pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
pub const MIN_MAX_BODY_BYTES: usize = 1024;
pub const MAX_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

fn default_paths() -> Vec<String> {
    vec!["/mcp".to_string()]
}
fn default_path() -> String {
    "/mcp".to_string()
}
fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_true() -> bool {
    true
}
/// Every fact of [`METADATA_HEADER_FACTS`]: the default of `metadata_headers`.
pub fn default_metadata_headers() -> Vec<String> {
    METADATA_HEADER_FACTS.iter().map(|f| f.to_string()).collect()
}

/// The bits of the named facts; `field` names the config field in the error.
pub fn metadata_header_mask(field: &str, names: &[String]) -> Result<u8, String> {
    names.iter().try_fold(0u8, |mask, name| {
        let index = METADATA_HEADER_FACTS
            .iter()
            .position(|f| f == name)
            .ok_or_else(|| format!("{field}: {name:?} is not one of {METADATA_HEADER_FACTS:?}"))?;
        Ok(mask | metadata_header_bit(index))
    })
}

/// The facts that can travel as `x-mcp-*` request headers, by name; a fact's index here is
/// its bit in [`CompiledConfig::metadata_headers`].
pub const METADATA_HEADER_FACTS: [&str; 7] = ["method", "server", "tool", "prompt", "resource_uri", "session", "tool_hints"];

/// The bit of a fact of [`METADATA_HEADER_FACTS`] in [`CompiledConfig::metadata_headers`].
pub const fn metadata_header_bit(index: usize) -> u8 {
    1 << index
}

/// The configuration as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    #[serde(default = "default_paths")]
    pub mcp_paths: Vec<String>,
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    pub broker: Upstream,
    pub servers: Vec<ServerConfig>,
    pub session: SessionConfig,
    #[serde(default = "default_true")]
    pub filter_state: bool,
    #[serde(default = "default_metadata_headers")]
    pub metadata_headers: Vec<String>,
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Named subsets served at `<mcp path>/<name>` ([`crate::scope`]).
    #[serde(default)]
    pub virtual_servers: Vec<VirtualServer>,
    /// Where verified caller claims are read.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// What each caller may see and call; absent: identity plays no part.
    #[serde(default)]
    pub access: Option<Vec<AccessRule>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    pub authority: String,
    #[serde(default = "default_path")]
    pub path: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub name: String,
    pub prefix: String,
    pub authority: String,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default)]
    pub sessionless: bool,
    /// Every `tools/call` goes to the broker, which knows the tools' annotations and asks for
    /// confirmation when one declares `destructiveHint: true`.
    #[serde(default)]
    pub confirm_destructive: bool,
    /// What of this server is exposed ([`crate::visibility`]), each
    /// `{include, exclude, overrides: {own: {name}}}`.
    #[serde(default)]
    pub tools: ItemRules,
    #[serde(default)]
    pub prompts: ItemRules,
    #[serde(default)]
    pub resources: ItemRules,
    /// The hints the backend declared for its tools (own name → hints), learnt by the broker
    /// and filled in by `mcp-gateway up` ([`crate::tool_hints`]).
    #[serde(default)]
    pub tool_hints: BTreeMap<String, Annotations>,
}

impl ServerConfig {
    pub fn rules(&self) -> Visibility {
        Visibility { tools: self.tools.clone(), prompts: self.prompts.clone(), resources: self.resources.clone() }
    }

    /// Whether a call of this server's tool `own` (its own name) must go through the broker
    /// to be confirmed first: never straight to the backend.
    pub fn call_needs_confirmation(&self, own: &str) -> bool {
        self.confirm_destructive || self.tools.confirms(own)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub keys_env: Option<String>,
    #[serde(default)]
    pub subject_header: Option<String>,
}

/// A validated configuration, ready for the hot path.
#[derive(Debug, Clone)]
pub struct CompiledConfig {
    pub mcp_paths: Vec<String>,
    pub max_body_bytes: usize,
    pub broker: Upstream,
    pub servers: Vec<ServerConfig>,
    pub router: Router,
    pub sessions: SessionCodec,
    /// The `x-mcp-gateway-auth` value the filter adds to every request it routes to the
    /// broker ([`crate::broker_auth`]), derived from the first session key.
    pub broker_credential: String,
    /// Lower-cased.
    pub subject_header: Option<String>,
    pub filter_state: bool,
    /// One bit per fact of [`METADATA_HEADER_FACTS`] that is set as a request header.
    pub metadata_headers: u8,
    /// Lower-cased host patterns; empty: no check.
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Virtual servers and access rules.
    pub scope: Scope,
    /// The published hints of every tool that has some, by (server index, own name).
    pub tool_hints: ToolHintTable,
}

impl FilterConfig {
    /// Parses and validates. The error says which field is wrong and why, and never echoes
    /// a session key.
    pub fn from_json(bytes: &[u8]) -> Result<CompiledConfig, String> {
        let cfg: FilterConfig = serde_json::from_slice(bytes).map_err(|e| format!("invalid filter configuration: {e}"))?;
        cfg.compile()
    }

    pub fn compile(self) -> Result<CompiledConfig, String> {
        if self.mcp_paths.is_empty() {
            return Err("mcp_paths: at least one path is needed".into());
        }
        for p in &self.mcp_paths {
            if !p.starts_with('/') || p.contains(['?', '#']) {
                return Err(format!("mcp_paths: {p:?} must start with '/' and hold no query or fragment"));
            }
        }
        if !(MIN_MAX_BODY_BYTES..=MAX_MAX_BODY_BYTES).contains(&self.max_body_bytes) {
            return Err(format!(
                "max_body_bytes: {} is outside {MIN_MAX_BODY_BYTES}..={MAX_MAX_BODY_BYTES}",
                self.max_body_bytes
            ));
        }
        check_upstream("broker", &self.broker)?;
        if self.servers.is_empty() {
            return Err("servers: at least one server is needed".into());
        }
        for (i, s) in self.servers.iter().enumerate() {
            check_upstream(&format!("servers[{i}] ({:?})", s.name), &Upstream { authority: s.authority.clone(), path: s.path.clone() })?;
        }
        let entries: Vec<RouteEntry> =
            self.servers.iter().map(|s| RouteEntry { name: s.name.clone(), prefix: s.prefix.clone(), rules: s.rules() }).collect();
        let router = Router::new(&entries).map_err(|e| format!("servers: {e}"))?;
        let (keys, broker_credential) = session_keys(&self.session)?;
        let sessions = SessionCodec::new(&keys).map_err(|e| format!("session.keys: {e}"))?;
        let subject_header = match self.session.subject_header {
            Some(h) if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
                return Err(format!("session.subject_header: {h:?} is not a valid header name"));
            }
            other => other.map(|h| h.to_ascii_lowercase()),
        };
        let metadata_headers = metadata_header_mask("metadata_headers", &self.metadata_headers)?;
        let scope = Scope::new(self.virtual_servers, self.identity, self.access)?;
        let tool_hints = ToolHintTable::build(self.servers.iter().map(|s| (s.tools.annotated(), &s.tool_hints)));
        Ok(CompiledConfig {
            mcp_paths: self.mcp_paths,
            max_body_bytes: self.max_body_bytes,
            broker: self.broker,
            servers: self.servers,
            router,
            sessions,
            broker_credential,
            subject_header,
            filter_state: self.filter_state,
            metadata_headers,
            allowed_hosts: check_host_patterns("allowed_hosts", self.allowed_hosts)?,
            allowed_origins: check_host_patterns("allowed_origins", self.allowed_origins)?,
            scope,
            tool_hints,
        })
    }
}

/// The keys of `session.keys` or of the variable `session.keys_env` names (exactly one), and
/// the broker credential they give ([`crate::broker_auth`]). Errors name the field or the
/// variable, never a key.
fn session_keys(session: &SessionConfig) -> Result<(Vec<SessionKey>, String), String> {
    let from_env;
    let (field, texts): (String, Vec<&str>) = match (&session.keys_env, session.keys.is_empty()) {
        (Some(var), true) => {
            from_env = std::env::var(var).map_err(|_| {
                format!("session.keys_env: {var:?} is not set in the filter's environment (list it in vm_config.environment_variables.host_env_keys)")
            })?;
            (format!("session.keys_env ({var})"), split_keys(&from_env))
        }
        (None, false) => ("session.keys".to_string(), session.keys.iter().map(String::as_str).collect()),
        _ => return Err("session: set exactly one of keys_env and keys".into()),
    };
    let keys = texts
        .iter()
        .enumerate()
        .map(|(i, k)| SessionKey::from_base64(k).map_err(|e| format!("{field}[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let credential = crate::broker_auth::credential(&texts).map_err(|e| format!("{field}: {e}"))?;
    Ok((keys, credential))
}

/// Keys as an environment variable or a key file hold them: separated by commas or newlines.
pub fn split_keys(text: &str) -> Vec<&str> {
    text.split([',', '\n']).map(str::trim).filter(|k| !k.is_empty()).collect()
}

fn check_host_patterns(what: &str, patterns: Vec<String>) -> Result<Vec<String>, String> {
    patterns
        .into_iter()
        .map(|p| {
            let body = p.strip_prefix("*.").unwrap_or(&p);
            let ok = !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
            if ok {
                Ok(p.to_ascii_lowercase())
            } else {
                Err(format!("{what}: {p:?} is not a host, host:port or *.domain pattern"))
            }
        })
        .collect()
}

/// Whether `authority` (`host[:port]`, as in `Host` or an Origin's host part) matches one of
/// `patterns` (see [`FilterConfig`]'s `allowed_hosts`). Case-insensitive.
pub fn host_allowed(patterns: &[String], authority: &str) -> bool {
    let authority = authority.to_ascii_lowercase();
    let host = split_port(&authority);
    patterns.iter().any(|p| {
        if let Some(domain) = p.strip_prefix("*.") {
            host.len() > domain.len() + 1 && host.ends_with(domain) && host.as_bytes().get(host.len() - domain.len() - 1) == Some(&b'.')
        } else if split_port(p).len() == p.len() {
            host == p
        } else {
            authority == *p
        }
    })
}

/// The host part of `host[:port]`, IPv6 literals (`[::1]:80`) included.
fn split_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').and_then(|i| authority.get(..=i)).unwrap_or(authority);
    }
    authority.rsplit_once(':').map_or(authority, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { authority })
}

fn check_upstream(what: &str, u: &Upstream) -> Result<(), String> {
    let authority_ok = !u.authority.is_empty()
        && u.authority.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_' | b'[' | b']'));
    if !authority_ok {
        return Err(format!("{what}: authority {:?} is not a host[:port]", u.authority));
    }
    if !u.path.starts_with('/') || u.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(format!("{what}: path {:?} must start with '/' and hold no spaces or control characters", u.path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn cfg(servers: &str) -> String {
        format!(r#"{{"broker":{{"authority":"broker.local"}},"servers":{servers},"session":{{"keys":["{KEY}"]}}}}"#)
    }

    #[test]
    fn defaults() {
        let c = FilterConfig::from_json(cfg(r#"[{"name":"alpha","prefix":"a_","authority":"alpha.local"}]"#).as_bytes()).unwrap();
        assert_eq!(c.mcp_paths, vec!["/mcp"]);
        assert_eq!(c.max_body_bytes, 4 * 1024 * 1024);
        assert_eq!(c.broker.path, "/mcp");
        assert!(c.filter_state);
        assert_eq!(c.metadata_headers, 0b111_1111, "every fact by default");
    }

    // Environment variables cannot be set on wasm32-unknown-unknown (the wasm unit tests).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn keys_come_from_the_named_variable_and_exactly_one_source() {
        let var = "MCPGW_CONFIG_TEST_KEYS";
        let with = |session: &str| {
            format!(r#"{{"broker":{{"authority":"b"}},"servers":[{{"name":"a","prefix":"","authority":"a"}}],"session":{session}}}"#)
        };
        std::env::remove_var(var);
        let unset = FilterConfig::from_json(with(&format!(r#"{{"keys_env":"{var}"}}"#)).as_bytes()).unwrap_err();
        assert!(unset.contains(var) && unset.contains("host_env_keys"), "{unset}");
        std::env::set_var(var, format!(" {KEY} ,\n{KEY}\n"));
        assert!(FilterConfig::from_json(with(&format!(r#"{{"keys_env":"{var}"}}"#)).as_bytes()).is_ok());
        std::env::set_var(var, "c2hvcnQ=");
        let bad = FilterConfig::from_json(with(&format!(r#"{{"keys_env":"{var}"}}"#)).as_bytes()).unwrap_err();
        assert!(bad.contains("32 bytes") && !bad.contains("c2hvcnQ"), "{bad}");
        let both = FilterConfig::from_json(with(&format!(r#"{{"keys_env":"{var}","keys":["{KEY}"]}}"#)).as_bytes()).unwrap_err();
        assert!(both.contains("exactly one"), "{both}");
        assert!(FilterConfig::from_json(with("{}").as_bytes()).unwrap_err().contains("exactly one"));
        std::env::remove_var(var);
    }

    #[test]
    fn host_patterns() {
        let p: Vec<String> = ["localhost", "127.0.0.1", "[::1]", "*.example.com", "api.test:8443"].iter().map(|s| s.to_string()).collect();
        for ok in ["localhost", "LOCALHOST:8080", "127.0.0.1:1", "[::1]:9", "a.example.com", "a.b.example.com:1", "api.test:8443"] {
            assert!(host_allowed(&p, ok), "{ok}");
        }
        for bad in ["evil.example.org", "example.com", "xexample.com", "api.test:9", "api.test", "localhost.evil.com", "127.0.0.2"] {
            assert!(!host_allowed(&p, bad), "{bad}");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let cases = [
            (cfg(r#"[{"name":"a","prefix":"x_","authority":"a"},{"name":"b","prefix":"x_","authority":"b"}]"#), "share the prefix"),
            (cfg(r#"[{"name":"a","prefix":"x y","authority":"a"}]"#), "prefix"),
            (cfg(r#"[{"name":"a","prefix":"x_","authority":"a b"}]"#), "authority"),
            (cfg(r#"[{"name":"a","prefix":"x_","authority":"a","typo":1}]"#), "unknown field `typo`"),
            (cfg("[]"), "at least one server"),
            (r#"{"broker":{"authority":"b"},"servers":[{"name":"a","prefix":"","authority":"a"}],"session":{"keys":["c2hvcnQ="]}}"#.to_string(), "32 bytes"),
            ("not json".to_string(), "invalid filter configuration"),
            (cfg(r#"[{"name":"a","prefix":"","authority":"a"}],"metadata_headers":["tool","tools"]"#), "\"tools\" is not one of"),
        ];
        for (json, want) in cases {
            let err = FilterConfig::from_json(json.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
            assert!(!err.contains(KEY));
        }
    }
}
