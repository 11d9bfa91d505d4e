//! The gateway configuration file (YAML, parsed by the broker and the CLI; this crate only
//! holds the serde types, so it needs no YAML parser), its validation, and the derivation of
//! the filter's plugin configuration ([`crate::config::FilterConfig`] JSON) from it.
//!
//! ```yaml
//! listen: 127.0.0.1:8080          # where Envoy listens (used by the CLI)
//! mcp_path: /mcp
//! broker: { listen: 127.0.0.1:9000 }
//! servers:
//!   - name: alpha
//!     url: http://127.0.0.1:3001/mcp
//!     prefix: alpha_
//!     timeout_ms: 5000
//! session:
//!   key_env: MCPGW_SESSION_KEY     # or key_file: /etc/mcpgw/session.key
//!   lifetime_secs: 86400
//! ```
//!
//! Conventions shared with the CLI that renders Envoy's configuration: the virtual host of
//! server `<name>` answers `:authority` `<name>.mcp.internal`, the broker's answers
//! `broker.mcp.internal`, and the upstream `:path` is the path of the server's URL.

use serde::{Deserialize, Serialize};

use crate::names::{RouteEntry, Router};

pub const BROKER_AUTHORITY: &str = "broker.mcp.internal";
/// The filter's route decision for the broker (filter state `wasm.mcp_gateway.route`); a
/// backend's decision is its server name. `broker` is a reserved server name.
pub const BROKER_ROUTE: &str = "broker";
/// Envoy's name for the filter state key the filter writes its route decision to.
pub const ROUTE_FILTER_STATE: &str = "wasm.mcp_gateway.route";
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Five minutes of silence: tools that compute for minutes without reporting progress
/// (builds, searches, sampling loops) finish, while a hung backend still ends in an error a
/// person waits for; any response bytes or progress notification restart the bound.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 300_000;

/// The environment variable Envoy's wasm VM reads the session keys from when the gateway
/// config takes them from a file (`session.key_file`).
pub const SESSION_KEYS_ENV: &str = "MCPGW_SESSION_KEYS";

/// The environment variable Envoy reads a server's credential from (`%ENVIRONMENT(..)%` in the
/// header it adds, so the value is never in Envoy's config): `credential.value_env` itself, or
/// `MCPGW_CREDENTIAL_<NAME>` (upper-cased, `.`/`-` as `_`) for a `value` or `value_file`, which
/// whoever starts Envoy must export (`mcp-gateway up` does).
pub fn credential_env(server: &GatewayServer) -> Option<String> {
    let c = server.credential.as_ref()?;
    Some(match &c.value_env {
        Some(v) => v.clone(),
        None => format!(
            "MCPGW_CREDENTIAL_{}",
            server.name.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch.to_ascii_uppercase() } else { '_' }).collect::<String>()
        ),
    })
}

/// Envoy's virtual-host authority for server `name`.
pub fn server_authority(name: &str) -> String {
    format!("{name}.mcp.internal")
}

fn d_listen() -> String {
    "127.0.0.1:8080".into()
}
fn d_broker_listen() -> String {
    "127.0.0.1:9000".into()
}
fn d_mcp_path() -> String {
    "/mcp".into()
}
fn d_true() -> bool {
    true
}
fn d_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}
fn d_idle_timeout() -> u64 {
    DEFAULT_IDLE_TIMEOUT_MS
}
fn d_lifetime() -> u64 {
    24 * 3600
}
fn d_auth_header() -> String {
    "authorization".into()
}
fn d_max_body() -> usize {
    crate::config::DEFAULT_MAX_BODY_BYTES
}
fn d_page() -> usize {
    500
}
fn d_cache_ttl() -> u64 {
    300_000
}
fn d_max_pages() -> usize {
    100
}

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Where clients reach the gateway (Envoy's listener). Used by the CLI.
    #[serde(default = "d_listen")]
    pub listen: String,
    /// The MCP endpoint path clients use.
    #[serde(default = "d_mcp_path")]
    pub mcp_path: String,
    #[serde(default)]
    pub broker: BrokerConfig,
    pub servers: Vec<GatewayServer>,
    pub session: GatewaySession,
    #[serde(default)]
    pub limits: Limits,
    /// RFC 9728 protected-resource metadata, served by the broker when present.
    #[serde(default)]
    pub oauth: Option<OAuthResource>,
    /// DNS-rebinding protection: `Host`/`Origin` values the MCP endpoint accepts (`host`,
    /// `host:port`, `*.domain`). Unset: loopback names when `listen` is a loopback address,
    /// no check otherwise. `[]`: no check.
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// What the filter publishes for Envoy policies, access logs and upstreams.
    #[serde(default)]
    pub metadata: MetadataConfig,
}

