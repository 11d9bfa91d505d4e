//! Which of a server's tools, prompts and resources the gateway exposes, and under which name:
//! the per-server `tools` / `prompts` / `resources` rules of the gateway config. One home for
//! both planes: the broker applies them to the lists it aggregates ([`ItemRules::exposed`]),
//! the filter and the broker to every routed request ([`ItemRules::backend`], through
//! `names::Router` and `protocol::decide`), so a hidden item is absent from every list and
//! refused on every call, as an unknown one is, before any backend is asked.
//!
//! ```yaml
//! tools:
//!   include: ["search_*", "echo"]     # globs on the backend's own names; none: all
//!   exclude: ["*_admin"]               # wins over include
//!   overrides:
//!     search_docs: { name: find, description: "Search the handbook" }
//!     delete_page: { annotations: { destructiveHint: true } }
//! ```
//!
//! - Patterns are globs on the backend's own name (or URI for `resources`, which applies to
//!   resources and resource templates): `*` any run of characters, `?` one character, nothing
//!   else is special. A name is visible when it matches an `include` pattern (or there are
//!   none) and no `exclude` pattern.
//! - `overrides.<own>.name` renames a visible tool or prompt: it is listed and called as
//!   `<prefix><name>`, and its own name is no longer reachable (a stable, unique name: a rename
//!   target may not be another override's name or target, and must route back to the same
//!   server). `description` replaces the description the backend gives (broker only; the
//!   filter never sees descriptions).
//! - `overrides.<own>.annotations` (tools only) sets the tool's `readOnlyHint`,
//!   `destructiveHint`, `idempotentHint`, `openWorldHint` as the gateway lists and publishes
//!   them, whatever the backend declares ([`crate::tool_hints`]).
//! - A backend item whose own name is another item's rename target is not listed: the name
//!   belongs to the renamed item.
//! - `confirm` (tools only): globs on the backend's own tool names whose calls the gateway
//!   asks the human to confirm before the backend sees them (README, "Confirmation before
//!   dangerous tools"). The filter sends such calls to the broker, which asks.
//!
//! Cost on the hot path: none without rules; with rules, one glob pass over the routed name
//! (and a map lookup when there are overrides).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::tool_hints::Annotations;

/// The rules of one kind of item (tools, prompts, or resources) of one server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRules {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// By the backend's own name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, Override>,
    /// Tools only: globs on the backend's own names of the tools whose calls need the human's
    /// confirmation (an elicitation) before they reach the backend.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirm: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// The name it is exposed under (before the server's prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The description clients see instead of the backend's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tools only: the hints the gateway publishes for this tool, instead of whatever the
    /// backend declares ([`crate::tool_hints`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

/// A server's rules for the three kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Visibility {
    #[serde(default, skip_serializing_if = "ItemRules::is_empty")]
    pub tools: ItemRules,
    #[serde(default, skip_serializing_if = "ItemRules::is_empty")]
    pub prompts: ItemRules,
    /// Globs on URIs (and URI templates); no renames.
    #[serde(default, skip_serializing_if = "ItemRules::is_empty")]
    pub resources: ItemRules,
}

/// `*` matches any run of characters, `?` one; everything else itself.
///
/// Walks both strings by char without allocating (it runs on every routed call of a server
/// with rules), with one backtrack point (the last `*`): linear in practice, never exponential.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let at = |s: &str, i: usize| s.get(i..).and_then(|rest| rest.chars().next());
    let (mut pi, mut ti) = (0usize, 0usize);
    // (index of the last `*` in the pattern, index in the text it is matched up to)
    let mut star: Option<(usize, usize)> = None;
    while let Some(tc) = at(text, ti) {
        match at(pattern, pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(pc) if pc == '?' || pc == tc => {
                pi += pc.len_utf8();
                ti += tc.len_utf8();
            }
            _ => match star {
                Some((sp, st)) => {
                    // Let the last `*` take one more char of the text, and retry after it.
                    let taken = st + at(text, st).map_or(1, char::len_utf8);
                    star = Some((sp, taken));
                    pi = sp + 1;
                    ti = taken;
                }
                None => return false,
            },
        }
    }
    pattern.get(pi..).is_some_and(|rest| rest.chars().all(|c| c == '*'))
}

