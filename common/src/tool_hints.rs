//! Tool annotations as policy facts (issue 16): what a tool says of itself (`readOnlyHint`,
//! `destructiveHint`, `idempotentHint`, `openWorldHint`, MCP's `ToolAnnotations`), published by
//! the filter on every `tools/call` so that an RBAC or ext_authz rule can say "no destructive
//! tools for this group".
//!
//! Where a tool's hints come from, first match wins, as a whole (never field by field):
//!
//! 1. `config`: the gateway config's `tools.overrides.<own>.annotations`. A backend cannot
//!    declare its own tools harmless; the operator can.
//! 2. `backend`: what the backend declared in its `tools/list`, learnt by the broker (which
//!    sees every list) and handed to the filter's configuration by `mcp-gateway up`
//!    (`servers[].tool_hints`).
//! 3. `default`: nothing known (not listed yet, or no `up` to hand it over, as under Istio).
//!
//! A hint left unset takes the MCP schema's default (read-only false, destructive true,
//! idempotent false, open-world true), which is what the specification tells a client to
//! assume of an unannotated tool: a policy on these facts fails closed. A read-only tool is
//! published as neither destructive nor non-idempotent (the schema calls those two hints
//! meaningful only when `readOnlyHint` is false: a tool that modifies nothing destroys nothing,
//! and calling it again changes nothing).
//!
//! The published fact is one comma-separated list: the hints that are true, in the order
//! `read-only`, `destructive`, `idempotent`, `open-world`, then `source=<config|backend|default>`,
//! e.g. `destructive,open-world,source=default`. No token is a substring of another, so a
//! `contains` string match on one token is exact.
//!
//! Cost on the hot path: the values are built when the configuration loads; a `tools/call`
//! does one map lookup by (server index, own name) and writes the ready string.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// A tool's four hints as MCP's `ToolAnnotations` spells them, each optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Annotations {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// The field names of the four hints, in the order of [`Annotations`].
const FIELDS: [&str; 4] = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];

/// Learnt hints: server name → the backend's own tool name → what it declared.
pub type LearnedHints = BTreeMap<String, BTreeMap<String, Annotations>>;

/// Where a tool's published hints came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    Backend,
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Backend => "backend",
            Source::Default => "default",
        }
    }
}

/// The fact of a tool nothing is known about: the schema's defaults.
pub const DEFAULT_FACT: &str = "destructive,open-world,source=default";

impl Annotations {
    pub fn is_empty(&self) -> bool {
        *self == Annotations::default()
    }

    fn get(&self) -> [Option<bool>; 4] {
        [self.read_only_hint, self.destructive_hint, self.idempotent_hint, self.open_world_hint]
    }

    /// The hints a backend declared on a `tools/list` item (`item.annotations`), as booleans
    /// only; `None` when it declared none.
    pub fn from_tool(item: &serde_json::Value) -> Option<Annotations> {
        let a = item.get("annotations")?;
        let hint = |field: &str| a.get(field).and_then(serde_json::Value::as_bool);
        let found = Annotations {
            read_only_hint: hint("readOnlyHint"),
            destructive_hint: hint("destructiveHint"),
            idempotent_hint: hint("idempotentHint"),
            open_world_hint: hint("openWorldHint"),
        };
        (!found.is_empty()).then_some(found)
    }

    /// Replaces the four hints of a `tools/list` item with these (the unset ones removed, so a
    /// client reads the defaults the filter publishes), keeping the rest (`title`).
    pub fn write_into(&self, item: &mut serde_json::Value) {
        let Some(obj) = item.as_object_mut() else { return };
        let annotations = obj.entry("annotations").or_insert_with(|| serde_json::json!({}));
        let Some(a) = annotations.as_object_mut() else { return };
        for (field, value) in FIELDS.iter().zip(self.get()) {
            match value {
                Some(v) => a.insert((*field).to_string(), serde_json::Value::Bool(v)),
                None => a.remove(*field),
            };
        }
    }

    /// A contradiction in the config: read-only and destructive at once.
    pub fn check(&self) -> Result<(), String> {
        if self.read_only_hint == Some(true) && self.destructive_hint == Some(true) {
            return Err("readOnlyHint and destructiveHint are both true; a read-only tool destroys nothing".into());
        }
        Ok(())
    }

    /// The published fact (see the module documentation).
    pub fn fact(&self, source: Source) -> String {
        let read_only = self.read_only_hint.unwrap_or(false);
        let tokens = [
            (read_only, "read-only"),
            (!read_only && self.destructive_hint.unwrap_or(true), "destructive"),
            (read_only || self.idempotent_hint.unwrap_or(false), "idempotent"),
            (self.open_world_hint.unwrap_or(true), "open-world"),
        ];
        let mut out = String::with_capacity(48);
        for (_, token) in tokens.iter().filter(|(on, _)| *on) {
            out.push_str(token);
            out.push(',');
        }
        out.push_str("source=");
        out.push_str(source.as_str());
        out
    }
}

