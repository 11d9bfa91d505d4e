//! Prefix rules: how a backend's tool, prompt and resource names are exposed to clients, and
//! how an exposed name is mapped back to its backend.
//!
//! **Names** (tools, prompts, completion refs to prompts) are exposed as `<prefix><name>`.
//! The longest matching prefix wins; one server may have the empty prefix and then owns every
//! name no other prefix claims. Prefixes use the MCP tool-name alphabet `[A-Za-z0-9_.-]` and
//! leave room for at least one character of name within the 128-character limit
//! ([`crate::limits::MAX_NAME_CHARS`], the MCP specification's bound for tool names).
//! Two servers may not share a prefix.
//!
//! **URIs** (resources, templates, completion refs to resources) are exposed as
//! `<server-name>+<original-uri>`: the server's name is prepended to the URI scheme with a `+`,
//! which keeps the result a valid URI (`alpha+file:///x`, `alpha+test://template/{id}/data`),
//! keeps URI templates intact, and is undone by cutting at the first `+`. Resources of the
//! server with the empty prefix are exposed unchanged, as are its names.
//!
//! The broker uses [`Router::owner_of_name`] / [`Router::owner_of_uri`] before exposing
//! anything, so that a name that would be routed to another server (nested prefixes, or a
//! default server's tool that happens to start with another server's prefix) is never listed.

/// The longest exposed tool/prompt name: the MCP specification's 128 characters, the bound
/// the filter and the broker enforce on calls ([`crate::limits::MAX_NAME_CHARS`]).
pub const MAX_EXPOSED_NAME: usize = crate::limits::MAX_NAME_CHARS;

/// True when `name` fits `^[A-Za-z0-9_.-]{1,128}$`.
pub fn is_valid_exposed_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_EXPOSED_NAME && name.bytes().all(is_name_byte)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Checks a configured prefix: `[A-Za-z0-9_.-]{0,127}`.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix.len() >= MAX_EXPOSED_NAME {
        return Err(format!(
            "prefix {prefix:?} is {} characters; it must be at most {} so that a prefixed name fits in {MAX_EXPOSED_NAME}",
            prefix.len(),
            MAX_EXPOSED_NAME - 1
        ));
    }
    if let Some(c) = prefix.chars().find(|c| !(c.is_ascii() && is_name_byte(*c as u8))) {
        return Err(format!("prefix {prefix:?} contains {c:?}; prefixes may only use A-Z a-z 0-9 _ . -"));
    }
    Ok(())
}

/// Checks a server name: it becomes part of URI schemes and stat names, so
/// `[a-z][a-z0-9.-]{0,62}`.
pub fn validate_server_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = matches!(bytes.next(), Some(b'a'..=b'z'));
    if !first_ok || name.len() > 63 || !bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-')) {
        return Err(format!(
            "server name {name:?} must start with a-z and use only a-z 0-9 . - (at most 63 characters): it is used in URI schemes and stat names"
        ));
    }
    Ok(())
}

/// Exposes a backend name under `prefix`. `None` when the result breaks the name rules.
/// The empty prefix exposes names unchanged (their alphabet unchecked: that server's names are
/// its own), but not beyond [`MAX_EXPOSED_NAME`] characters: a call to a longer name would
/// be refused by the gateway anyway.
pub fn expose_name(prefix: &str, name: &str) -> Option<String> {
    if prefix.is_empty() {
        return crate::limits::name_fits(name).then(|| name.to_string());
    }
    let exposed = format!("{prefix}{name}");
    is_valid_exposed_name(&exposed).then_some(exposed)
}

/// Exposes a backend URI (or URI template) of server `server`; unchanged when `is_default`.
pub fn expose_uri(server: &str, is_default: bool, uri: &str) -> String {
    if is_default {
        uri.to_string()
    } else {
        format!("{server}+{uri}")
    }
}

use crate::visibility::Visibility;

/// One routable server, as the router sees it.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    pub name: String,
    pub prefix: String,
    /// Which of its tools, prompts and resources are exposed, under which names.
    pub rules: Visibility,
}

