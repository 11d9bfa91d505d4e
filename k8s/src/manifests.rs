//! Reads a folder of Kubernetes YAML manifests (multi-document files, `.yaml`/`.yml`, sorted by
//! path) into a [`World`]: the offline stand-in for the live layer's watches. Kinds the
//! controller does not read are skipped; Secrets keep only their key names.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::world::{SecretKeys, World};

/// Reads every manifest under `dir` (recursively).
pub fn read_dir(dir: &Path) -> Result<World, String> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    let mut world = World::default();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        add_text(&mut world, &text).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(world)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Adds the objects of one YAML text (any number of documents).
pub fn add_text(world: &mut World, text: &str) -> Result<(), String> {
    for doc in serde_norway::Deserializer::from_str(text) {
        let value: Value = serde::Deserialize::deserialize(doc).map_err(|e| e.to_string())?;
        if value.is_null() {
            continue;
        }
        add_object(world, value)?;
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("{what}: {e}"))
}

/// Adds one object; objects without a namespace get `default`, as `kubectl apply` would.
pub fn add_object(world: &mut World, mut value: Value) -> Result<(), String> {
    let api_version = value.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g).to_string();
    let cluster_scoped = matches!(kind.as_str(), "Namespace" | "MCPGatewayClass");
    if !cluster_scoped {
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.entry("namespace").or_insert_with(|| Value::String("default".into()));
        }
    }
    let what = format!("{kind} {}", value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?"));
    match (group.as_str(), kind.as_str()) {
        ("mcp.mcpgw.dev", "MCPServer") => world.servers.push(parse(value, &what)?),
        ("mcp.mcpgw.dev", "MCPGateway") => world.gateways.push(parse(value, &what)?),
        ("mcp.mcpgw.dev", "MCPGatewayClass") => world.classes.push(parse(value, &what)?),
        ("gateway.networking.k8s.io", "HTTPRoute") => world.routes.push(parse(value, &what)?),
        ("gateway.networking.k8s.io", "Gateway") => world.api_gateways.push(parse(value, &what)?),
        ("gateway.networking.k8s.io", "ReferenceGrant") => world.grants.push(parse(value, &what)?),
        ("", "Service") => world.services.push(parse(value, &what)?),
        ("", "Namespace") => world.namespaces.push(parse(value, &what)?),
        ("", "Secret") => {
            let secret: k8s_openapi::api::core::v1::Secret = parse(value, &what)?;
            world.secrets.push(SecretKeys::of(&secret));
        }
        _ => {}
    }
    Ok(())
}
