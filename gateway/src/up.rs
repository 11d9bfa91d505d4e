//! `mcp-gateway up`: broker (in-process, the broker library) + Envoy (child process, dynamic
//! LDS/CDS from files) + with the embedded default, the two demo servers (in-process).
//!
//! Hot reload: the broker polls the config file (mtime and size, once a second) and tells `up`
//! of every configuration it installs, secrets resolved (a watch channel); the file is read
//! once per change, by the broker. Here the routes, the filter's configuration and the clusters
//! are re-rendered from it and handed to Envoy by atomically replacing its xDS files ([`apply`]
//! says in which order).
//!
//! Tool hints: the filter never sees `tools/list`, the broker sees every one and learns the
//! hints backends declare on their tools. `up` asks it for them (`GET /tool-hints`) once the
//! gateway is ready and every [`HINTS_POLL`] after; when they changed, the filter's
//! configuration is re-rendered with them and handed to Envoy through ECDS alone, as a reload
//! is (no restart, nothing drained).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use mcpgw_common::gateway::{parse_yaml, CheckedConfig, HostPort, ResolvedConfig};
use mcpgw_common::tool_hints::LearnedHints;

use crate::render::{self, Rendered};
use crate::cli::UpArgs;
use crate::{build_hint, choose_module, repo_roots, DEFAULT_CONFIG, DEFAULT_KEY_ENV};

const START_DEADLINE: Duration = Duration::from_secs(60);
const APPLY_DEADLINE: Duration = Duration::from_secs(5);
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How often the broker is asked for the tool hints it learnt: a hint declared in a list
/// reaches the filter's facts this long after the list at most (plus Envoy's update); until
/// then the tool is published with the defaults, which fail closed.
const HINTS_POLL: Duration = Duration::from_secs(2);

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn signalled() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

const SETUP_HINT: &str = "run `make setup` (scripts/setup.sh installs Envoy 1.40 into .venv), or pass --envoy PATH";

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// `--envoy`, else the project's venv (`.venv/lib/python3.*/site-packages/envoy/_bin/envoy`),
/// else `envoy` on PATH.
pub fn find_envoy(flag: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = flag {
        return if is_executable(p) {
            Ok(p.to_path_buf())
        } else {
            Err(format!("Envoy not found: {} is not an executable file; {SETUP_HINT}", p.display()))
        };
    }
    let mut looked = Vec::new();
    for root in repo_roots() {
        let lib = root.join(".venv/lib");
        let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        pythons.sort();
        pythons.insert(0, lib.join("python3.11"));
        for py in pythons {
            let p = py.join("site-packages/envoy/_bin/envoy");
            if is_executable(&p) {
                return Ok(p);
            }
        }
        looked.push(lib.join("python3.11/site-packages/envoy/_bin/envoy").display().to_string());
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("envoy");
            if is_executable(&p) {
                return Ok(p);
            }
        }
    }
    looked.push("envoy on PATH".into());
    Err(format!("Envoy not found (looked for {}); {SETUP_HINT}", looked.join(", ")))
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Everything `up` needs to (re-)render.
struct Renderer {
    listen: String,
    max_body_bytes: usize,
    /// The native module's folder, for Envoy's `$ENVOY_DYNAMIC_MODULES_SEARCH_PATH`.
    search_dir: Option<PathBuf>,
    opts: render::Options,
}

/// The secrets Envoy reads from its environment ([`Rendered::envoy_env`]), with their values.
type EnvoyEnv = Vec<(String, String)>;

impl Renderer {
    /// Renders a resolved config for the running Envoy, and the environment it needs.
    fn render(&self, resolved: &ResolvedConfig) -> Result<(Rendered, CheckedConfig, EnvoyEnv), String> {
        let mut cfg = resolved.checked().clone();
        let mut env = vec![(cfg.config().filter_keys_env(), resolved.session_keys().joined())];
        env.extend(resolved.credentials().iter().map(|c| (c.env.clone(), c.value().to_string())));
        if let Some(dir) = &self.search_dir {
            env.push((render::MODULE_SEARCH_PATH_ENV.to_string(), dir.display().to_string()));
        }
        // Envoy cannot move a listener to another address: the listen address is the start-up one.
        if cfg.config().listen != self.listen {
            tracing::warn!(configured = %cfg.config().listen, kept = %self.listen, "listen changed: it takes effect on the next start");
            cfg.set_listen(self.listen.clone());
        }
        // The body limit is also the listener's buffer limit: changing the listener would make
        // Envoy drain every connection (cutting open streams), so it is the start-up one too.
        if cfg.config().limits.max_body_bytes != self.max_body_bytes {
            tracing::warn!(
                configured = cfg.config().limits.max_body_bytes,
                kept = self.max_body_bytes,
                "limits.max_body_bytes changed: it takes effect on the next start"
            );
            cfg.set_max_body_bytes(self.max_body_bytes)?;
        }
        Ok((render::render(&cfg, &self.opts)?, cfg, env))
    }
}