/// Per server (by index), own tool name → its published fact: built when the configuration
/// loads, read on every `tools/call`.
#[derive(Debug, Clone, Default)]
pub struct ToolHintTable {
    by_server: Vec<HashMap<String, String>>,
}

impl ToolHintTable {
    /// From each server's configured annotations (`crate::visibility`'s overrides) and learnt
    /// hints, in server order.
    pub fn build<'a, C>(servers: impl Iterator<Item = (C, &'a BTreeMap<String, Annotations>)>) -> ToolHintTable
    where
        C: IntoIterator<Item = (&'a String, &'a Annotations)>,
    {
        let by_server = servers
            .map(|(configured, learned)| {
                let mut table: HashMap<String, String> =
                    learned.iter().filter(|(_, a)| !a.is_empty()).map(|(own, a)| (own.clone(), a.fact(Source::Backend))).collect();
                for (own, a) in configured {
                    table.insert(own.clone(), a.fact(Source::Config));
                }
                table
            })
            .collect();
        ToolHintTable { by_server }
    }

    /// The fact for the tool `own` of server `server`.
    pub fn fact(&self, server: usize, own: &str) -> &str {
        self.by_server.get(server).and_then(|t| t.get(own)).map_or(DEFAULT_FACT, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn a(ro: Option<bool>, de: Option<bool>, id: Option<bool>, ow: Option<bool>) -> Annotations {
        Annotations { read_only_hint: ro, destructive_hint: de, idempotent_hint: id, open_world_hint: ow }
    }

    #[test]
    fn unset_hints_take_the_schema_defaults_and_read_only_implies_the_rest() {
        assert_eq!(Annotations::default().fact(Source::Default), DEFAULT_FACT);
        assert_eq!(a(Some(true), None, None, Some(false)).fact(Source::Backend), "read-only,idempotent,source=backend");
        assert_eq!(a(None, Some(false), Some(true), Some(false)).fact(Source::Config), "idempotent,source=config");
        assert_eq!(a(Some(false), None, None, None).fact(Source::Backend), "destructive,open-world,source=backend");
    }

    #[test]
    fn a_backend_declares_only_booleans() {
        let item = serde_json::json!({"name": "x", "annotations": {"title": "X", "readOnlyHint": true, "destructiveHint": "no"}});
        assert_eq!(Annotations::from_tool(&item), Some(a(Some(true), None, None, None)));
        assert_eq!(Annotations::from_tool(&serde_json::json!({"name": "x", "annotations": {"title": "X"}})), None);
        assert_eq!(Annotations::from_tool(&serde_json::json!({"name": "x"})), None);
    }

    #[test]
    fn the_config_replaces_a_listed_tools_hints_as_a_whole() {
        let mut item = serde_json::json!({"name": "x", "annotations": {"title": "X", "readOnlyHint": true, "idempotentHint": true}});
        a(None, Some(true), None, None).write_into(&mut item);
        assert_eq!(item["annotations"], serde_json::json!({"title": "X", "destructiveHint": true}));
        let mut bare = serde_json::json!({"name": "y"});
        a(Some(true), None, None, None).write_into(&mut bare);
        assert_eq!(bare["annotations"], serde_json::json!({"readOnlyHint": true}));
    }

    #[test]
    fn config_wins_over_backend_wins_over_default() {
        let configured: BTreeMap<String, Annotations> = [("wipe".to_string(), a(None, Some(true), None, None))].into();
        let learned: BTreeMap<String, Annotations> =
            [("wipe".to_string(), a(Some(true), None, None, None)), ("read".to_string(), a(Some(true), None, None, Some(false)))].into();
        let table = ToolHintTable::build([(&configured, &learned)].into_iter());
        assert_eq!(table.fact(0, "wipe"), "destructive,open-world,source=config");
        assert_eq!(table.fact(0, "read"), "read-only,idempotent,source=backend");
        assert_eq!(table.fact(0, "other"), DEFAULT_FACT);
        assert_eq!(table.fact(7, "read"), DEFAULT_FACT, "an unknown server index");
    }

    #[test]
    fn contradictions_are_refused_and_field_names_are_the_schemas() {
        assert!(a(Some(true), Some(true), None, None).check().is_err());
        assert!(a(Some(true), Some(false), None, None).check().is_ok());
        let parsed: Annotations = serde_json::from_str(r#"{"readOnlyHint":true,"openWorldHint":false}"#).unwrap();
        assert_eq!(parsed, a(Some(true), None, None, Some(false)));
        assert!(serde_json::from_str::<Annotations>(r#"{"readonly":true}"#).is_err());
    }
}
