//! One generation of the broker's configuration ([`Runtime`]), built from a gateway config the
//! common loader read, checked and resolved (`mcpgw_common::gateway::ResolvedConfig`): the
//! session codec and the broker credential from its keys, the enabled servers with their
//! credentials as headers ready to send. Secrets never reach a log line or an error message.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mcpgw_common::visibility::Visibility;
use mcpgw_common::broker_auth::BrokerAuth;
use mcpgw_common::gateway::{CheckedConfig, GatewayConfig, HostPort, ResolvedConfig, ResolvedCredential, BROKER_AUTHORITY};
use mcpgw_common::names::Router;
use mcpgw_common::scope::Scope;
use mcpgw_common::session::SessionCodec;
use reqwest::header::{HeaderName, HeaderValue};

pub mod confirm_seal;

use confirm_seal::ConfirmSeal;

/// One enabled backend, ready to be called.
#[derive(Debug)]
pub struct Server {
    /// Index in [`Runtime::servers`] and in the router.
    pub index: usize,
    pub name: String,
    pub prefix: String,
    pub url: String,
    /// The fan-out budget for one request (initialize, lists): `timeout_ms`.
    pub timeout: Duration,
    /// How long a routed call may stay silent: `idle_timeout_ms`.
    pub idle_timeout: Duration,
    pub credential: Option<(HeaderName, HeaderValue)>,
    pub forward_authorization: bool,
    pub cache_lists: bool,
    /// What of it is exposed, under which names and descriptions (`mcpgw_common::visibility`).
    pub rules: Visibility,
}

impl Server {
    pub fn is_default(&self) -> bool {
        self.prefix.is_empty()
    }

    /// What identifies the server for "did the server set change" purposes.
    fn identity(&self) -> (&str, &str, &str) {
        (&self.name, &self.prefix, &self.url)
    }
}

/// One generation of configuration, swapped atomically on reload.
#[derive(Debug)]
pub struct Runtime {
    pub generation: u64,
    pub config: GatewayConfig,
    pub servers: Vec<Arc<Server>>,
    pub router: Router,
    pub codec: SessionCodec,
    /// The credential Envoy's broker route carries (derived from the session keys).
    pub auth: BrokerAuth,
    /// `Host` values the MCP endpoint accepts (lower case): what Envoy's broker route rewrites
    /// the authority to, and `broker.mcp.internal`.
    pub authorities: Vec<String>,
    /// Lower-cased.
    pub subject_header: Option<String>,
    /// Virtual servers and access rules (`mcpgw_common::scope`).
    pub scope: Scope,
    /// Seals the state of a 2026-07-28 confirmation round (derived from the session keys).
    pub confirm_seal: ConfirmSeal,
}

impl Runtime {
    /// Generation `generation` of a resolved gateway config.
    pub fn new(resolved: &ResolvedConfig, generation: u64) -> Result<Runtime, String> {
        let config = resolved.config().clone();
        let keys = resolved.session_keys();
        let codec = SessionCodec::new(keys.keys()).map_err(|e| format!("session: {e}"))?;
        let auth = BrokerAuth::from_key_texts(keys.texts()).map_err(|e| format!("session: {e}"))?;
        let confirm_seal = ConfirmSeal::new(keys.keys()).map_err(|e| format!("session: {e}"))?;
        let authorities = vec![connect_authority(&config.broker.listen), BROKER_AUTHORITY.to_string()];
        let mut servers = Vec::new();
        for s in config.enabled_servers() {
            let credential = match resolved.credential(&s.name) {
                Some(c) => Some(credential_header(c).map_err(|e| format!("server {:?}: {e}", s.name))?),
                None => None,
            };
            servers.push(Arc::new(Server {
                index: servers.len(),
                name: s.name.clone(),
                prefix: s.prefix.clone(),
                url: s.url.clone(),
                timeout: Duration::from_millis(s.timeout_ms),
                idle_timeout: Duration::from_millis(s.idle_timeout_ms),
                credential,
                forward_authorization: s.forward_authorization,
                cache_lists: s.cache_lists && !s.forward_authorization && config.limits.list_cache_ttl_ms > 0,
                rules: s.rules(),
            }));
        }
        let subject_header = config.session.subject_header.as_ref().map(|h| h.to_ascii_lowercase());
        let scope = resolved.scope().clone();
        Ok(Runtime { generation, config, servers, router: resolved.router().clone(), codec, auth, authorities, subject_header, scope, confirm_seal })
    }

    pub fn server(&self, name: &str) -> Option<&Arc<Server>> {
        self.servers.iter().find(|s| s.name == name)
    }

    pub fn same_servers(&self, other: &Runtime) -> bool {
        self.servers.len() == other.servers.len()
            // Different rules expose different lists: cached ones must go.
            && self.servers.iter().zip(&other.servers).all(|(a, b)| a.identity() == b.identity() && a.rules == b.rules)
    }
}

/// Parses YAML text into the config types (for callers that hold the text: benches, tests).
pub fn parse(text: &str) -> Result<GatewayConfig, String> {
    mcpgw_common::gateway::parse_yaml(text)
}

/// Checks a parsed config, resolves its secrets (relative `key_file`/`value_file` paths from
/// `base`) and makes it generation `generation`.
pub fn build(config: GatewayConfig, generation: u64, base: Option<&Path>) -> Result<Runtime, String> {
    Runtime::new(&CheckedConfig::new(config, base)?.resolve()?, generation)
}

/// The authority Envoy's broker route writes for a listen address `host:port` (what
/// `mcp-gateway render` puts in `host_rewrite_literal`): a wildcard host becomes loopback, an
/// IPv6 host is bracketed. Lower case.
pub fn connect_authority(listen: &str) -> String {
    match HostPort::parse(listen) {
        Ok(hp) => hp.connecting().authority().to_ascii_lowercase(),
        // Not an address: the broker cannot bind it either, and nothing connects to it.
        Err(_) => listen.to_ascii_lowercase(),
    }
}

/// The header a resolved credential is sent in, marked sensitive (kept out of HTTP/2 header
/// tables and `Debug`).
fn credential_header(c: &ResolvedCredential) -> Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::from_bytes(c.header.as_bytes()).map_err(|_| format!("credential.header {:?} is not a header name", c.header))?;
    let mut value = HeaderValue::from_str(c.value()).map_err(|_| "credential value is not a valid header value".to_string())?;
    value.set_sensitive(true);
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_round_trip_and_secrets_stay_out_of_errors() {
        std::env::set_var("MCPGW_TEST_KEY_A", "c2hvcnQ=");
        let yaml = "servers:\n  - {name: alpha, url: 'http://127.0.0.1:1/mcp', prefix: a_}\nsession: {key_env: MCPGW_TEST_KEY_A}\n";
        let err = build(parse(yaml).unwrap(), 1, None).unwrap_err();
        assert!(err.contains("32 bytes"), "{err}");
        assert!(!err.contains("c2hvcnQ"));
        let bad = parse("servers: [\n").unwrap_err();
        assert!(bad.contains("invalid YAML"));
    }

    #[test]
    fn the_authority_envoy_rewrites_to() {
        assert_eq!(connect_authority("127.0.0.1:9000"), "127.0.0.1:9000");
        assert_eq!(connect_authority("0.0.0.0:9000"), "127.0.0.1:9000");
        assert_eq!(connect_authority("[::]:9000"), "[::1]:9000");
        assert_eq!(connect_authority("[fd00::2]:9000"), "[fd00::2]:9000");
        assert_eq!(connect_authority("Broker.Local:80"), "broker.local:80");
    }
}
