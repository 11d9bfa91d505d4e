//! `mcp-gateway`: the MCP gateway as one command.
//!
//! ```text
//! mcp-gateway up     [--config FILE] [--envoy PATH] [--filter native|wasm] [--wasm PATH] [--module-dir DIR] [--listen ADDR] [--admin ADDR]
//!                    [--access-log PATH|none]
//! mcp-gateway render [--config FILE] [--out DIR] [--filter native|wasm] [--wasm PATH] [--module-dir DIR] [--listen ADDR] [--admin ADDR]
//!                    [--access-log PATH|none] [--http-filters FILE] [--default-upstream HOST:PORT]
//! mcp-gateway demo-server --name NAME [--port PORT]
//! ```
//!
//! The command line is declared in `cli.rs` (clap); this file dispatches on it.

mod cli;
mod demo;
mod identity;
mod render;
mod up;

use std::path::{Path, PathBuf};

use clap::Parser;
use mcpgw_common::gateway::{CheckedConfig, FilterHost};

use crate::cli::{Cli, Command, DemoArgs, RenderArgs};

/// Folders that may be the project checkout: the current directory and the ones above the
/// executable (`<repo>/target/<profile>/mcp-gateway`).
pub fn repo_roots() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut push = |p: &Path| {
        for dir in p.ancestors().take(5) {
            if dir.join("Cargo.toml").is_file() && dir.join("filter").is_dir() && !out.iter().any(|o: &PathBuf| o == dir) {
                out.push(dir.to_path_buf());
            }
        }
    };
    if let Ok(cwd) = std::env::current_dir() {
        push(&cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            push(dir);
        }
    }
    out
}

pub const WASM_REL: &str = "target/wasm32-wasip1/release/mcpgw_filter.wasm";

/// `--wasm`, else `$MCPGW_WASM`, else the built module in the checkout. The second value is
/// whether the file exists.
pub fn find_wasm(flag: Option<&Path>) -> (PathBuf, bool) {
    if let Some(p) = flag.map(Path::to_path_buf).or_else(|| std::env::var_os("MCPGW_WASM").map(PathBuf::from)) {
        let exists = p.is_file();
        return (p, exists);
    }
    for root in repo_roots() {
        let p = root.join(WASM_REL);
        if p.is_file() {
            return (p, true);
        }
    }
    (PathBuf::from(WASM_REL), false)
}

pub const NATIVE_REL: &str = "target/native";

/// The native module's folder: `--module-dir`, else `$MCPGW_NATIVE_DIR`, else the one built
/// in the checkout (`cargo build --profile native -p mcpgw-native`). The second value is
/// whether the module is there.
pub fn find_native_dir(flag: Option<&Path>) -> (PathBuf, bool) {
    let file = format!("lib{}.so", render::NATIVE_MODULE);
    if let Some(p) = flag.map(Path::to_path_buf).or_else(|| std::env::var_os("MCPGW_NATIVE_DIR").map(PathBuf::from)) {
        let exists = p.join(&file).is_file();
        return (p, exists);
    }
    for root in repo_roots() {
        let p = root.join(NATIVE_REL);
        if p.join(&file).is_file() {
            return (p, true);
        }
    }
    (PathBuf::from(NATIVE_REL), false)
}

/// The filter build `render`/`up` give Envoy: `--filter` (or `$MCPGW_FILTER`), else the
/// config's `filter`. With it, the folder Envoy must find the native module in (`None` for
/// wasm), whether the module file exists, and its path for messages. Paths are as given
/// (`render` prints them; `up` makes them absolute for the Envoy it starts).
pub fn choose_module(a: &cli::GatewayArgs, configured: FilterHost) -> (render::Module, Option<PathBuf>, bool, String) {
    match a.filter.unwrap_or(configured) {
        FilterHost::Wasm => {
            let (wasm, exists) = find_wasm(a.wasm.as_deref());
            let shown = wasm.display().to_string();
            (render::Module::Wasm(shown.clone()), None, exists, shown)
        }
        FilterHost::Native => {
            let (dir, exists) = find_native_dir(a.module_dir.as_deref());
            let shown = dir.join(format!("lib{}.so", render::NATIVE_MODULE)).display().to_string();
            (render::Module::Native, Some(dir), exists, shown)
        }
    }
}

/// How to build the filter `choose_module` picked.
pub fn build_hint(module: &render::Module) -> &'static str {
    match module {
        render::Module::Wasm(_) => "make wasm (cargo build --release -p mcpgw-filter --target wasm32-wasip1)",
        render::Module::Native => "make native (cargo build --profile native -p mcpgw-native)",
    }
}