impl ItemRules {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty() && self.overrides.is_empty() && self.confirm.is_empty()
    }

    /// Whether a call of the backend's tool `own` needs the human's confirmation (`confirm`).
    pub fn confirms(&self, own: &str) -> bool {
        self.confirm.iter().any(|p| glob_match(p, own))
    }

    /// Whether the backend's item `own` passes `include` / `exclude`.
    pub fn visible(&self, own: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| glob_match(p, own))) && !self.exclude.iter().any(|p| glob_match(p, own))
    }

    fn renamed(&self, own: &str) -> Option<&str> {
        self.overrides.get(own).and_then(|o| o.name.as_deref())
    }

    /// The name (before the prefix) the backend's item `own` is listed under; `None` when it is
    /// hidden, or when its name is another item's rename target.
    pub fn exposed<'a>(&'a self, own: &'a str) -> Option<&'a str> {
        if !self.visible(own) {
            return None;
        }
        let exposed = self.renamed(own).unwrap_or(own);
        (self.backend(exposed) == Some(own)).then_some(exposed)
    }

    /// The backend's own name for the exposed name (before the prefix) `exposed`; `None`
    /// when no visible item is exposed under it.
    pub fn backend<'a>(&'a self, exposed: &'a str) -> Option<&'a str> {
        if self.overrides.is_empty() {
            return self.visible(exposed).then_some(exposed);
        }
        if let Some((own, _)) = self.overrides.iter().find(|(_, o)| o.name.as_deref() == Some(exposed)) {
            return self.visible(own).then_some(own.as_str());
        }
        // A renamed item is reachable under its new name only.
        if self.renamed(exposed).is_some() {
            return None;
        }
        self.visible(exposed).then_some(exposed)
    }

    /// The description override of the backend's item `own`.
    pub fn description(&self, own: &str) -> Option<&str> {
        self.overrides.get(own).and_then(|o| o.description.as_deref())
    }

    /// Every item with configured hints: (own name, hints).
    pub fn annotated(&self) -> impl Iterator<Item = (&String, &Annotations)> {
        self.overrides.iter().filter_map(|(own, o)| Some((own, o.annotations.as_ref()?)))
    }

    /// The configured hints of the backend's tool `own`.
    pub fn annotations(&self, own: &str) -> Option<&Annotations> {
        self.overrides.get(own).and_then(|o| o.annotations.as_ref())
    }

    /// Checks the rules of `kind` (`tools`, `prompts`, `resources`); `admissible` says why an
    /// exposed (prefixed) rename target could not be used (not a valid name, routed to
    /// another server: the router's to say).
    pub fn check(&self, kind: &str, prefix: &str, admissible: impl Fn(&str) -> Result<(), String>) -> Result<(), String> {
        for p in self.include.iter().chain(&self.exclude).chain(&self.confirm) {
            if p.is_empty() {
                return Err(format!("{kind}: an empty pattern matches nothing; remove it"));
            }
        }
        if kind != "tools" && !self.confirm.is_empty() {
            return Err(format!("{kind}.confirm: only tool calls can be confirmed (a {kind} read changes nothing)"));
        }
        let mut targets: BTreeMap<&str, &str> = BTreeMap::new();
        for (own, o) in &self.overrides {
            if let Some(a) = &o.annotations {
                if kind != "tools" {
                    return Err(format!("{kind}.overrides.{own}.annotations: only tools have annotations"));
                }
                a.check().map_err(|why| format!("{kind}.overrides.{own}.annotations: {why}"))?;
            }
            let Some(target) = o.name.as_deref() else { continue };
            if kind == "resources" {
                return Err(format!("{kind}.overrides.{own}: resources cannot be renamed (their URIs are the backend's)"));
            }
            let exposed = format!("{prefix}{target}");
            if let Some(other) = targets.insert(target, own) {
                return Err(format!("{kind}.overrides: {other:?} and {own:?} are both renamed to {target:?}; names must stay unique"));
            }
            if self.overrides.get(target).is_some_and(|t| t.name.is_some()) {
                return Err(format!(
                    "{kind}.overrides.{own}.name: {target:?} is itself renamed; rename chains and swaps are refused (names must stay stable)"
                ));
            }
            if !self.visible(own) {
                return Err(format!("{kind}.overrides.{own}: {own:?} is hidden by include/exclude, so its rename would never be used"));
            }
            admissible(&exposed).map_err(|why| format!("{kind}.overrides.{own}.name: {exposed:?} {why}"))?;
        }
        Ok(())
    }
}