struct Admin {
    base: String,
    http: reqwest::Client,
}

impl Admin {
    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    }

    async fn counter(&self, name: &str) -> u64 {
        let Some((200, text)) = self.get(&format!("/stats?filter={name}")).await else { return 0 };
        text.lines()
            .filter_map(|l| l.split_once(": "))
            .filter(|(k, _)| *k == name)
            .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
            .next()
            .unwrap_or(0)
    }

    async fn ready(&self) -> bool {
        matches!(self.get("/ready").await, Some((200, t)) if t.trim() == "LIVE")
            && self.counter("listener_manager.total_listeners_active").await >= 1
    }

    /// Waits until Envoy counted one more update (accepted or rejected) of `api`.
    async fn wait_update(&self, api: Api, before: (u64, u64)) -> Result<(), String> {
        let deadline = Instant::now() + APPLY_DEADLINE;
        loop {
            let now = self.updates(api).await;
            if now.1 > before.1 {
                return Err(format!("Envoy rejected the new {} (see its log)", api.0));
            }
            if now.0 > before.0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("Envoy did not pick up the new {} file", api.0));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn updates(&self, api: Api) -> (u64, u64) {
        (self.counter(api.1).await, self.counter(api.2).await)
    }

    /// Writes `v` to `path` and waits until Envoy took it.
    async fn update(&self, api: Api, path: &Path, v: &serde_json::Value) -> Result<(), String> {
        let before = self.updates(api).await;
        render::Files::write(path, v)?;
        self.wait_update(api, before).await
    }
}

