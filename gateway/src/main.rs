//! `mcp-gateway`: the MCP gateway as one command.
//!
//! ```text
//! mcp-gateway up     [--config FILE] [--envoy PATH] [--wasm PATH] [--listen ADDR] [--admin ADDR]
//! mcp-gateway render [--config FILE] [--out DIR] [--wasm PATH] [--listen ADDR] [--admin ADDR]
//!                    [--access-log PATH|none] [--http-filters FILE] [--default-upstream HOST:PORT]
//! mcp-gateway demo-server --name NAME --port PORT
//! ```

mod demo;
mod render;
mod up;

use std::path::{Path, PathBuf};

use mcpgw_common::gateway::CheckedConfig;

pub const USAGE: &str = "\
usage:
  mcp-gateway up [--config FILE] [--envoy PATH] [--wasm PATH] [--listen HOST:PORT] [--admin HOST:PORT]
      Start the broker and Envoy for the gateway config (default: an embedded demo with two
      bundled MCP servers), wait until both are healthy, print the endpoint. Changes to the
      config file are applied while running. Ctrl-C stops everything.
  mcp-gateway render [--config FILE] [--out DIR] [--wasm PATH] [--listen HOST:PORT] [--admin HOST:PORT]
                     [--access-log PATH|none] [--http-filters FILE] [--default-upstream HOST:PORT]
      Print the Envoy bootstrap (static) for the gateway config, or with --out write the dynamic
      set (envoy.yaml + lds.yaml + cds.yaml) that `up` runs. Starts nothing.
  mcp-gateway demo-server --name NAME [--port PORT]
      Run one bundled demo MCP server (tools echo, add, now) on 127.0.0.1:PORT/mcp.

  RUST_LOG sets the log filter (default info).";

fn usage_exit(msg: &str) -> ! {
    if !msg.is_empty() {
        eprintln!("mcp-gateway: {msg}\n");
    }
    eprintln!("{USAGE}");
    std::process::exit(2)
}

/// Flags common to `up` and `render`.
#[derive(Debug, Default)]
pub struct Args {
    pub config: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub envoy: Option<PathBuf>,
    pub wasm: Option<PathBuf>,
    pub listen: Option<String>,
    pub admin: Option<String>,
    pub access_log: Option<String>,
    pub http_filters: Option<PathBuf>,
    pub default_upstream: Option<String>,
    pub name: Option<String>,
    pub port: Option<u16>,
}

fn parse_args(cmd: &str, rest: impl Iterator<Item = String>) -> Args {
    let mut a = Args::default();
    let mut it = rest.peekable();
    while let Some(flag) = it.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        if flag == "-h" || flag == "--help" {
            eprintln!("{USAGE}");
            std::process::exit(0);
        }
        let mut value = || inline.clone().or_else(|| it.next()).unwrap_or_else(|| usage_exit(&format!("{flag} needs a value")));
        let allowed: &[&str] = match cmd {
            "up" => &["--config", "--envoy", "--wasm", "--listen", "--admin", "--access-log"],
            "render" => &["--config", "--out", "--wasm", "--listen", "--admin", "--access-log", "--http-filters", "--default-upstream"],
            _ => &["--name", "--port"],
        };
        if !allowed.contains(&flag.as_str()) {
            usage_exit(&format!("unknown option {flag} for {cmd}"));
        }
        match flag.as_str() {
            "--config" => a.config = Some(value().into()),
            "--out" => a.out = Some(value().into()),
            "--envoy" => a.envoy = Some(value().into()),
            "--wasm" => a.wasm = Some(value().into()),
            "--listen" => a.listen = Some(value()),
            "--admin" => a.admin = Some(value()),
            "--access-log" => a.access_log = Some(value()),
            "--http-filters" => a.http_filters = Some(value().into()),
            "--default-upstream" => a.default_upstream = Some(value()),
            "--name" => a.name = Some(value()),
            "--port" => a.port = Some(value().parse().unwrap_or_else(|_| usage_exit("--port needs a number"))),
            _ => unreachable!(),
        }
    }
    a
}

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

fn cmd_render(a: Args) -> Result<(), String> {
    let mut cfg = match &a.config {
        Some(p) => CheckedConfig::read(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => CheckedConfig::from_yaml(DEFAULT_CONFIG, None).map_err(|e| format!("embedded default: {e}"))?,
    };
    if let Some(l) = &a.listen {
        cfg.set_listen(l.clone());
    }
    let (wasm, exists) = find_wasm(a.wasm.as_deref());
    if !exists {
        eprintln!("mcp-gateway: note: the filter module {} does not exist yet (make wasm)", wasm.display());
    }
    let mut opts = render::Options { wasm_path: wasm.display().to_string(), ..Default::default() };
    if let Some(ad) = a.admin {
        opts.admin = ad;
    }
    match a.access_log.as_deref() {
        Some("none") => opts.access_log = None,
        Some(p) => opts.access_log = Some(p.to_string()),
        None => {}
    }
    if let Some(f) = &a.http_filters {
        let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let v: serde_json::Value = serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        opts.extra_http_filters = match v {
            serde_json::Value::Array(v) => v,
            serde_json::Value::Null => Vec::new(),
            other => vec![other],
        };
    }
    opts.default_upstream = a.default_upstream.clone();
    let r = render::render(&cfg, &opts)?;
    // Secrets are not rendered: Envoy reads them from its environment.
    let env_note = format!("# Envoy's environment must hold: {} (secrets are never written into its config).\n", r.envoy_env.join(", "));
    match &a.out {
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

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else { usage_exit("") };
    match cmd.as_str() {
        "render" => {
            if let Err(e) = cmd_render(parse_args("render", args)) {
                eprintln!("mcp-gateway render: {e}");
                std::process::exit(1);
            }
        }
        "up" => {
            let a = parse_args("up", args);
            // Decided before any thread exists: the embedded default's session key is put in
            // the environment, where the broker (in-process) reads it like any key_env.
            let generated = a.config.is_none() && std::env::var_os(DEFAULT_KEY_ENV).is_none();
            if generated {
                std::env::set_var(DEFAULT_KEY_ENV, random_key());
            }
            init_tracing();
            let code = runtime().block_on(up::run(a, generated));
            std::process::exit(code);
        }
        "demo-server" => {
            let a = parse_args("demo-server", args);
            let name = a.name.unwrap_or_else(|| usage_exit("--name is required"));
            let port = a.port.unwrap_or(0);
            init_tracing();
            let code = runtime().block_on(async move {
                let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("mcp-gateway demo-server: cannot listen on 127.0.0.1:{port}: {e}");
                        return 1;
                    }
                };
                if let Ok(addr) = listener.local_addr() {
                    println!("demo server {name}: http://{addr}/mcp");
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
            });
            std::process::exit(code);
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
        }
        other => usage_exit(&format!("unknown command {other:?}")),
    }
}