impl RouteEntry {
    /// A server that exposes everything under its own names.
    pub fn plain(name: &str, prefix: &str) -> RouteEntry {
        RouteEntry { name: name.into(), prefix: prefix.into(), rules: Visibility::default() }
    }
}

/// Maps exposed names and URIs to the index of the server that owns them.
#[derive(Debug, Clone, Default)]
pub struct Router {
    /// (prefix, server index), longest prefix first; the empty prefix is not in here.
    prefixes: Vec<(String, usize)>,
    /// (server name, index), for URI schemes.
    names: Vec<(String, usize)>,
    /// The server with the empty prefix, if any.
    default: Option<usize>,
    /// Per server index: what it exposes ([`crate::visibility`]).
    rules: Vec<Visibility>,
}

impl Router {
    /// Builds a router, refusing configurations whose names would be ambiguous.
    pub fn new(servers: &[RouteEntry]) -> Result<Router, String> {
        let mut router = Router::default();
        for (i, s) in servers.iter().enumerate() {
            validate_server_name(&s.name)?;
            validate_prefix(&s.prefix).map_err(|e| format!("server {:?}: {e}", s.name))?;
            if let Some((_, j)) = router.names.iter().find(|(n, _)| *n == s.name) {
                return Err(format!("servers #{j} and #{i} are both named {:?}; names must be unique", s.name));
            }
            router.names.push((s.name.clone(), i));
            if s.prefix.is_empty() {
                if let Some(j) = router.default {
                    let other = servers.get(j).map_or("?", |o| o.name.as_str());
                    return Err(format!(
                        "servers {other:?} and {:?} both have the empty prefix; at most one server may be the pass-through default",
                        s.name
                    ));
                }
                router.default = Some(i);
                continue;
            }
            if let Some((_, j)) = router.prefixes.iter().find(|(p, _)| *p == s.prefix) {
                let other = servers.get(*j).map_or("?", |o| o.name.as_str());
                return Err(format!(
                    "servers {other:?} and {:?} share the prefix {:?}; each prefix must belong to one server",
                    s.name, s.prefix
                ));
            }
            router.prefixes.push((s.prefix.clone(), i));
        }
        // Longest first, so the first match is the longest match.
        router.prefixes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (i, s) in servers.iter().enumerate() {
            let admissible = |exposed: &str| {
                if !is_valid_exposed_name(exposed) {
                    return Err("is not a valid exposed name (letters, digits, _ . -, at most 128)".to_string());
                }
                if router.owner_of_name(exposed) != Some(i) {
                    return Err("would be routed to another server (a longer prefix)".to_string());
                }
                Ok(())
            };
            for (kind, r) in [("tools", &s.rules.tools), ("prompts", &s.rules.prompts), ("resources", &s.rules.resources)] {
                r.check(kind, &s.prefix, admissible).map_err(|e| format!("server {:?}: {e}", s.name))?;
            }
        }
        router.rules = servers.iter().map(|s| s.rules.clone()).collect();
        Ok(router)
    }