/// The embedded default config (two bundled demo servers), as `render` shows it; `up` puts
/// the addresses of what it starts in place (typed, after parsing).
pub const DEFAULT_CONFIG: &str = include_str!("default.yaml");

pub const DEFAULT_KEY_ENV: &str = "MCPGW_SESSION_KEY";

pub fn random_key() -> String {
    use base64::Engine;
    let mut k = [0u8; 32];
    if getrandom::fill(&mut k).is_err() {
        eprintln!("mcp-gateway: no random source for a session key");
        std::process::exit(1);
    }
    base64::engine::general_purpose::STANDARD.encode(k)
}

fn cmd_render(args: RenderArgs) -> Result<(), String> {
    let a = &args.gateway;
    let mut cfg = match &a.config {
        Some(p) => CheckedConfig::read(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => CheckedConfig::from_yaml(DEFAULT_CONFIG, None).map_err(|e| format!("embedded default: {e}"))?,
    };
    if let Some(l) = &a.listen {
        cfg.set_listen(l.clone());
    }
    let (module, search_dir, exists, shown) = choose_module(a, cfg.config().filter);
    if !exists {
        eprintln!("mcp-gateway: note: the filter module {shown} does not exist yet ({})", build_hint(&module));
    }
    let mut opts = render::Options { module, ..Default::default() };
    if let Some(ad) = &a.admin {
        opts.admin = ad.clone();
    }
    match a.access_log.as_deref() {
        Some("none") => opts.access_log = None,
        Some(p) => opts.access_log = Some(p.to_string()),
        None => {}
    }
    if let Some(f) = &args.http_filters {
        let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let v: serde_json::Value = serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        opts.extra_http_filters = match v {
            serde_json::Value::Array(v) => v,
            serde_json::Value::Null => Vec::new(),
            other => vec![other],
        };
    }
    opts.default_upstream = args.default_upstream.clone();
    let r = render::render(&cfg, &opts)?;
    // Secrets are not rendered: Envoy reads them from its environment.
    let mut env_note = format!("# Envoy's environment must hold: {} (secrets are never written into its config).\n", r.envoy_env.join(", "));
    if let Some(dir) = &search_dir {
        env_note.push_str(&format!(
            "# The MCP filter is the native module lib{}.so: start Envoy with {}={} (its folder).\n",
            render::NATIVE_MODULE,
            render::MODULE_SEARCH_PATH_ENV,
            dir.display()
        ));
    }
    match &args.out {
        Some(dir) => {
            let files = render::write_dynamic(&r, dir)?;
            let boot = files.bootstrap.display();
            eprintln!("wrote {boot} (+ lds.yaml, cds.yaml, rds.yaml, ecds.yaml): envoy -c {boot}");
            eprint!("{env_note}");
        }
        None => print!("{}{env_note}{}", render::HEADER, render::to_yaml(&r.static_bootstrap())?),
    }
    Ok(())
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcp-gateway: cannot start the async runtime: {e}");
            std::process::exit(1)
        }
    }
}

/// Runs one demo server until Ctrl-C; the exit code.
async fn cmd_demo_server(a: DemoArgs) -> i32 {
    let (name, port) = (a.name, a.port);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mcp-gateway demo-server: cannot listen on 127.0.0.1:{port}: {e}");
            return 1;
        }
    };
    if let Ok(addr) = listener.local_addr() {
        println!("demo server {name}: {}", demo::url(addr));
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        up::signalled().await;
        s.cancel();
    });
    match demo::serve(&name, listener, stop).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mcp-gateway demo-server: {e}");
            1
        }
    }
}

fn main() {
    match Cli::parse().command {
        Command::Render(a) => {
            if let Err(e) = cmd_render(a) {
                eprintln!("mcp-gateway render: {e}");
                std::process::exit(1);
            }
        }
        Command::Up(a) => {
            // Decided before any thread exists: the embedded default's session key is put in
            // the environment, where the broker (in-process) reads it like any key_env.
            let generated = a.gateway.config.is_none() && std::env::var_os(DEFAULT_KEY_ENV).is_none();
            if generated {
                std::env::set_var(DEFAULT_KEY_ENV, random_key());
            }
            init_tracing();
            let code = runtime().block_on(up::run(a, generated));
            std::process::exit(code);
        }
        Command::DemoServer(a) => {
            init_tracing();
            let code = runtime().block_on(cmd_demo_server(a));
            std::process::exit(code);
        }
    }
}