impl Visibility {
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty() && self.prompts.is_empty() && self.resources.is_empty()
    }

    /// These rules without descriptions: what the filter needs (it routes by the names and
    /// publishes the annotations; it never sees descriptions).
    pub fn for_filter(&self) -> Visibility {
        let strip = |r: &ItemRules| ItemRules {
            include: r.include.clone(),
            exclude: r.exclude.clone(),
            overrides: r
                .overrides
                .iter()
                .filter(|(_, o)| o.name.is_some() || o.annotations.is_some())
                .map(|(k, o)| (k.clone(), Override { name: o.name.clone(), description: None, annotations: o.annotations }))
                .collect(),
            confirm: r.confirm.clone(),
        };
        Visibility { tools: strip(&self.tools), prompts: strip(&self.prompts), resources: strip(&self.resources) }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn rules(include: &[&str], exclude: &[&str], renames: &[(&str, &str)]) -> ItemRules {
        ItemRules {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            overrides: renames.iter().map(|(a, b)| (a.to_string(), Override { name: Some(b.to_string()), ..Override::default() })).collect(),
            confirm: Vec::new(),
        }
    }

    #[test]
    fn globs() {
        for (p, t) in [("*", ""), ("*", "abc"), ("a*", "abc"), ("*c", "abc"), ("a?c", "abc"), ("a*b*c", "axxbyyc"), ("search_*", "search_docs"), ("", ""), ("é?*", "éàx"), ("*é", "xxé")] {
            assert!(glob_match(p, t), "{p} ~ {t}");
        }
        for (p, t) in [("a", "b"), ("a?c", "ac"), ("a*d", "abc"), ("", "a"), ("search_*", "searc"), ("*x", "abc"), ("?", "éà")] {
            assert!(!glob_match(p, t), "{p} !~ {t}");
        }
        // No exponential blow-up on adversarial patterns.
        assert!(!glob_match(&"*a".repeat(30), &"a".repeat(29)));
    }

    #[test]
    fn include_exclude_and_renames_agree_both_ways() {
        let r = rules(&["search_*", "echo", "old"], &["*_admin"], &[("search_docs", "find"), ("old", "echo")]);
        assert!(r.visible("search_docs") && r.visible("echo") && !r.visible("search_admin") && !r.visible("delete"));
        // Listed names and routed names are the same set, one to one.
        assert_eq!(r.exposed("search_docs"), Some("find"));
        assert_eq!(r.backend("find"), Some("search_docs"));
        assert_eq!(r.backend("search_docs"), None, "a renamed item answers to its new name only");
        assert_eq!(r.exposed("old"), Some("echo"));
        assert_eq!(r.backend("echo"), Some("old"), "the name belongs to the renamed item");
        assert_eq!(r.exposed("echo"), None, "the backend's own echo is shadowed, not listed twice");
        assert_eq!(r.exposed("search_web"), Some("search_web"));
        assert_eq!(r.backend("search_web"), Some("search_web"));
        assert_eq!(r.exposed("search_admin"), None);
        assert_eq!(r.backend("search_admin"), None);
        assert_eq!(r.backend("delete"), None);
        let all = ItemRules::default();
        assert_eq!((all.exposed("x"), all.backend("x")), (Some("x"), Some("x")));
    }

    #[test]
    fn clashes_and_useless_rules_are_refused_at_load() {
        let ok = |_: &str| Ok(());
        assert!(rules(&[], &[], &[("a", "b")]).check("tools", "p_", ok).is_ok());
        assert!(rules(&[], &[], &[("a", "x"), ("b", "x")]).check("tools", "p_", ok).unwrap_err().contains("unique"));
        assert!(rules(&[], &[], &[("a", "b"), ("b", "c")]).check("tools", "p_", ok).unwrap_err().contains("chains"));
        assert!(rules(&[], &["a"], &[("a", "b")]).check("tools", "p_", ok).unwrap_err().contains("hidden"));
        let refused = rules(&[], &[], &[("a", "b")]).check("tools", "p_", |_| Err("is refused".into())).unwrap_err();
        assert_eq!(refused, r#"tools.overrides.a.name: "p_b" is refused"#);
        assert!(rules(&[""], &[], &[]).check("tools", "p_", ok).is_err());
        assert!(rules(&[], &[], &[("file:///a", "b")]).check("resources", "", ok).unwrap_err().contains("cannot be renamed"));
        let confirm = |kind: &str| ItemRules { confirm: vec!["delete_*".into()], ..ItemRules::default() }.check(kind, "p_", ok);
        assert!(confirm("tools").is_ok());
        assert!(confirm("prompts").unwrap_err().contains("only tool calls"));
        assert!(confirm("resources").unwrap_err().contains("only tool calls"));
        assert!(ItemRules { confirm: vec![String::new()], ..ItemRules::default() }.check("tools", "p_", ok).is_err());
    }

    #[test]
    fn confirm_globs_match_own_names_and_survive_the_filter_copy() {
        let r = ItemRules { confirm: vec!["delete_*".into(), "wipe".into()], ..ItemRules::default() };
        assert!(r.confirms("delete_user") && r.confirms("wipe") && !r.confirms("wiper") && !r.confirms("list"));
        assert!(!r.is_empty());
        let v = Visibility { tools: r.clone(), ..Visibility::default() };
        assert_eq!(v.for_filter().tools.confirm, r.confirm);
    }

    #[test]
    fn annotations_are_for_tools_only_and_reach_the_filter() {
        let ok = |_: &str| Ok(());
        let hinted = |hints: Annotations| {
            let mut r = ItemRules::default();
            r.overrides.insert("wipe".into(), Override { annotations: Some(hints), description: Some("d".into()), ..Override::default() });
            r
        };
        let destructive = Annotations { destructive_hint: Some(true), ..Annotations::default() };
        assert!(hinted(destructive).check("tools", "p_", ok).is_ok());
        assert!(hinted(destructive).check("prompts", "p_", ok).unwrap_err().contains("only tools have annotations"));
        let contradiction = Annotations { read_only_hint: Some(true), destructive_hint: Some(true), ..Annotations::default() };
        assert!(hinted(contradiction).check("tools", "p_", ok).unwrap_err().contains("tools.overrides.wipe.annotations"));
        // An annotation-only override changes no name, and the filter keeps it (without the description).
        let r = hinted(destructive);
        assert_eq!((r.exposed("wipe"), r.backend("wipe")), (Some("wipe"), Some("wipe")));
        let v = Visibility { tools: r, ..Visibility::default() }.for_filter();
        assert_eq!(v.tools.annotations("wipe"), Some(&destructive));
        assert_eq!(v.tools.description("wipe"), None);
    }
}
