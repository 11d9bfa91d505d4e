//! The module structure of the workspace, checked: no crate (`common`, `filter`, `broker`,
//! `gateway`) has a cycle among its top-level modules, and the broker's modules keep their
//! layer order (`http` surface → `handlers` → `client` → `state`; see broker/README.md,
//! "Code layout"), with one outbound client and one HTTP-speaking layer.
//!
//! Plain Rust over the source text, so that `cargo test --workspace` (CI) keeps it: each
//! file's comments, string and character literals are blanked, then every path that starts
//! with `crate::` or `super::` (in `use` lines, `use` groups, and inline paths such as
//! `crate::x::y(…)`) is resolved to the top-level module it names. A name the crate root
//! re-exports from a module (`pub use state::app;`) counts as that module. Unit tests
//! (`#[cfg(test)] mod … { … }`) are left out: a test may use any module (a lower layer's
//! test double, say), as nothing ships with it. Other inline `mod` blocks are not tracked:
//! `super` counts from the file's own module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The broker's layers, top to bottom: a module may use modules of its own layer or below.
const BROKER_LAYERS: &[(&str, &[&str])] = &[
    ("surface", &["http", "reload"]),
    ("handlers", &["handlers"]),
    ("client", &["client"]),
    ("state", &["state", "config"]),
    ("wire format", &["sse"]),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace holds the broker").to_path_buf()
}

// ---- reading source -------------------------------------------------------------------------

