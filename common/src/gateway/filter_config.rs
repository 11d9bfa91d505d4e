//! The filter's plugin configuration ([`crate::config::FilterConfig`] JSON) derived from a
//! gateway config: the one thing Envoy's filter learns of the file.

use super::{parse_url, server_authority, GatewayConfig, BROKER_AUTHORITY};
use crate::tool_hints::LearnedHints;

impl GatewayConfig {
    /// The filter's plugin configuration for this gateway. It names the environment variable
    /// that holds the session keys ([`Self::filter_keys_env`]), never the keys: the plugin
    /// configuration is readable in Envoy's `/config_dump`. Feed it to
    /// [`crate::config::FilterConfig::from_json`].
    pub fn filter_config_json(&self) -> Result<serde_json::Value, String> {
        self.filter_config_json_with(&LearnedHints::new())
    }

    /// The same, with the tool hints the broker learnt from the backends' lists
    /// ([`crate::tool_hints`]) as each server's `tool_hints` (`mcp-gateway up` keeps them
    /// current); servers not in the config are ignored.
    pub fn filter_config_json_with(&self, learned: &LearnedHints) -> Result<serde_json::Value, String> {
        let mut servers = Vec::new();
        for s in self.enabled_servers() {
            let url = parse_url(&s.url).map_err(|e| format!("server {:?}: {e}", s.name))?;
            let mut server = serde_json::json!({
                "name": s.name,
                "prefix": s.prefix,
                "authority": server_authority(&s.name),
                "path": url.path,
                "sessionless": s.sessionless,
                "confirm_destructive": self.confirmation.destructive_hint,
            });
            // What is exposed, without descriptions (the filter routes; it never lists).
            let rules = s.rules().for_filter();
            if let (Some(obj), Ok(serde_json::Value::Object(r))) = (server.as_object_mut(), serde_json::to_value(&rules)) {
                obj.extend(r);
            }
            if let (Some(obj), Some(hints)) = (server.as_object_mut(), learned.get(&s.name).filter(|h| !h.is_empty())) {
                obj.insert("tool_hints".into(), serde_json::to_value(hints).map_err(|e| e.to_string())?);
            }
            servers.push(server);
        }
        let mut session = serde_json::json!({ "keys_env": self.filter_keys_env() });
        if let (Some(h), Some(obj)) = (&self.session.subject_header, session.as_object_mut()) {
            obj.insert("subject_header".into(), serde_json::Value::String(h.clone()));
        }
        let allowed_hosts = self.effective_allowed_hosts();
        let mut config = serde_json::json!({
            "allowed_hosts": allowed_hosts,
            "allowed_origins": allowed_hosts,
            "mcp_paths": [self.mcp_path],
            "max_body_bytes": self.limits.max_body_bytes,
            "broker": { "authority": BROKER_AUTHORITY, "path": self.mcp_path },
            "servers": servers,
            "session": session,
            "metadata_headers": self.metadata.headers,
            "filter_state": true,
        });
        // Scope rules only when there are any: a config without them renders as before.
        if let Some(obj) = config.as_object_mut() {
            if !self.virtual_servers.is_empty() {
                obj.insert("virtual_servers".into(), serde_json::to_value(&self.virtual_servers).map_err(|e| e.to_string())?);
            }
            if let Some(i) = &self.identity {
                obj.insert("identity".into(), serde_json::json!({ "payload_header": i.payload_header }));
            }
            if let Some(a) = &self.access {
                obj.insert("access".into(), serde_json::to_value(a).map_err(|e| e.to_string())?);
            }
        }
        Ok(config)
    }
}

// Environment variables cannot be set on wasm32-unknown-unknown (the wasm unit tests).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    // clippy.toml's test allowances see `#[cfg(test)]` only, not this combined cfg.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::gateway::MetadataConfig;

    fn cfg(servers: serde_json::Value) -> GatewayConfig {
        serde_json::from_value(serde_json::json!({
            "servers": servers,
            "session": { "key_env": "K" }
        }))
        .unwrap()
    }

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
        assert_eq!(compiled.metadata_headers, 0b111_1111);
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
    fn learnt_hints_and_configured_annotations_reach_the_filter() {
        let mut c = cfg(serde_json::json!([
            { "name": "alpha", "url": "http://127.0.0.1:1/mcp", "prefix": "a_",
              "tools": { "overrides": { "wipe": { "annotations": { "destructiveHint": true }, "description": "d" } } } },
        ]));
        c.session.key_env = Some("MCPGW_GATEWAY_TEST_KEYS_HINTS".into());
        c.validate().unwrap();
        std::env::set_var("MCPGW_GATEWAY_TEST_KEYS_HINTS", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let read_only = crate::tool_hints::Annotations { read_only_hint: Some(true), ..Default::default() };
        let learned: LearnedHints = [
            ("alpha".to_string(), [("wipe".to_string(), read_only), ("read".to_string(), read_only)].into()),
            ("gone".to_string(), [("x".to_string(), read_only)].into()),
        ]
        .into();
        let json = c.filter_config_json_with(&learned).unwrap();
        assert_eq!(json["servers"][0]["tool_hints"]["read"], serde_json::json!({ "readOnlyHint": true }));
        assert_eq!(json["servers"][0]["tools"]["overrides"]["wipe"], serde_json::json!({ "annotations": { "destructiveHint": true } }));
        let compiled = crate::config::FilterConfig::from_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(compiled.tool_hints.fact(0, "read"), "read-only,idempotent,open-world,source=backend");
        assert_eq!(compiled.tool_hints.fact(0, "wipe"), "destructive,open-world,source=config", "the config wins");
        assert_eq!(compiled.tool_hints.fact(0, "other"), crate::tool_hints::DEFAULT_FACT);
        assert!(c.filter_config_json().unwrap()["servers"][0].get("tool_hints").is_none());
    }
}
