//! The gateway config file's shape (serde types with their defaults) and what it says once
//! those defaults are applied. Checking it is `validate.rs`'s job.

use serde::{Deserialize, Serialize};

use super::{DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_TIMEOUT_MS, SESSION_KEYS_ENV};
use crate::scope::{AccessRule, Identity, Scope, VirtualServer, DEFAULT_PAYLOAD_HEADER};
use crate::visibility::{ItemRules, Visibility};

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
    /// Which build of the filter Envoy loads (`render`, `up`; `--filter` overrides it). Read at
    /// start: a change takes effect on the next start.
    #[serde(default)]
    pub filter: FilterHost,
    /// Named subsets of the gateway, each at `<mcp_path>/<name>` (`crate::scope`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_servers: Vec<VirtualServer>,
    /// Where verified caller claims come from, and the JWT check `render` puts in front.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<GatewayIdentity>,
    /// What each caller may see and call (`crate::scope`); absent: everyone everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<Vec<AccessRule>>,
    /// How calls to the tools marked `tools.confirm` (and, optionally, those declaring
    /// `destructiveHint: true`) are confirmed by the human first (`confirmation.rs`).
    #[serde(default)]
    pub confirmation: super::Confirmation,
}

/// `identity`: the header the filter and broker read verified claims from, and optionally the
/// JWT check that writes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayIdentity {
    /// Request header holding the verified JWT payload (base64url JSON).
    #[serde(default = "d_payload_header")]
    pub payload_header: String,
    /// Verify bearer JWTs in Envoy (`jwt_authn`, before the filter) and write their payload
    /// to `payload_header`. Unset: an authenticator in front of the gateway writes it (Istio's
    /// `RequestAuthentication` with `outputPayloadToHeader`), and must remove client copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtCheck>,
}

fn d_payload_header() -> String {
    DEFAULT_PAYLOAD_HEADER.into()
}

/// One JWT issuer, rendered as Envoy's `jwt_authn` provider.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwtCheck {
    /// The `iss` the tokens must carry.
    pub issuer: String,
    /// Accepted `aud` values; empty: the audience is not checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
    /// A local JWKS file (the issuer's public keys); relative to the config file.
    pub jwks_file: String,
    /// Refuse requests without a token (401). `false`: they go on anonymous (no claims), and
    /// see what the `access` rules without `when` allow. A token that fails verification is
    /// refused either way.
    #[serde(default = "d_true")]
    pub required: bool,
}

impl GatewayConfig {
    /// The virtual servers and access rules, compiled (the filter gets the same fields).
    pub fn scope(&self) -> Result<Scope, String> {
        let identity = self.identity.as_ref().map(|i| Identity { payload_header: i.payload_header.clone() });
        Scope::new(self.virtual_servers.clone(), identity, self.access.clone())
    }
}

/// The two builds of the one filter logic (filter/, native/).
///
/// `native` (the default): the Envoy dynamic module `libmcpgw_native.so`, found by Envoy in
/// `$ENVOY_DYNAMIC_MODULES_SEARCH_PATH`; the fastest, and Envoy's own process memory.
/// `wasm`: the proxy-wasm `.wasm` in Envoy's V8, the artifact Istio pulls (benches/README.md
/// compares them). Both publish the same headers and filter state; only `native` also writes
/// dynamic metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterHost {
    #[default]
    Native,
    Wasm,
}

impl FilterHost {
    pub fn name(self) -> &'static str {
        match self {
            FilterHost::Native => "native",
            FilterHost::Wasm => "wasm",
        }
    }
}

impl std::str::FromStr for FilterHost {
    type Err = String;
    fn from_str(s: &str) -> Result<FilterHost, String> {
        match s {
            "native" => Ok(FilterHost::Native),
            "wasm" => Ok(FilterHost::Wasm),
            other => Err(format!("filter: {other:?} is neither native nor wasm")),
        }
    }
}

/// The filter's `metadata_headers` (common/src/config.rs documents it). Filter state is always
/// on in the gateway, and `server` must stay among the headers: the JSON-RPC error Envoy's
/// local-reply mapping writes for an unavailable backend reads both (gateway/src/render.rs).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataConfig {
    /// Facts set as `x-mcp-*` request headers: `method`, `server`, `tool`, `prompt`,
    /// `resource_uri`, `session`, `tool_hints`. Default: all.
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
    /// Which of its tools are exposed, under which names and descriptions
    /// (`crate::visibility`): `include` / `exclude` globs, `overrides.<own>: {name, description}`.
    #[serde(default, skip_serializing_if = "ItemRules::is_empty")]
    pub tools: ItemRules,
    /// The same for prompts.
    #[serde(default, skip_serializing_if = "ItemRules::is_empty")]
    pub prompts: ItemRules,
    /// `include` / `exclude` globs on resource URIs and URI templates (no renames).
    #[serde(default, skip_serializing_if = "ItemRules::is_empty")]
    pub resources: ItemRules,
}

impl GatewayServer {
    /// What the server exposes, as the router applies it.
    pub fn rules(&self) -> Visibility {
        Visibility { tools: self.tools.clone(), prompts: self.prompts.clone(), resources: self.resources.clone() }
    }
}

/// A header value sent upstream; exactly one of `value`, `value_env`, `value_file`.
#[derive(Clone, Deserialize, Serialize)]
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

/// A literal `value` is a secret: a config printed with `{:?}` (a log line, a panic message)
/// shows that there is one, not what it is.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("header", &self.header)
            .field("value", &self.value.as_ref().map(|_| "<hidden>"))
            .field("value_env", &self.value_env)
            .field("value_file", &self.value_file)
            .finish()
    }
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

impl GatewayConfig {
    /// The servers in force (enabled ones), in file order.
    pub fn enabled_servers(&self) -> impl Iterator<Item = &GatewayServer> {
        self.servers.iter().filter(|s| s.enabled)
    }

    /// `allowed_hosts`, with the loopback default applied.
    pub fn effective_allowed_hosts(&self) -> Vec<String> {
        match &self.allowed_hosts {
            Some(list) => list.clone(),
            None => {
                if super::HostPort::parse(&self.listen).is_ok_and(|l| l.is_loopback()) {
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
}
