//! What the live layer must send to the API server for one reconcile's outputs: the
//! server-side applies and status patches, minus the statuses that did not change (the
//! objects in the snapshot carry their current status). Pure, so the count of writes a quiet
//! cluster causes (none) is tested offline.

use kube::ResourceExt;
use serde_json::{json, Value};

use crate::reconcile::{Event, Outputs};
use crate::world::World;

/// The field manager of every write (server-side apply).
pub const FIELD_MANAGER: &str = "mcpgw-controller";

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Server-side apply of a namespaced object (ConfigMap, the broker Deployment patch).
    Apply { kind: &'static str, namespace: String, name: String, object: Value },
    /// Server-side apply of the status subresource of one of our resources.
    Status { kind: &'static str, namespace: Option<String>, name: String, patch: Value },
    Event(Event),
}

fn status_patch(kind: &str, status: &impl serde::Serialize) -> Value {
    json!({ "apiVersion": "mcp.mcpgw.dev/v1alpha1", "kind": kind, "status": status })
}

pub fn plan(world: &World, outputs: &Outputs) -> Vec<Write> {
    let mut writes = Vec::new();
    for g in &outputs.gateways {
        if let Some(cm) = &g.config_map {
            let mut object = serde_json::to_value(cm).unwrap_or(Value::Null);
            if let Some(o) = object.as_object_mut() {
                o.insert("apiVersion".into(), json!("v1"));
                o.insert("kind".into(), json!("ConfigMap"));
            }
            writes.push(Write::Apply { kind: "ConfigMap", namespace: g.key.namespace.clone(), name: cm.metadata.name.clone().unwrap_or_default(), object });
        }
        if let Some(p) = &g.broker_patch {
            let name = p.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
            writes.push(Write::Apply { kind: "Deployment", namespace: g.key.namespace.clone(), name, object: p.clone() });
        }
        let current = world.gateways.iter().find(|o| o.namespace().as_deref() == Some(&g.key.namespace) && o.name_any() == g.key.name).and_then(|o| o.status.as_ref());
        if current != Some(&g.status) {
            writes.push(Write::Status { kind: "MCPGateway", namespace: Some(g.key.namespace.clone()), name: g.key.name.clone(), patch: status_patch("MCPGateway", &g.status) });
        }
    }
    for s in &world.servers {
        let key = crate::world::ObjKey::of(s);
        if let Some(new) = outputs.server_statuses.get(&key) {
            if s.status.as_ref() != Some(new) {
                writes.push(Write::Status { kind: "MCPServer", namespace: Some(key.namespace.clone()), name: key.name.clone(), patch: status_patch("MCPServer", new) });
            }
        }
    }
    for c in &world.classes {
        if let Some(new) = outputs.class_statuses.get(&c.name_any()) {
            if c.status.as_ref() != Some(new) {
                writes.push(Write::Status { kind: "MCPGatewayClass", namespace: None, name: c.name_any(), patch: status_patch("MCPGatewayClass", new) });
            }
        }
    }
    writes.extend(outputs.events.iter().cloned().map(Write::Event));
    writes
}