/// The filter's `metadata_headers` (common/src/config.rs documents it). Filter state is always
/// on in the gateway, and `server` must stay among the headers: the JSON-RPC error Envoy's
/// local-reply mapping writes for an unavailable backend reads both (gateway/src/render.rs).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// Facts set as `x-mcp-*` request headers: `method`, `server`, `tool`, `prompt`,
    /// `resource_uri`, `session`. Default: all.
    #[serde(default = "crate::config::default_metadata_headers")]
    pub headers: Vec<String>,
}

impl Default for MetadataConfig {
    fn default() -> Self {
        MetadataConfig { headers: crate::config::default_metadata_headers() }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// Address the broker binds (`host:port`). Not hot-reloaded.
    #[serde(default = "d_broker_listen")]
    pub listen: String,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig { listen: d_broker_listen() }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayServer {
    /// `[a-z][a-z0-9.-]*`, unique.
    pub name: String,
    /// The backend's streamable-HTTP MCP endpoint, `http://host:port/path` (or https).
    pub url: String,
    /// Exposed-name prefix; `""` makes this server the pass-through default (at most one).
    pub prefix: String,
    /// The broker's budget for one request to this server when it fans out (initialize,
    /// lists): a slow server is left out of the answer rather than holding up the others.
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    /// How long a call to this server may stay silent (no response bytes, no progress
    /// notification) before the gateway gives up on it: a bound on silence, not on total time.
    #[serde(default = "d_idle_timeout")]
    pub idle_timeout_ms: u64,
    #[serde(default = "d_true")]
    pub enabled: bool,
    /// A credential the gateway sends to this server (instead of the client's).
    #[serde(default)]
    pub credential: Option<Credential>,
    /// Forward the client's `Authorization` header. Off by default: the MCP authorization
    /// spec forbids passing a client's token through to another resource.
    #[serde(default)]
    pub forward_authorization: bool,
    /// Whether the broker may share this server's lists between sessions (see the broker's
    /// README). Forced off when `forward_authorization` is on.
    #[serde(default = "d_true")]
    pub cache_lists: bool,
    /// The backend serves MCP 2026-07-28 sessionless requests: the filter then routes a
    /// 2026-07-28 client's calls straight to it instead of through the broker.
    #[serde(default)]
    pub sessionless: bool,
}

/// A header value sent upstream; exactly one of `value`, `value_env`, `value_file`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    #[serde(default = "d_auth_header")]
    pub header: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub value_env: Option<String>,
    #[serde(default)]
    pub value_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySession {
    /// File holding the base64 of 32 random bytes (first key mints; more lines = older keys).
    #[serde(default)]
    pub key_file: Option<String>,
    /// Environment variable holding the same (comma-separated for several keys).
    #[serde(default)]
    pub key_env: Option<String>,
    #[serde(default = "d_lifetime")]
    pub lifetime_secs: u64,
    /// Request header carrying a verified caller identity (e.g. set by Envoy's jwt_authn).
    #[serde(default)]
    pub subject_header: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "d_max_body")]
    pub max_body_bytes: usize,
    /// Items per page of an aggregated list; later pages use an opaque cursor.
    #[serde(default = "d_page")]
    pub list_page_size: usize,
    /// How long a backend's list may be served from the broker's cache (0 disables caching).
    #[serde(default = "d_cache_ttl")]
    pub list_cache_ttl_ms: u64,
    /// At most this many pages are fetched from one backend for one list.
    #[serde(default = "d_max_pages")]
    pub max_backend_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: d_max_body(),
            list_page_size: d_page(),
            list_cache_ttl_ms: d_cache_ttl(),
            max_backend_pages: d_max_pages(),
        }
    }
}

