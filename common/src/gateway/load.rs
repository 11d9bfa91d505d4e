//! The one way host-side tools read a gateway config: the broker (at start and on every
//! reload), `mcp-gateway up` and `render`, and istio/gateway-facts. The file (or a text, such
//! as the CLI's embedded demo) is read, its YAML parsed and the result validated
//! ([`CheckedConfig`]); who needs the secrets it names resolves them once, from files and the
//! environment ([`ResolvedConfig`]), and hands the result on instead of reading them again.
//!
//! Secret values never reach an error message or a `Debug` output.

use std::path::{Path, PathBuf};

use super::validate::check_max_body_bytes;
use super::{credential_env, Credential, GatewayConfig};
use crate::names::Router;
use crate::scope::Scope;
use crate::session::SessionKey;

/// Parses the YAML text of a gateway config, without validating it.
pub fn parse_yaml(text: &str) -> Result<GatewayConfig, String> {
    serde_norway::from_str(text).map_err(|e| format!("invalid YAML config: {e}"))
}

/// A gateway config that parsed and passed [`GatewayConfig::validate`], with the router over
/// its enabled servers. Its secrets are not read: `mcp-gateway render` and gateway-facts say
/// where they come from without needing them.
#[derive(Debug, Clone)]
pub struct CheckedConfig {
    config: GatewayConfig,
    router: Router,
    /// Virtual servers and access rules.
    scope: Scope,
    /// The folder relative `key_file` and `value_file` paths are taken from (the config file's).
    base: Option<PathBuf>,
}

impl CheckedConfig {
    /// Validates `config`; relative secret files will be looked for in `base`.
    pub fn new(config: GatewayConfig, base: Option<&Path>) -> Result<CheckedConfig, String> {
        let router = config.validate()?;
        let scope = config.scope()?;
        Ok(CheckedConfig { config, router, scope, base: base.map(Path::to_path_buf) })
    }

    pub fn from_yaml(text: &str, base: Option<&Path>) -> Result<CheckedConfig, String> {
        CheckedConfig::new(parse_yaml(text)?, base)
    }

    /// Reads the file; relative secret files are taken from its folder. The error says what
    /// is wrong, not in which file: callers name it where they report the error.
    pub fn read(path: &Path) -> Result<CheckedConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the file: {e}"))?;
        CheckedConfig::from_yaml(&text, path.parent())
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Puts Envoy's listener elsewhere (`--listen`). Validation does not look at `listen`:
    /// only the renderer splits it, and the allowed-hosts default is derived from it.
    pub fn set_listen(&mut self, listen: String) {
        self.config.listen = listen;
    }

    /// Keeps a body limit other than the file's (`up` keeps the one Envoy's listener started
    /// with), within the same bounds.
    pub fn set_max_body_bytes(&mut self, max_body_bytes: usize) -> Result<(), String> {
        check_max_body_bytes(max_body_bytes)?;
        self.config.limits.max_body_bytes = max_body_bytes;
        Ok(())
    }

