//! What the servers offer together, as one server: their capabilities merged and their
//! instructions joined (for `initialize` and `server/discover`).

use serde_json::{json, Map, Value};

/// Capabilities the backends together offer. The gateway can always announce list changes
/// (its own server set changes on reload), so `listChanged` is set wherever the family exists.
pub fn merge_capabilities<'a>(all: impl IntoIterator<Item = &'a Value>) -> Value {
    let mut out = Map::new();
    let mut subscribe = false;
    for caps in all {
        let Some(obj) = caps.as_object() else { continue };
        for (k, v) in obj {
            match k.as_str() {
                "tools" | "prompts" | "resources" => {
                    out.insert(k.clone(), json!({"listChanged": true}));
                    if k == "resources" && v.get("subscribe").and_then(Value::as_bool) == Some(true) {
                        subscribe = true;
                    }
                }
                "logging" | "completions" => {
                    out.insert(k.clone(), json!({}));
                }
                _ => {}
            }
        }
    }
    if subscribe {
        if let Some(r) = out.get_mut("resources").and_then(Value::as_object_mut) {
            r.insert("subscribe".into(), Value::Bool(true));
        }
    }
    Value::Object(out)
}

/// The servers' instructions, each under its server's name.
pub fn merge_instructions<'a>(parts: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let text: Vec<String> = parts.into_iter().map(|(server, i)| format!("[{server}] {i}")).collect();
    (!text.is_empty()).then(|| text.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_union() {
        let a = json!({"tools": {}, "logging": {}});
        let b = json!({"resources": {"subscribe": true}, "prompts": {"listChanged": false}});
        let m = merge_capabilities([&a, &b]);
        assert_eq!(m["tools"]["listChanged"], true);
        assert_eq!(m["resources"]["subscribe"], true);
        assert!(m.get("completions").is_none());
        assert!(m.get("logging").is_some());
    }
}
