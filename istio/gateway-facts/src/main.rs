//! `mcpgw-gateway-facts --config GATEWAY.yaml [--key BASE64]...`
//!
//! Prints one JSON object on stdout:
//!
//! ```json
//! { "filter_config": { ... the WasmPlugin pluginConfig ... },
//!   "mcp_path": "/mcp", "max_body_bytes": 4194304, "broker_authority": "broker.mcp.internal",
//!   "broker_listen": "0.0.0.0:9000", "session_keys_env": "MCPGW_SESSION_KEYS",
//!   "route_filter_state": "wasm.mcp_gateway.route", "broker_route": "broker",
//!   "servers": [ { "name": "alpha", "prefix": "alpha_", "authority": "alpha.mcp.internal",
//!                  "host": "alpha.mcp.svc.cluster.local", "port": 8080, "path": "/mcp",
//!                  "tls": false, "timeout_ms": 10000, "forward_authorization": false,
//!                  "credential": null } ] }
//! ```
//!
//! The plugin configuration names the environment variable that holds the session keys
//! (`session_keys_env`), never the keys. They are only needed here to check the configuration
//! the way the filter will: `--key` (repeatable, first mints) wins; otherwise they are resolved
//! by the loader the broker uses (`mcpgw_common::gateway`: `session.key_file`, relative to the
//! config's directory, or `session.key_env`; one key per line or comma-separated).
//!
//! A server's `credential` is described, never resolved: `{"header": "authorization",
//! "env": "<the variable Envoy reads it from, credential_env>", "source": "value" | "value_env"
//! | "value_file"}`. The renderer decides what it can deploy.
//!
//! `route_filter_state` is the filter state key the filter writes its routing decision to (a
//! server's name, or `broker_route` for the broker): the internal routes must match only
//! requests carrying it (istio/README.md, "Only what the filter decided reaches a backend").
//!
//! The config is read, parsed and validated by that same loader (`CheckedConfig`), and server
//! URLs are split by its rules (`parse_url`): what the broker and `mcp-gateway render` accept,
//! this accepts. Its own cargo workspace: see Cargo.toml.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mcpgw_common::config::FilterConfig;
use mcpgw_common::gateway::{
    credential_env, parse_url, server_authority, CheckedConfig, SessionKeys, BROKER_AUTHORITY, BROKER_ROUTE,
    ROUTE_FILTER_STATE,
};

/// Prints, as JSON, the filter's plugin configuration and the per-server facts istio/render.py
/// needs, derived from a gateway config.
#[derive(Debug, Parser)]
#[command(name = "mcpgw-gateway-facts")]
struct Cli {
    /// The gateway config.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// A session key to check the configuration with (base64 of 32 bytes; repeatable, the
    /// first mints). Default: the config's own keys.
    #[arg(long = "key", value_name = "BASE64")]
    keys: Vec<String>,
}

fn run(cli: Cli) -> Result<serde_json::Value, String> {
    let path = cli.config;
    let checked = CheckedConfig::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let keys = if cli.keys.is_empty() {
        checked.session_keys().map_err(|e| format!("{e} (or pass --key)"))?
    } else {
        SessionKeys::from_texts(cli.keys)?
    };
    let cfg = checked.config();
    let filter_config = cfg.filter_config_json()?;
    // The filter's own parser and validation, with the keys where the filter's VM will find
    // them: what Envoy would refuse is refused here.
    std::env::set_var(cfg.filter_keys_env(), keys.joined());
    FilterConfig::from_json(filter_config.to_string().as_bytes())?;
    let mut servers = Vec::new();
    for s in cfg.enabled_servers() {
        let u = parse_url(&s.url).map_err(|e| format!("server {:?}: {e}", s.name))?;
        // Where the credential comes from and which variable Envoy reads it from; never its value.
        let credential = match (&s.credential, credential_env(s)) {
            (Some(c), Some(env)) => {
                let source = if c.value.is_some() {
                    "value"
                } else if c.value_env.is_some() {
                    "value_env"
                } else {
                    "value_file"
                };
                serde_json::json!({ "header": c.header.to_ascii_lowercase(), "env": env, "source": source })
            }
            _ => serde_json::Value::Null,
        };
        servers.push(serde_json::json!({
            "name": s.name, "prefix": s.prefix, "authority": server_authority(&s.name),
            "host": u.host, "port": u.port, "path": u.path, "tls": u.tls, "timeout_ms": s.timeout_ms,
            "forward_authorization": s.forward_authorization, "credential": credential,
        }));
    }
    Ok(serde_json::json!({
        "filter_config": filter_config,
        "mcp_path": cfg.mcp_path,
        "max_body_bytes": cfg.limits.max_body_bytes,
        "broker_authority": BROKER_AUTHORITY,
        "broker_listen": cfg.broker.listen,
        "session_keys_env": cfg.filter_keys_env(),
        "route_filter_state": ROUTE_FILTER_STATE,
        "broker_route": BROKER_ROUTE,
        "servers": servers,
    }))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mcpgw-gateway-facts: {e}");
            ExitCode::FAILURE
        }
    }
}