    /// A file the config names: relative paths are taken from the config file's folder.
    pub fn path(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        match &self.base {
            Some(b) if path.is_relative() => b.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The session keys, from `session.key_file` or `session.key_env`.
    pub fn session_keys(&self) -> Result<SessionKeys, String> {
        let session = &self.config.session;
        let text = if let Some(f) = &session.key_file {
            std::fs::read_to_string(self.path(f)).map_err(|e| format!("session.key_file {f:?}: cannot read: {}", e.kind()))?
        } else if let Some(v) = &session.key_env {
            std::env::var(v).map_err(|_| format!("session.key_env: environment variable {v:?} is not set"))?
        } else {
            return Err("session: set key_file or key_env".into());
        };
        // The filter reads the same text from Envoy's environment: one splitting rule for both.
        let keys: Vec<String> = crate::config::split_keys(&text).into_iter().map(String::from).collect();
        if keys.is_empty() {
            return Err("session: the key source is empty".into());
        }
        SessionKeys::from_texts(keys)
    }

    fn resolve_credential(&self, c: &Credential) -> Result<String, String> {
        if let Some(v) = &c.value {
            Ok(v.clone())
        } else if let Some(e) = &c.value_env {
            std::env::var(e).map_err(|_| format!("credential.value_env: {e:?} is not set"))
        } else if let Some(f) = &c.value_file {
            let text = std::fs::read_to_string(self.path(f))
                .map_err(|e| format!("credential.value_file {f:?}: cannot read: {}", e.kind()))?;
            Ok(text.trim().to_string())
        } else {
            Err("credential: no value".into())
        }
    }

    /// Reads the secrets: the session keys and the credentials of the enabled servers.
    pub fn resolve(self) -> Result<ResolvedConfig, String> {
        let session_keys = self.session_keys()?;
        let mut credentials = Vec::new();
        for s in self.config.enabled_servers() {
            let (Some(c), Some(env)) = (&s.credential, credential_env(s)) else { continue };
            let value = self.resolve_credential(c).map_err(|e| format!("server {:?}: {e}", s.name))?;
            credentials.push(ResolvedCredential { server: s.name.clone(), header: c.header.to_ascii_lowercase(), env, value });
        }
        Ok(ResolvedConfig { checked: self, session_keys, credentials })
    }
}

/// The session keys as base64 texts, the first mints: what the broker seals tokens with and
/// what Envoy's filter reads from its environment. Each one is a key (32 bytes). `Debug`
/// shows how many, never a key.
#[derive(Clone)]
pub struct SessionKeys {
    texts: Vec<String>,
    keys: Vec<SessionKey>,
}

impl SessionKeys {
    /// Keys given some other way than the config (gateway-facts' `--key`), checked alike.
    pub fn from_texts(texts: Vec<String>) -> Result<SessionKeys, String> {
        let keys = texts
            .iter()
            .enumerate()
            .map(|(i, k)| SessionKey::from_base64(k).map_err(|e| format!("session key #{i}: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(SessionKeys { texts, keys })
    }

    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// The same keys, decoded.
    pub fn keys(&self) -> &[SessionKey] {
        &self.keys
    }

    /// The value of the filter's environment variable ([`GatewayConfig::filter_keys_env`]).
    pub fn joined(&self) -> String {
        self.texts.join(",")
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKeys({} hidden)", self.texts.len())
    }
}

/// An enabled server's credential with its value: the broker sends it; `mcp-gateway up` hands
/// it to Envoy in the variable Envoy's route reads it from. `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedCredential {
    pub server: String,
    /// The header it is sent in, lower case.
    pub header: String,
    /// Envoy's variable for it ([`credential_env`]).
    pub env: String,
    value: String,
}

impl ResolvedCredential {
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl std::fmt::Debug for ResolvedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedCredential").field("server", &self.server).field("header", &self.header).field("env", &self.env).finish_non_exhaustive()
    }
}

/// A checked gateway config with its secrets read: one generation of what the broker serves
/// and of what `mcp-gateway up` hands to Envoy.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    checked: CheckedConfig,
    session_keys: SessionKeys,
    credentials: Vec<ResolvedCredential>,
}

impl ResolvedConfig {
    /// Reads, checks and resolves the file.
    pub fn read(path: &Path) -> Result<ResolvedConfig, String> {
        CheckedConfig::read(path)?.resolve()
    }

    pub fn checked(&self) -> &CheckedConfig {
        &self.checked
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.checked.config
    }

    pub fn router(&self) -> &Router {
        &self.checked.router
    }

    pub fn scope(&self) -> &Scope {
        &self.checked.scope
    }

    pub fn session_keys(&self) -> &SessionKeys {
        &self.session_keys
    }

    /// The enabled servers' credentials, in server order.
    pub fn credentials(&self) -> &[ResolvedCredential] {
        &self.credentials
    }

    pub fn credential(&self, server: &str) -> Option<&ResolvedCredential> {
        self.credentials.iter().find(|c| c.server == server)
    }
}

// Files and environment variables: not on wasm32-unknown-unknown (the wasm unit tests).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    // clippy.toml's test allowances see `#[cfg(test)]` only, not this combined cfg.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const OLD_KEY: &str = "HxwdHhcYGRoTFBUWDxAREgsMDQ4HCAkKAwQFBgABAgM=";

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mcpgw-load-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn reads_a_file_and_its_secrets_relative_to_it() {
        let d = dir("relative");
        std::fs::write(d.join("session.key"), format!("{KEY}\n{OLD_KEY}\n")).unwrap();
        std::fs::write(d.join("beta.token"), "Bearer from-file\n").unwrap();
        std::env::set_var("MCPGW_LOAD_TEST_GAMMA", "from-env");
        let yaml = "servers:\n\
            - {name: alpha, url: 'http://127.0.0.1:1/mcp', prefix: a_, credential: {value: 'Bearer literal'}}\n\
            - {name: beta, url: 'http://127.0.0.1:2/mcp', prefix: b_, credential: {value_file: beta.token}}\n\
            - {name: gamma, url: 'http://127.0.0.1:3/mcp', prefix: g_, credential: {header: X-Api-Key, value_env: MCPGW_LOAD_TEST_GAMMA}}\n\
            - {name: off, url: 'http://127.0.0.1:4/mcp', prefix: o_, enabled: false, credential: {value_file: missing}}\n\
            session: {key_file: session.key}\n";
        std::fs::write(d.join("gateway.yaml"), yaml).unwrap();
        let r = ResolvedConfig::read(&d.join("gateway.yaml")).unwrap();
        assert_eq!(r.session_keys().texts(), [KEY, OLD_KEY]);
        assert_eq!(r.session_keys().joined(), format!("{KEY},{OLD_KEY}"));
        assert_eq!(r.credential("alpha").unwrap().value(), "Bearer literal");
        assert_eq!(r.credential("alpha").unwrap().env, "MCPGW_CREDENTIAL_ALPHA");
        assert_eq!(r.credential("beta").unwrap().value(), "Bearer from-file");
        let gamma = r.credential("gamma").unwrap();
        assert_eq!((gamma.header.as_str(), gamma.env.as_str(), gamma.value()), ("x-api-key", "MCPGW_LOAD_TEST_GAMMA", "from-env"));
        // A disabled server's credential is not read.
        assert!(r.credential("off").is_none());
        let shown = format!("{r:?}");
        for secret in [KEY, OLD_KEY, "Bearer literal", "from-file", "from-env"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn errors_name_the_problem_not_the_secret() {
        std::env::set_var("MCPGW_LOAD_TEST_SHORT", "c2hvcnQ=");
        let yaml = "servers:\n  - {name: alpha, url: 'http://127.0.0.1:1/mcp', prefix: a_}\nsession: {key_env: MCPGW_LOAD_TEST_SHORT}\n";
        let err = CheckedConfig::from_yaml(yaml, None).unwrap().resolve().unwrap_err();
        assert!(err.contains("32 bytes") && !err.contains("c2hvcnQ"), "{err}");
        assert!(CheckedConfig::from_yaml("servers: [\n", None).unwrap_err().contains("invalid YAML"));
        let missing = CheckedConfig::read(Path::new("/nonexistent/gateway.yaml")).unwrap_err();
        assert!(missing.starts_with("cannot read the file: "), "{missing}");
        let unset = "servers: []\nsession: {key_env: MCPGW_LOAD_TEST_UNSET}\n";
        assert!(CheckedConfig::from_yaml(unset, None).unwrap().session_keys().unwrap_err().contains("is not set"));
        let no_file = "servers:\n  - {name: a, url: 'http://h/', prefix: '', credential: {value_file: /nonexistent/t}}\nsession: {key_env: MCPGW_LOAD_TEST_SHORT}\n";
        std::env::set_var("MCPGW_LOAD_TEST_SHORT", KEY);
        let err = CheckedConfig::from_yaml(no_file, None).unwrap().resolve().unwrap_err();
        assert!(err.starts_with("server \"a\": credential.value_file"), "{err}");
    }

    #[test]
    fn overrides_stay_within_what_validation_allows() {
        let mut c = CheckedConfig::from_yaml("servers: []\nsession: {key_env: K}\n", None).unwrap();
        c.set_listen("0.0.0.0:9".into());
        assert_eq!(c.config().listen, "0.0.0.0:9");
        assert!(c.set_max_body_bytes(0).is_err());
        c.set_max_body_bytes(1 << 20).unwrap();
        assert_eq!(c.config().limits.max_body_bytes, 1 << 20);
    }
}