/// RFC 9728 metadata: `resource` and `authorization_servers` are required there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthResource {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

/// A server URL cut into the parts Envoy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

/// Splits `http(s)://host[:port][/path]`. IPv6 hosts are written `[::1]`.
pub fn parse_url(url: &str) -> Result<UrlParts, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        return Err(format!("url {url:?} must start with http:// or https://"));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("url {url:?} has no host (or carries credentials, which belong in `credential`)"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            (h.to_string(), p.parse::<u16>().map_err(|_| format!("url {url:?}: bad port {p:?}"))?)
        }
        _ => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    if host.is_empty() || path.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'#') {
        return Err(format!("url {url:?} is not a usable http(s) URL"));
    }
    Ok(UrlParts { tls, host, port, path })
}

impl GatewayConfig {
    /// The servers in force (enabled ones), in file order.
    pub fn enabled_servers(&self) -> impl Iterator<Item = &GatewayServer> {
        self.servers.iter().filter(|s| s.enabled)
    }

    /// Checks everything that does not need the outside world (keys are resolved by the
    /// caller). Returns the router over the enabled servers.
    pub fn validate(&self) -> Result<Router, String> {
        if !self.mcp_path.starts_with('/') || self.mcp_path.contains(['?', '#', ' ']) {
            return Err(format!("mcp_path: {:?} must start with '/' and hold no query or fragment", self.mcp_path));
        }
        if self.session.key_file.is_none() == self.session.key_env.is_none() {
            return Err("session: set exactly one of key_file and key_env".into());
        }
        if self.session.lifetime_secs == 0 {
            return Err("session.lifetime_secs must be > 0".into());
        }
        if self.limits.list_page_size == 0 || self.limits.max_backend_pages == 0 {
            return Err("limits: list_page_size and max_backend_pages must be > 0".into());
        }
        let min = crate::config::MIN_MAX_BODY_BYTES;
        let max = crate::config::MAX_MAX_BODY_BYTES;
        if !(min..=max).contains(&self.limits.max_body_bytes) {
            return Err(format!("limits.max_body_bytes must be within {min}..={max}"));
        }
        crate::config::metadata_header_mask("metadata.headers", &self.metadata.headers)?;
        if !self.metadata.headers.iter().any(|h| h == "server") {
            return Err("metadata.headers must include \"server\": the gateway's JSON-RPC error for an unavailable backend is keyed on x-mcp-servername".into());
        }
        for s in &self.servers {
            parse_url(&s.url).map_err(|e| format!("server {:?}: {e}", s.name))?;
            if s.timeout_ms == 0 || s.idle_timeout_ms == 0 {
                return Err(format!("server {:?}: timeout_ms and idle_timeout_ms must be > 0", s.name));
            }
            if let Some(c) = &s.credential {
                let n = [&c.value, &c.value_env, &c.value_file].iter().filter(|v| v.is_some()).count();
                if n != 1 {
                    return Err(format!("server {:?}: credential needs exactly one of value, value_env, value_file", s.name));
                }
                if c.header.is_empty() || !c.header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return Err(format!("server {:?}: credential.header {:?} is not a header name", s.name, c.header));
                }
            }
        }
        self.check_credential_variables()?;
        // Names must be unique across all servers (a disabled one keeps its name reserved).
        let all: Vec<RouteEntry> =
            self.servers.iter().map(|s| RouteEntry { name: s.name.clone(), prefix: s.prefix.clone() }).collect();
        Router::new(&all).map_err(|e| format!("servers: {e}"))?;
        let enabled: Vec<RouteEntry> =
            self.enabled_servers().map(|s| RouteEntry { name: s.name.clone(), prefix: s.prefix.clone() }).collect();
        Router::new(&enabled).map_err(|e| format!("servers: {e}"))
    }

    /// Envoy adds each server's credential from an environment variable ([`credential_env`]).
    /// A variable derived from a server's name (`MCPGW_CREDENTIAL_A_B` for both `a-b` and
    /// `a.b`) must belong to that server alone, or one backend would get another's credential;
    /// and no credential may come from the session keys' variable, or a backend would get them.
    /// Servers may share a `value_env` on purpose (one token for several servers).
    fn check_credential_variables(&self) -> Result<(), String> {
        let keys = self.filter_keys_env();
        let vars: Vec<(&str, String, bool)> = self
            .servers
            .iter()
            .filter_map(|s| Some((s.name.as_str(), credential_env(s)?, s.credential.as_ref()?.value_env.is_none())))
            .collect();
        for (name, var, derived) in &vars {
            if *var == keys {
                return Err(format!("server {name:?}: credential variable {var} is the session keys' variable"));
            }
            let clash = vars.iter().find(|(other, v, other_derived)| other != name && v == var && (*derived || *other_derived));
            if let Some((other, _, _)) = clash {
                return Err(format!(
                    "servers {name:?} and {other:?}: both credentials would be read from {var}; rename one server or use credential.value_env"
                ));
            }
        }
        Ok(())
    }

    /// `allowed_hosts`, with the loopback default applied.
    pub fn effective_allowed_hosts(&self) -> Vec<String> {
        match &self.allowed_hosts {
            Some(list) => list.clone(),
            None => {
                let host = self.listen.rsplit_once(':').map_or(self.listen.as_str(), |(h, _)| h);
                let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
                if loopback {
                    ["localhost", "127.0.0.1", "[::1]"].iter().map(|h| h.to_string()).collect()
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// The environment variable Envoy hands to the filter's VM with the session keys: the
    /// config's `session.key_env`, or [`SESSION_KEYS_ENV`] when the keys come from a file
    /// (whoever starts Envoy puts the file's keys there; `mcp-gateway up` does).
    pub fn filter_keys_env(&self) -> String {
        self.session.key_env.clone().unwrap_or_else(|| SESSION_KEYS_ENV.to_string())
    }

    /// The filter's plugin configuration for this gateway. It names the environment variable
    /// that holds the session keys ([`Self::filter_keys_env`]), never the keys: the plugin
    /// configuration is readable in Envoy's `/config_dump`. Feed it to
    /// [`crate::config::FilterConfig::from_json`].
    pub fn filter_config_json(&self) -> Result<serde_json::Value, String> {
        let mut servers = Vec::new();
        for s in self.enabled_servers() {
            let url = parse_url(&s.url).map_err(|e| format!("server {:?}: {e}", s.name))?;
            servers.push(serde_json::json!({
                "name": s.name,
                "prefix": s.prefix,
                "authority": server_authority(&s.name),
                "path": url.path,
                "sessionless": s.sessionless,
            }));
        }
        let mut session = serde_json::json!({ "keys_env": self.filter_keys_env() });
        if let (Some(h), Some(obj)) = (&self.session.subject_header, session.as_object_mut()) {
            obj.insert("subject_header".into(), serde_json::Value::String(h.clone()));
        }
        let allowed_hosts = self.effective_allowed_hosts();
        Ok(serde_json::json!({
            "allowed_hosts": allowed_hosts,
            "allowed_origins": allowed_hosts,
            "mcp_paths": [self.mcp_path],
            "max_body_bytes": self.limits.max_body_bytes,
            "broker": { "authority": BROKER_AUTHORITY, "path": self.mcp_path },
            "servers": servers,
            "session": session,
            "metadata_headers": self.metadata.headers,
            "filter_state": true,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(servers: serde_json::Value) -> GatewayConfig {
        serde_json::from_value(serde_json::json!({
            "servers": servers,
            "session": { "key_env": "K" }
        }))
        .unwrap()
    }

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:3001/mcp").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port, u.path.as_str()), (false, "127.0.0.1", 3001, "/mcp"));
        let u = parse_url("https://example.com").unwrap();
        assert_eq!((u.port, u.path.as_str()), (443, "/"));
        assert_eq!(parse_url("http://[::1]:9/x?y=1").unwrap().path, "/x?y=1");
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://u:p@x/").is_err());
        assert!(parse_url("http://x:notaport/").is_err());
    }

    // Environment variables cannot be set on wasm32-unknown-unknown (the wasm unit tests).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn derives_a_filter_config_the_filter_accepts() {
        let c = cfg(serde_json::json!([
            { "name": "alpha", "url": "http://127.0.0.1:1/mcp", "prefix": "a_" },
            { "name": "beta", "url": "http://127.0.0.1:2/", "prefix": "b_", "enabled": false },
        ]));
        let mut c = c;
        c.session.key_env = Some("MCPGW_GATEWAY_TEST_KEYS".into());
        c.validate().unwrap();
        std::env::set_var("MCPGW_GATEWAY_TEST_KEYS", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let json = c.filter_config_json().unwrap();
        // The keys stay in the environment: the plugin configuration only names the variable.
        assert_eq!(json["session"], serde_json::json!({ "keys_env": "MCPGW_GATEWAY_TEST_KEYS" }));
        let compiled = crate::config::FilterConfig::from_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(compiled.servers.len(), 1);
        assert_eq!(compiled.servers[0].authority, "alpha.mcp.internal");
        assert_eq!(compiled.broker.authority, BROKER_AUTHORITY);
        assert_eq!(compiled.metadata_headers, 0b11_1111);
        assert!(compiled.filter_state);

        let mut lean = c.clone();
        lean.metadata = MetadataConfig { headers: vec!["server".into(), "tool".into()] };
        lean.validate().unwrap();
        let json = lean.filter_config_json().unwrap();
        let compiled = crate::config::FilterConfig::from_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(compiled.metadata_headers, 0b110);
        assert!(compiled.filter_state, "the error mapping needs it");
    }

    #[test]
    fn credential_variables_never_clash() {
        let two = |a: serde_json::Value, b: serde_json::Value| {
            cfg(serde_json::json!([
                { "name": "a-b", "url": "http://h/", "prefix": "x_", "credential": a },
                { "name": "a.b", "url": "http://h/", "prefix": "y_", "credential": b },
            ]))
        };
        let err = two(serde_json::json!({ "value": "A" }), serde_json::json!({ "value": "B" })).validate().unwrap_err();
        assert!(err.contains("MCPGW_CREDENTIAL_A_B") && !err.contains("\"A\""), "{err}");
        let err = two(serde_json::json!({ "value": "A" }), serde_json::json!({ "value_env": "MCPGW_CREDENTIAL_A_B" })).validate().unwrap_err();
        assert!(err.contains("both credentials"), "{err}");
        // One token for two servers, on purpose: fine.
        two(serde_json::json!({ "value_env": "T" }), serde_json::json!({ "value_env": "T" })).validate().unwrap();
        two(serde_json::json!({ "value": "A" }), serde_json::json!({ "value_env": "T" })).validate().unwrap();
        // Never the session keys' variable (the test configs read the keys from K).
        let err = two(serde_json::json!({ "value_env": "K" }), serde_json::json!({ "value_env": "T" })).validate().unwrap_err();
        assert!(err.contains("session keys"), "{err}");
    }

    #[test]
    fn refuses_bad_configs() {
        let dup = cfg(serde_json::json!([
            { "name": "alpha", "url": "http://h/", "prefix": "x_" },
            { "name": "beta", "url": "http://h/", "prefix": "x_" },
        ]));
        assert!(dup.validate().unwrap_err().contains("share the prefix"));
        let url = cfg(serde_json::json!([{ "name": "alpha", "url": "nope", "prefix": "" }]));
        assert!(url.validate().unwrap_err().contains("http://"));
        let mut meta = cfg(serde_json::json!([{ "name": "alpha", "url": "http://h/", "prefix": "" }]));
        meta.metadata.headers = vec!["toolname".into()];
        assert!(meta.validate().unwrap_err().contains("metadata.headers: \"toolname\""));
        meta.metadata.headers = vec!["tool".into()];
        assert!(meta.validate().unwrap_err().contains("must include \"server\""));
        let r: Result<GatewayConfig, _> = serde_json::from_value(serde_json::json!({
            "servers": [], "session": { "key_env": "K" }, "typo": 1
        }));
        assert!(r.is_err());
    }
}