    /// The server owning an exposed tool/prompt name, and the backend's own name.
    pub fn route_name<'n>(&self, exposed: &'n str) -> Option<(usize, &'n str)> {
        for (prefix, idx) in &self.prefixes {
            if let Some(rest) = exposed.strip_prefix(prefix.as_str()) {
                if !rest.is_empty() {
                    return Some((*idx, rest));
                }
            }
        }
        self.default.map(|d| (d, exposed))
    }

    /// The server owning an exposed URI, and the backend's own URI.
    pub fn route_uri<'u>(&self, exposed: &'u str) -> Option<(usize, &'u str)> {
        if let Some((scheme_head, rest)) = exposed.split_once('+') {
            // Only the scheme part may carry our tag: `alpha+file:…`, never `…/a+b`.
            if !scheme_head.contains([':', '/', '?', '#']) {
                if let Some((_, idx)) = self.names.iter().find(|(n, _)| n == scheme_head) {
                    if !rest.is_empty() {
                        return Some((*idx, rest));
                    }
                }
            }
        }
        self.default.map(|d| (d, exposed))
    }

    /// What server `index` exposes.
    pub fn rules(&self, index: usize) -> Option<&Visibility> {
        self.rules.get(index)
    }

    /// The index of the server named `name`.
    pub fn server_index(&self, name: &str) -> Option<usize> {
        self.names.iter().find(|(n, _)| n == name).map(|(_, i)| *i)
    }

    /// Which server an exposed name would be routed to (for the broker's listing check).
    pub fn owner_of_name(&self, exposed: &str) -> Option<usize> {
        self.route_name(exposed).map(|(i, _)| i)
    }

    /// Which server an exposed URI would be routed to.
    pub fn owner_of_uri(&self, exposed: &str) -> Option<usize> {
        self.route_uri(exposed).map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use super::*;

    fn entries(list: &[(&str, &str)]) -> Vec<RouteEntry> {
        list.iter().map(|(n, p)| RouteEntry::plain(n, p)).collect()
    }

    #[test]
    fn longest_prefix_wins_and_default_catches_the_rest() {
        let r = Router::new(&entries(&[("a", "a_"), ("ab", "a_b_"), ("d", "")])).unwrap();
        assert_eq!(r.route_name("a_b_x"), Some((1, "x")));
        assert_eq!(r.route_name("a_x"), Some((0, "x")));
        assert_eq!(r.route_name("zzz"), Some((2, "zzz")));
        // A bare prefix names nothing on that server: it falls to the default.
        assert_eq!(r.route_name("a_"), Some((2, "a_")));
    }

    #[test]
    fn unknown_without_default() {
        let r = Router::new(&entries(&[("a", "a_"), ("b", "b_")])).unwrap();
        assert_eq!(r.route_name("c_x"), None);
        assert_eq!(r.route_uri("file:///x"), None);
    }

    #[test]
    fn uris_are_tagged_in_the_scheme() {
        let r = Router::new(&entries(&[("alpha", "a_"), ("beta", "b_"), ("plain", "")])).unwrap();
        assert_eq!(r.route_uri("alpha+file:///x"), Some((0, "file:///x")));
        assert_eq!(r.route_uri("beta+test://template/{id}/data"), Some((1, "test://template/{id}/data")));
        assert_eq!(r.route_uri("svn+ssh://host/x"), Some((2, "svn+ssh://host/x")));
        assert_eq!(r.route_uri("file:///a+b"), Some((2, "file:///a+b")));
        assert_eq!(expose_uri("alpha", false, "file:///x"), "alpha+file:///x");
        assert_eq!(expose_uri("plain", true, "file:///x"), "file:///x");
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(Router::new(&entries(&[("a", "x_"), ("b", "x_")])).unwrap_err().contains("share the prefix"));
        assert!(Router::new(&entries(&[("a", ""), ("b", "")])).unwrap_err().contains("empty prefix"));
        assert!(Router::new(&entries(&[("a", "x_"), ("a", "y_")])).unwrap_err().contains("named"));
        assert!(Router::new(&entries(&[("a", "bad prefix")])).unwrap_err().contains("' '"));
        assert!(Router::new(&entries(&[("a", &"p".repeat(128))])).unwrap_err().contains("at most 127"));
        assert!(Router::new(&entries(&[("a", &"p".repeat(127))])).is_ok());
        assert!(Router::new(&entries(&[("Alpha", "a_")])).is_err());
        assert!(Router::new(&entries(&[("al+pha", "a_")])).is_err());
    }

    #[test]
    fn exposed_names_respect_the_tool_name_rules() {
        assert_eq!(expose_name("a_", "echo").as_deref(), Some("a_echo"));
        assert_eq!(expose_name("a_", "has space"), None);
        assert_eq!(expose_name("a_", &"x".repeat(126)).map(|n| n.len()), Some(128));
        assert_eq!(expose_name("a_", &"x".repeat(127)), None);
        assert_eq!(expose_name("", "any name/at all").as_deref(), Some("any name/at all"));
        assert_eq!(expose_name("", &"x".repeat(129)), None, "the default server's names are bounded too");
    }
}
