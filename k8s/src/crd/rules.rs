//! The governance rules of an `MCPServer` (which of its tools, prompts and resources agents see,
//! under which names): the same shape as `tools` / `prompts` / `resources` of a server in the
//! gateway config (`mcpgw_common::visibility::ItemRules`), declared again here only because
//! the CRD schema is derived from these types. [`ItemRulesSpec::to_item_rules`] goes through
//! serde, so a field added on one side and not the other fails a test, not a cluster.

use std::collections::BTreeMap;

use mcpgw_common::visibility::ItemRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRulesSpec {
    /// Globs (`*`, `?`) on the backend's own names: only matching items are exposed. Empty: all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Globs on the backend's own names: matching items are hidden (after `include`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// By the backend's own name: the name (before the prefix) and description agents see.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, OverrideSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ItemRulesSpec {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty() && self.overrides.is_empty()
    }

    /// The gateway config's rules, through serde so that both shapes must agree.
    pub fn to_item_rules(&self) -> Result<ItemRules, String> {
        let v = serde_json::to_value(self).map_err(|e| e.to_string())?;
        serde_json::from_value(v).map_err(|e| format!("rules do not fit the gateway config: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_shapes_agree() {
        let spec: ItemRulesSpec = serde_json::from_value(serde_json::json!({
            "include": ["get_*"], "exclude": ["get_secret"],
            "overrides": { "get_forecast": { "name": "forecast", "description": "The weather." } }
        }))
        .unwrap();
        let rules = spec.to_item_rules().unwrap();
        assert_eq!(rules.include, vec!["get_*".to_string()]);
        assert_eq!(rules.overrides["get_forecast"].name.as_deref(), Some("forecast"));
        assert_eq!(serde_json::to_value(&rules).unwrap(), serde_json::to_value(&spec).unwrap());
    }
}