/// The source with comments, string literals and character literals replaced by spaces
/// (line breaks kept), so that only code is left to scan.
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if let Some(len) = raw_string_start(&b, i) {
            // r"…", r#"…"#, br#"…"#: ends at a quote followed by as many #.
            let hashes = len - if b[i] == 'b' { 3 } else { 2 };
            i += len;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(b[i]));
                i += 1;
            }
        } else if c == '"' || (c == 'b' && next == Some('"') && !is_ident_char(prev(&b, i))) {
            i += if c == 'b' { 2 } else { 1 };
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = b.get(i) {
                    out.push(blank(ch));
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' {
            // A character literal ('a', '\n', '\u{1F600}'), or a lifetime ('a, 'static).
            if next == Some('\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
            out.push(' ');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev(b: &[char], i: usize) -> char {
    if i == 0 {
        ' '
    } else {
        b[i - 1]
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The length of a raw string's opening (`r"`, `r#"`, `br##"`…) at `i`, if one starts there.
fn raw_string_start(b: &[char], i: usize) -> Option<usize> {
    if is_ident_char(prev(b, i)) {
        return None;
    }
    let mut j = i;
    if b.get(j) == Some(&'b') {
        j += 1;
    }
    if b.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    while b.get(j) == Some(&'#') {
        j += 1;
    }
    (b.get(j) == Some(&'"')).then_some(j + 1 - i)
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_ident_char(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') && t.chars().all(is_ident_char)
}

// ---- one crate's module graph ---------------------------------------------------------------

/// One crate (a `lib.rs` or `main.rs` root): its top-level modules and who uses whom.
struct Crate {
    name: String,
    modules: BTreeSet<String>,
    /// module → the modules it names, each with one place that names it (for the report).
    uses: BTreeMap<String, BTreeMap<String, String>>,
}

/// The modules a root file declares (`mod x;`, `pub mod x;`, `pub(crate) mod x;`), and the
/// names it re-exports from them (`pub use x::y;`, `pub use x::y as z;`): `y` → `x`.
fn root_declarations(root: &str) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let t = tokens(&code_only(root));
    let mut modules = BTreeSet::new();
    let mut aliases = BTreeMap::new();
    let mut i = 0;
    while i < t.len() {
        if t[i] == "mod" && t.get(i + 2).is_some_and(|s| s == ";") && is_ident(&t[i + 1]) {
            modules.insert(t[i + 1].clone());
        }
        if t[i] == "use" {
            let end = (i..t.len()).find(|&j| t[j] == ";").unwrap_or(t.len());
            let path: Vec<&String> = t[i + 1..end].iter().collect();
            if !path.iter().any(|s| *s == "{") && path.len() >= 3 {
                let alias = match path.iter().position(|s| *s == "as") {
                    Some(p) => path.get(p + 1).map(|s| s.to_string()),
                    None => path.last().map(|s| s.to_string()),
                };
                if let Some(alias) = alias {
                    aliases.insert(alias, path[0].clone());
                }
            }
            i = end;
        }
        i += 1;
    }
    aliases.retain(|_, m| modules.contains(m));
    (modules, aliases)
}

/// Every `.rs` file of top-level module `module` with its module path (`["http", "post"]`).
fn module_files(src: &Path, module: &str) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.is_file() {
        out.push((file, vec![module.to_string()]));
    }
    let mut stack = vec![(src.join(module), vec![module.to_string()])];
    while let Some((dir, path)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            if p.is_dir() {
                let mut sub = path.clone();
                sub.push(stem);
                stack.push((p, sub));
            } else if p.extension().is_some_and(|x| x == "rs") {
                let mut sub = path.clone();
                if stem != "mod" {
                    sub.push(stem);
                }
                out.push((p, sub));
            }
        }
    }
    out.sort();
    out
}

/// The top-level modules a file's `crate::…` and `super::…` paths name, resolved from its
/// module path `at`. `None` stands for the crate root itself (`crate::run`): the caller maps
/// re-exported names and drops the rest.
fn named_modules(code: &str, at: &[String]) -> Vec<String> {
    let t = without_unit_tests(tokens(code));
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let starts_path = (t[i] == "crate" || t[i] == "super") && t.get(i + 1).is_some_and(|s| s == "::") && !(i > 0 && t[i - 1] == "::");
        if !starts_path {
            i += 1;
            continue;
        }
        let mut base: Vec<String> = if t[i] == "crate" { Vec::new() } else { at.to_vec() };
        let mut j = i;
        if t[i] == "super" {
            while t.get(j).is_some_and(|s| s == "super") && t.get(j + 1).is_some_and(|s| s == "::") {
                base.pop();
                j += 2;
            }
        } else {
            j += 2;
        }
        match base.first() {
            // Inside a module: the path stays within it, or leaves it through the root.
            Some(top) => out.push(top.clone()),
            None => match t.get(j).map(String::as_str) {
                Some("{") => out.extend(group_heads(&t, j)),
                Some(name) if is_ident(name) && name != "self" => out.push(name.to_string()),
                _ => {}
            },
        }
        i = j.max(i + 1);
    }
    out
}

/// The tokens without `#[cfg(test)] mod name { … }` blocks.
fn without_unit_tests(t: Vec<String>) -> Vec<String> {
    const OPENING: [&str; 7] = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let is_test_mod = t[i..].starts_with(&OPENING.map(String::from))
            && t.get(i + 7).is_some_and(|s| s == "mod")
            && t.get(i + 9).is_some_and(|s| s == "{");
        if !is_test_mod {
            out.push(t[i].clone());
            i += 1;
            continue;
        }
        let mut depth = 0;
        i += 9;
        while i < t.len() {
            match t[i].as_str() {
                "{" => depth += 1,
                "}" => depth -= 1,
                _ => {}
            }
            i += 1;
            if depth == 0 {
                break;
            }
        }
    }
    out
}

/// The first name of each item of the `use` group opening at `t[open]` (`{a, b::c, d::{e}}`
/// → a, b, d).
fn group_heads(t: &[String], open: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    for tok in &t[open..] {
        match tok.as_str() {
            "{" => {
                depth += 1;
                expect_head = depth == 1;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            "," if depth == 1 => expect_head = true,
            name if expect_head && depth == 1 && is_ident(name) => {
                if name != "self" {
                    out.push(name.to_string());
                }
                expect_head = false;
            }
            _ => {}
        }
    }
    out
}

fn read_crate(name: &str, root: &str) -> Option<Crate> {
    let src = workspace().join(name).join("src");
    let root_text = fs::read_to_string(src.join(root)).ok()?;
    let (modules, aliases) = root_declarations(&root_text);
    if modules.is_empty() {
        return None;
    }
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for m in &modules {
        let files = module_files(&src, m);
        assert!(!files.is_empty(), "{name}/src/{root} declares `mod {m};` but no file holds it");
        for (file, at) in files {
            let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for target in named_modules(&code_only(&text), &at) {
                let target = aliases.get(&target).cloned().unwrap_or(target);
                if &target != m && modules.contains(&target) {
                    let shown = file.strip_prefix(workspace()).unwrap_or(&file).display().to_string();
                    uses.entry(m.clone()).or_default().entry(target).or_insert(shown);
                }
            }
        }
    }
    Some(Crate { name: format!("{name} ({root})"), modules, uses })
}

/// A cycle among the crate's modules, as `a → b → … → a`, if there is one.
fn find_cycle(c: &Crate) -> Option<Vec<String>> {
    fn visit(c: &Crate, m: &str, path: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == m) {
            let mut cycle = path[start..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in c.uses.get(m).into_iter().flat_map(|u| u.keys()) {
            if let Some(cycle) = visit(c, next, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    c.modules.iter().find_map(|m| visit(c, m, &mut Vec::new(), &mut done))
}

fn crates() -> Vec<Crate> {
    let mut out = Vec::new();
    for name in ["common", "filter", "broker", "gateway"] {
        for root in ["lib.rs", "main.rs"] {
            out.extend(read_crate(name, root));
        }
    }
    out
}

// ---- the checks -----------------------------------------------------------------------------

#[test]
fn no_crate_has_a_module_cycle() {
    let all = crates();
    assert!(all.iter().any(|c| c.name.starts_with("broker")), "the broker's modules were not found");
    let mut failures = Vec::new();
    for c in &all {
        if let Some(cycle) = find_cycle(c) {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("  {} → {}   (e.g. in {})", w[0], w[1], c.uses[&w[0]][&w[1]]))
                .collect();
            failures.push(format!("{}: {}\n{}", c.name, cycle.join(" → "), steps.join("\n")));
        }
    }
    assert!(failures.is_empty(), "module cycles:\n{}", failures.join("\n\n"));
}

#[test]
fn the_broker_keeps_its_layer_order() {
    let broker = read_crate("broker", "lib.rs").expect("broker/src/lib.rs");
    let rank: BTreeMap<&str, usize> = BROKER_LAYERS.iter().enumerate().flat_map(|(r, (_, ms))| ms.iter().map(move |m| (*m, r))).collect();
    let unplaced: Vec<&String> = broker.modules.iter().filter(|m| !rank.contains_key(m.as_str())).collect();
    assert!(unplaced.is_empty(), "broker modules in no layer (add them to BROKER_LAYERS): {unplaced:?}");
    let mut upward = Vec::new();
    for (from, targets) in &broker.uses {
        for (to, place) in targets {
            let (rf, rt) = (rank[from.as_str()], rank[to.as_str()]);
            if rt < rf {
                upward.push(format!("  {from} ({}) uses {to} ({}), in {place}", BROKER_LAYERS[rf].0, BROKER_LAYERS[rt].0));
            }
        }
    }
    let order: Vec<String> = BROKER_LAYERS.iter().map(|(l, ms)| format!("{l} [{}]", ms.join(", "))).collect();
    assert!(upward.is_empty(), "a layer may use only layers below it ({}):\n{}", order.join(" → "), upward.join("\n"));
}

/// The broker's files outside `under` (paths relative to `broker/src`) whose code matches
/// `hit`.
fn broker_files_outside(under: &[&str], hit: impl Fn(&[String]) -> bool) -> Vec<String> {
    let src = workspace().join("broker/src");
    let mut found = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("broker/src").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            if !rel.ends_with(".rs") || under.iter().any(|u| rel.starts_with(u)) {
                continue;
            }
            if hit(&tokens(&code_only(&fs::read_to_string(&p).unwrap_or_default()))) {
                found.push(rel);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn only_the_client_calls_backends() {
    // `App::http` (the reqwest client) is reached as `<app>.http.<verb>(…)`.
    let callers = broker_files_outside(&["client/"], |t| t.windows(3).any(|w| w[0] == "." && w[1] == "http" && w[2] == "."));
    assert!(callers.is_empty(), "backends are called through `client::` alone, but these call `App::http`: {callers:?}");
}

#[test]
fn only_the_surface_speaks_axum() {
    // The handlers answer a `handlers::Reply`; the surface (and the crate root, which serves
    // it) writes HTTP.
    let speakers = broker_files_outside(&["http/", "lib.rs", "main.rs"], |t| t.iter().any(|s| s == "axum"));
    assert!(speakers.is_empty(), "only `http::` uses axum, but these do too: {speakers:?}");
}

#[test]
fn the_reader_sees_what_it_should() {
    // The scanner itself: comments and literals are not code, groups and `super` resolve.
    let code = code_only("use crate::{a, b::c, d::{e, f}};\n// crate::g\nlet s = \"crate::h\"; let r = r#\"crate::i\"#; let c = '\"'; x::<'static>(crate::j::k());");
    let at = vec!["m".to_string(), "n".to_string()];
    assert_eq!(named_modules(&code, &at), ["a", "b", "d", "j"]);
    assert_eq!(named_modules(&code_only("use super::super::z;"), &at), ["z"]);
    assert_eq!(named_modules(&code_only("use super::y;"), &at), ["m"]);
    let tested = "fn f() { crate::a::b(); }\n#[cfg(test)]\nmod tests { use crate::c::D; fn g() { crate::e(); } }\nuse crate::f;";
    assert_eq!(named_modules(&code_only(tested), &[]), ["a", "f"]);
    let (modules, aliases) = root_declarations("pub mod state;\nmod http;\npub use state::app;\npub use state::App as Shared;\nfn run() {}");
    assert_eq!(modules.into_iter().collect::<Vec<_>>(), ["http", "state"]);
    assert_eq!(aliases.get("app").map(String::as_str), Some("state"));
    assert_eq!(aliases.get("Shared").map(String::as_str), Some("state"));
}
