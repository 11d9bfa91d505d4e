//! The checks a gateway config must pass before anything uses it: everything that does not
//! need the outside world (secrets are resolved later, by whoever needs them).

use super::{credential_env, parse_url, GatewayConfig};
use crate::names::{RouteEntry, Router};

/// `limits.max_body_bytes` is within what the filter accepts.
pub(super) fn check_max_body_bytes(n: usize) -> Result<(), String> {
    let min = crate::config::MIN_MAX_BODY_BYTES;
    let max = crate::config::MAX_MAX_BODY_BYTES;
    if !(min..=max).contains(&n) {
        return Err(format!("limits.max_body_bytes must be within {min}..={max}"));
    }
    Ok(())
}

impl GatewayConfig {
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
        check_max_body_bytes(self.limits.max_body_bytes)?;
        self.confirmation.check()?;
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
        self.scope()?;
        if let Some(jwt) = self.identity.as_ref().and_then(|i| i.jwt.as_ref()) {
            if jwt.issuer.is_empty() || jwt.jwks_file.is_empty() {
                return Err("identity.jwt: issuer and jwks_file are required".into());
            }
        }
        // Names must be unique across all servers (a disabled one keeps its name reserved).
        let all: Vec<RouteEntry> =
            self.servers.iter().map(|s| RouteEntry { name: s.name.clone(), prefix: s.prefix.clone(), rules: s.rules() }).collect();
        Router::new(&all).map_err(|e| format!("servers: {e}"))?;
        let enabled: Vec<RouteEntry> =
            self.enabled_servers().map(|s| RouteEntry { name: s.name.clone(), prefix: s.prefix.clone(), rules: s.rules() }).collect();
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
