//! Loading the gateway config file into a [`Runtime`]: YAML parsing (serde_norway),
//! validation (shared with the CLI, in `mcpgw_common::gateway`), session keys and upstream
//! credentials resolved from files or the environment. Secrets never reach a log line or
//! an error message.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mcpgw_common::broker_auth::BrokerAuth;
use mcpgw_common::gateway::{Credential, GatewayConfig, BROKER_AUTHORITY};
use mcpgw_common::names::Router;
use mcpgw_common::session::{SessionCodec, SessionKey};
use reqwest::header::{HeaderName, HeaderValue};

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
}

impl Runtime {
    pub fn server(&self, name: &str) -> Option<&Arc<Server>> {
        self.servers.iter().find(|s| s.name == name)
    }

    pub fn same_servers(&self, other: &Runtime) -> bool {
        self.servers.len() == other.servers.len()
            && self.servers.iter().zip(&other.servers).all(|(a, b)| a.identity() == b.identity())
    }
}

/// Parses YAML text into the config types.
pub fn parse(text: &str) -> Result<GatewayConfig, String> {
    serde_norway::from_str(text).map_err(|e| format!("invalid YAML config: {e}"))
}

/// Reads, parses and validates the file; the error says what is wrong.
pub fn load(path: &Path, generation: u64) -> Result<Runtime, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    build(parse(&text)?, generation, path.parent())
}

/// Validates a parsed config and resolves its secrets. Relative `key_file`/`value_file`
/// paths are taken from `base` (the config file's folder).
pub fn build(config: GatewayConfig, generation: u64, base: Option<&Path>) -> Result<Runtime, String> {
    let router = config.validate()?;
    let key_texts = resolve_key_texts(&config, base)?;
    let keys = parse_keys(&key_texts)?;
    let codec = SessionCodec::new(&keys).map_err(|e| format!("session: {e}"))?;
    let auth = BrokerAuth::from_key_texts(&key_texts).map_err(|e| format!("session: {e}"))?;
    let authorities = vec![connect_authority(&config.broker.listen), BROKER_AUTHORITY.to_string()];
    let mut servers = Vec::new();
    for s in config.enabled_servers() {
        let credential = match &s.credential {
            Some(c) => Some(resolve_credential(c, base).map_err(|e| format!("server {:?}: {e}", s.name))?),
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
        }));
    }
    let subject_header = config.session.subject_header.as_ref().map(|h| h.to_ascii_lowercase());
    Ok(Runtime { generation, config, servers, router, codec, auth, authorities, subject_header })
}

fn resolve_path(p: &str, base: Option<&Path>) -> std::path::PathBuf {
    let path = Path::new(p);
    match base {
        Some(b) if path.is_relative() => b.join(path),
        _ => path.to_path_buf(),
    }
}

/// The session keys, as base64 text (first mints). Also used to derive the filter config.
pub fn resolve_key_texts(config: &GatewayConfig, base: Option<&Path>) -> Result<Vec<String>, String> {
    let text = if let Some(f) = &config.session.key_file {
        std::fs::read_to_string(resolve_path(f, base)).map_err(|e| format!("session.key_file {f:?}: cannot read: {}", e.kind()))?
    } else if let Some(v) = &config.session.key_env {
        std::env::var(v).map_err(|_| format!("session.key_env: environment variable {v:?} is not set"))?
    } else {
        return Err("session: set key_file or key_env".into());
    };
    // The filter reads the same text from Envoy's environment: one splitting rule for both.
    let keys: Vec<String> = mcpgw_common::config::split_keys(&text).into_iter().map(String::from).collect();
    if keys.is_empty() {
        return Err("session: the key source is empty".into());
    }
    Ok(keys)
}

/// The authority Envoy's broker route writes for a listen address `host:port` (what
/// `mcp-gateway render` puts in `host_rewrite_literal`): a wildcard host becomes loopback, an
/// IPv6 host is bracketed. Lower case.
pub fn connect_authority(listen: &str) -> String {
    let (host, port) = match listen.rsplit_once(':') {
        Some((h, p)) => (h.trim_start_matches('[').trim_end_matches(']'), Some(p)),
        None => (listen, None),
    };
    let host = match host {
        "0.0.0.0" => "127.0.0.1",
        "::" => "::1",
        h => h,
    };
    let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
    match port {
        Some(p) => format!("{host}:{p}").to_ascii_lowercase(),
        None => host.to_ascii_lowercase(),
    }
}

fn parse_keys(texts: &[String]) -> Result<Vec<SessionKey>, String> {
    texts
        .iter()
        .enumerate()
        .map(|(i, k)| SessionKey::from_base64(k).map_err(|e| format!("session key #{i}: {e}")))
        .collect()
}

fn resolve_credential(c: &Credential, base: Option<&Path>) -> Result<(HeaderName, HeaderValue), String> {
    let value = if let Some(v) = &c.value {
        v.clone()
    } else if let Some(e) = &c.value_env {
        std::env::var(e).map_err(|_| format!("credential.value_env: {e:?} is not set"))?
    } else if let Some(f) = &c.value_file {
        std::fs::read_to_string(resolve_path(f, base))
            .map_err(|e| format!("credential.value_file {f:?}: cannot read: {}", e.kind()))?
            .trim()
            .to_string()
    } else {
        return Err("credential: no value".into());
    };
    let name = HeaderName::from_bytes(c.header.to_ascii_lowercase().as_bytes())
        .map_err(|_| format!("credential.header {:?} is not a header name", c.header))?;
    let mut value = HeaderValue::from_str(&value).map_err(|_| "credential value is not a valid header value".to_string())?;
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