/// An xDS API Envoy reads from a file: its name, and its accepted and rejected counters.
#[derive(Debug, Clone, Copy)]
struct Api(&'static str, &'static str, &'static str);

const CDS: Api = Api("clusters (CDS)", "cluster_manager.cds.update_success", "cluster_manager.cds.update_rejected");
const RDS: Api = Api("routes (RDS)", "http.mcp_gateway.rds.mcp_routes.update_success", "http.mcp_gateway.rds.mcp_routes.update_rejected");
const ECDS: Api = Api(
    "filter configuration (ECDS)",
    "extension_config_discovery.http_filter.mcp_gateway.config_reload",
    "extension_config_discovery.http_filter.mcp_gateway.config_fail",
);

/// Hands a new rendering to the running Envoy without a restart and without touching the
/// listener (which would drain its connections): clusters, routes and the filter's
/// configuration change under it. The order keeps every request routable: new clusters
/// (with the old ones), routes for old and new servers, the filter's new configuration, then
/// routes and clusters of the removed servers go.
async fn apply(admin: &Admin, files: &render::Files, old: &Rendered, new: &Rendered) -> Result<(), String> {
    admin.update(CDS, &files.cds, &new.cds_union(old)).await?;
    admin.update(RDS, &files.rds, &new.rds_union(old)).await?;
    if new.ecds() != old.ecds() {
        admin.update(ECDS, &files.ecds, &new.ecds()).await?;
    }
    admin.update(RDS, &files.rds, &new.rds()).await?;
    admin.update(CDS, &files.cds, &new.cds()).await
}

/// The tool hints the broker learnt (`None` when it could not be asked: try again later).
async fn learnt_hints(http: &reqwest::Client, broker: &str, resolved: &ResolvedConfig) -> Option<LearnedHints> {
    let credential = mcpgw_common::broker_auth::credential(resolved.session_keys().texts()).ok()?;
    let r = http.get(format!("http://{broker}/tool-hints")).header(mcpgw_common::broker_auth::HEADER, credential).send().await.ok()?;
    if !r.status().is_success() {
        tracing::warn!(status = %r.status(), "the broker did not hand over the tool hints");
        return None;
    }
    r.json().await.ok()
}

fn spawn_envoy(envoy: &Path, bootstrap: &Path, log: &Path, admin_port: u16, env: &EnvoyEnv) -> Result<Child, String> {
    let out = std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let base_id = 1000 + (std::process::id() as u64 * 7 + u64::from(admin_port)) % 60000;
    let mut cmd = Command::new(envoy);
    cmd.arg("-c")
        .arg(bootstrap)
        .args(["--concurrency", "2", "--disable-hot-restart", "--base-id", &base_id.to_string()])
        // Listener updates drain old connections; keep that short for a local gateway.
        .args(["--drain-time-s", "5", "--log-level", "info"])
        // Session keys and credentials: Envoy's config names these variables, never the values.
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        // Its own process group: a terminal's Ctrl-C reaches `up`, which stops Envoy itself.
        .process_group(0)
        .kill_on_drop(true);
    // If `up` dies without cleaning up (SIGKILL), the kernel stops Envoy too.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| format!("cannot start Envoy {}: {e}", envoy.display()))
}

async fn stop_envoy(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Some(pid) = child.id() {
        unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

pub async fn run(a: UpArgs, generated_key: bool) -> i32 {
    let stop_demos = CancellationToken::new();
    let rundir = std::env::temp_dir().join(format!("mcp-gateway-{}", std::process::id()));
    let code = match run_inner(a, generated_key, &rundir, &stop_demos).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mcp-gateway up: {e}");
            1
        }
    };
    stop_demos.cancel();
    let _ = std::fs::remove_dir_all(&rundir);
    code
}

async fn run_inner(up: UpArgs, generated_key: bool, rundir: &Path, stop_demos: &CancellationToken) -> Result<(), String> {
    let envoy = find_envoy(up.envoy.as_deref())?;
    let a = &up.gateway;
    std::fs::create_dir_all(rundir).map_err(|e| format!("cannot create {}: {e}", rundir.display()))?;
    // The run folder holds logs and the rendered files (no secrets: those reach Envoy through
    // its environment): owner only all the same.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(rundir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {}: {e}", rundir.display()))?;
    }

    // The gateway config: the user's file, or the embedded default with its demo servers.
    let mut demo_urls = Vec::new();
    let (path, first) = match &a.config {
        Some(p) => {
            let path = p.canonicalize().map_err(|e| format!("--config {}: {e}", p.display()))?;
            let first = ResolvedConfig::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            (Some(path), first)
        }
        None => {
            let mut cfg = parse_yaml(DEFAULT_CONFIG).map_err(|e| format!("embedded default: {e}"))?;
            if let Some(l) = &a.listen {
                cfg.listen = l.clone();
            }
            cfg.broker.listen = format!("127.0.0.1:{}", free_port()?);
            for s in &mut cfg.servers {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|e| format!("cannot listen for a demo server: {e}"))?;
                s.url = crate::demo::url(l.local_addr().map_err(|e| format!("demo server {}: {e}", s.name))?);
                demo_urls.push(format!("{} {}", s.name, s.url));
                let (name, stop) = (s.name.clone(), stop_demos.clone());
                tokio::spawn(async move {
                    if let Err(e) = crate::demo::serve(&name, l, stop).await {
                        tracing::error!(server = %name, error = %e, "demo server stopped");
                    }
                });
            }
            let first = CheckedConfig::new(cfg, None).and_then(CheckedConfig::resolve).map_err(|e| format!("embedded default: {e}"))?;
            (None, first)
        }
    };
    // What error messages and log lines call the config.
    let origin = path.as_ref().map_or_else(|| "embedded default".to_string(), |p| p.display().to_string());
    let listen = a.listen.clone().unwrap_or_else(|| first.config().listen.clone());
    std::net::TcpListener::bind(&listen)
        .map_err(|e| format!("cannot listen on {listen} ({e}): pick another address with --listen HOST:PORT"))?;
    let admin_addr = match &a.admin {
        Some(ad) => ad.clone(),
        None => format!("127.0.0.1:{}", free_port()?),
    };
    let admin_port = HostPort::parse(&admin_addr).ok().and_then(|a| a.port).unwrap_or(0);
    let access_log = match a.access_log.as_deref() {
        Some("none") => None,
        Some(p) => Some(p.to_string()),
        None => Some(rundir.join("access.log").display().to_string()),
    };
    // The filter build is chosen at start (a change of `filter` takes effect on the next start).
    let (module, search_dir, exists, shown) = choose_module(a, first.config().filter);
    if !exists {
        return Err(format!("the filter module {shown} is missing: build it with {}", build_hint(&module)));
    }
    // Envoy runs in another folder: absolute paths.
    let absolute = |p: PathBuf| p.canonicalize().unwrap_or(p);
    let module = match module {
        render::Module::Wasm(path) => render::Module::Wasm(absolute(PathBuf::from(path)).display().to_string()),
        native => native,
    };
    let search_dir = search_dir.map(absolute);
    let mut renderer = Renderer {
        listen: listen.clone(),
        max_body_bytes: first.config().limits.max_body_bytes,
        search_dir,
        opts: render::Options { module, admin: admin_addr.clone(), access_log, ..Default::default() },
    };
    let (mut current, cfg, mut envoy_env) = renderer.render(&first).map_err(|e| format!("{origin}: {e}"))?;
    let xds = rundir.join("envoy");
    let files = render::write_dynamic(&current, &xds)?;

    // The broker, in-process.
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let (stop_broker, broker_stopped) = tokio::sync::oneshot::channel::<()>();
    // The broker watches the file (if there is one) and hands each configuration it installs
    // to this task.
    let (reloads, mut reloaded) = tokio::sync::watch::channel(Arc::new(first.clone()));
    let start = mcpgw_broker::Start { config_path: path.clone(), bound: Some(bound_tx), reloads: Some(reloads), ..Default::default() };
    let broker = tokio::spawn(mcpgw_broker::run(first, start, async move {
        let _ = broker_stopped.await;
    }));
    let broker_addr = match bound_rx.await {
        Ok(addr) => addr,
        Err(_) => {
            let e = broker.await.map_err(|e| e.to_string()).and_then(|r| r).err().unwrap_or_default();
            return Err(format!("the broker did not start: {e}"));
        }
    };

    let envoy_log = rundir.join("envoy.log");
    let mut child = spawn_envoy(&envoy, &files.bootstrap, &envoy_log, admin_port, &envoy_env)?;
    let admin = Admin {
        base: format!("http://{admin_addr}"),
        http: reqwest::Client::builder().timeout(Duration::from_secs(2)).build().map_err(|e| e.to_string())?,
    };
    let broker_ready = format!("http://{broker_addr}/readyz");
    let deadline = Instant::now() + START_DEADLINE;
    let signal = signalled();
    tokio::pin!(signal);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let _ = stop_broker.send(());
            return Err(format!("Envoy exited during start-up ({status}); its log ends with:\n{}", log_tail(&envoy_log, 30)));
        }
        let broker_ok = matches!(admin.http.get(&broker_ready).send().await, Ok(r) if r.status().is_success());
        if broker_ok && admin.ready().await {
            break;
        }
        if Instant::now() > deadline {
            stop_envoy(&mut child).await;
            return Err(format!(
                "not healthy after {}s (broker ready: {broker_ok}); Envoy's log ends with:\n{}",
                START_DEADLINE.as_secs(),
                log_tail(&envoy_log, 30)
            ));
        }
        tokio::select! {
            _ = &mut signal => { stop_envoy(&mut child).await; return Ok(()); }
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }

    let url = format!("http://{listen}{}", cfg.config().mcp_path);
    let mut banner = format!("\nMCP gateway ready: {url}\n");
    if path.is_none() {
        banner.push_str("  config: embedded default (two bundled demo servers whose tools clash: echo, add, now)\n");
        for d in &demo_urls {
            banner.push_str(&format!("    {d}\n"));
        }
    } else {
        banner.push_str(&format!("  config: {origin} (changes are applied while running)\n"));
    }
    for s in cfg.config().enabled_servers() {
        banner.push_str(&format!("  server {:<12} prefix {:<12} {}\n", s.name, format!("{:?}", s.prefix), s.url));
    }
    if generated_key {
        banner.push_str(&format!(
            "  session key: generated for this run ({DEFAULT_KEY_ENV} is not set); sessions end with this process\n"
        ));
    }
    banner.push_str(&format!(
        "  broker http://{broker_addr}   envoy admin http://{admin_addr} (pid {})   logs {}\n",
        child.id().unwrap_or(0),
        rundir.display()
    ));
    banner.push_str(&format!("  try: npx --prefix tests/node mcp-inspector --cli {url} --transport http --method tools/list\n"));
    banner.push_str("  Ctrl-C stops the gateway.\n");
    println!("{banner}");

    // The configuration `current` was rendered from (a reload not applied yet must not reach
    // Envoy through the hints' ECDS-only update).
    let mut current_config = reloaded.borrow().clone();
    let mut hints_poll = tokio::time::interval(HINTS_POLL);
    hints_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let outcome = loop {
        tokio::select! {
            _ = &mut signal => break Ok(()),
            status = child.wait() => {
                break Err(format!("Envoy exited ({}); its log ends with:\n{}",
                    status.map(|s| s.to_string()).unwrap_or_default(), log_tail(&envoy_log, 30)));
            }
            changed = reloaded.changed() => {
                if changed.is_err() {
                    break Err("the broker stopped".to_string());
                }
                let next_config = reloaded.borrow_and_update().clone();
                match renderer.render(&next_config) {
                    // Session keys and credentials reach Envoy through its environment, which
                    // is fixed when it starts: a new or changed value restarts Envoy (open
                    // streams end); every other change (a server or credential removed, the
                    // order of servers) is applied live.
                    Ok((next, _, next_env)) if next_env.iter().any(|pair| !envoy_env.contains(pair)) => {
                        tracing::warn!("session keys or backend credentials changed: restarting Envoy (open streams end)");
                        stop_envoy(&mut child).await;
                        let started = render::write_dynamic(&next, &xds)
                            .and_then(|f| spawn_envoy(&envoy, &f.bootstrap, &envoy_log, admin_port, &next_env));
                        match started {
                            Ok(c) => {
                                child = c;
                                envoy_env = next_env;
                                current = next;
                                current_config = next_config;
                            }
                            Err(e) => break Err(format!("cannot restart Envoy: {e}")),
                        }
                    }
                    Ok((next, _, _)) => match apply(&admin, &files, &current, &next).await {
                        // identity.jwt's filters are in the listener, which is kept (changing it
                        // would drain every connection): say so rather than pretend.
                        Ok(()) if next.fixed_http_filters() != current.fixed_http_filters() => {
                            tracing::warn!(config = %origin, "identity.jwt changed: it takes effect on the next start (the rest is applied)");
                            current = next;
                        }
                        Ok(()) => {
                            tracing::info!(config = %origin, "Envoy configuration updated (no restart)");
                            current = next;
                            current_config = next_config;
                        }
                        Err(e) => tracing::error!(error = %e, "Envoy configuration update failed"),
                    },
                    // The broker took it, but it cannot be rendered for Envoy (a server named
                    // "broker", say): Envoy keeps the last good one.
                    Err(e) => tracing::error!(config = %origin, error = %e, "configuration not applied to Envoy; it keeps the last good one"),
                }
            }
            _ = hints_poll.tick() => {
                let Some(learnt) = learnt_hints(&admin.http, &broker_addr.to_string(), &current_config).await else { continue };
                if learnt == renderer.opts.tool_hints {
                    continue;
                }
                // Kept even if Envoy refuses them: asked again only when they change.
                renderer.opts.tool_hints = learnt;
                match renderer.render(&current_config) {
                    Ok((next, _, _)) if next.ecds() != current.ecds() => match admin.update(ECDS, &files.ecds, &next.ecds()).await {
                        Ok(()) => {
                            tracing::info!("tool hints learnt by the broker handed to the filter (no restart)");
                            current = next;
                        }
                        Err(e) => tracing::error!(error = %e, "tool hints not applied to Envoy"),
                    },
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "tool hints not rendered"),
                }
            }
        }
    };
    eprintln!("mcp-gateway: stopping");
    stop_envoy(&mut child).await;
    let _ = stop_broker.send(());
    // Graceful shutdown waits for open client streams; do not wait for them forever.
    let _ = tokio::time::timeout(Duration::from_secs(3), broker).await;
    outcome
}
