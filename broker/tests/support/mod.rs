//! Shared test support: real backends (rmcp servers in-process, npm server-everything and
//! Python SDK servers as child processes), the broker binary as a child process, and an
//! official rmcp client.
#![allow(dead_code)]

pub mod backend;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use tokio::process::{Child, Command};

/// The session key of every test broker: the one the workspace's tests share.
pub const KEY: &str = mcpgw_common::test_fixtures::KEY_BASE64;

/// The broker credential for [`KEY`]: what Envoy's broker route adds, and what every test
/// request to the broker's MCP endpoint must carry.
pub fn auth() -> String {
    mcpgw_common::broker_auth::credential(&[KEY]).unwrap()
}

/// An HTTP client that sends the broker credential on every request, as Envoy does.
pub fn http() -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(mcpgw_common::broker_auth::HEADER, auth().parse().unwrap());
    reqwest::Client::builder().default_headers(h).build().unwrap()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `url` until it answers 2xx (bounded: 30 s).
pub async fn wait_http(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} never became ready");
}

/// One server entry of a test config: (name, url, prefix, timeout_ms).
pub fn config_yaml(port: u16, servers: &[(&str, &str, &str, u64)]) -> String {
    let mut s = format!("broker:\n  listen: 127.0.0.1:{port}\nsession:\n  key_file: session.key\n  lifetime_secs: 3600\nlimits:\n  list_cache_ttl_ms: 60000\nservers:\n");
    for (name, url, prefix, timeout) in servers {
        s.push_str(&format!("  - name: {name}\n    url: {url}\n    prefix: \"{prefix}\"\n    timeout_ms: {timeout}\n"));
    }
    s
}

/// The broker binary, running as a child process on a config file in a temp dir.
pub struct Broker {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Broker {
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("gateway.yaml")
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn start(servers: &[(&str, &str, &str, u64)]) -> Broker {
        Self::start_with(servers, |yaml| yaml).await
    }

    /// [`Broker::start`] with the generated config edited by `edit` first.
    pub async fn start_with(servers: &[(&str, &str, &str, u64)], edit: impl FnOnce(String) -> String) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("session.key"), KEY).unwrap();
        let port = free_port();
        std::fs::write(dir.path().join("gateway.yaml"), edit(config_yaml(port, servers))).unwrap();
        let mut b = Broker { dir, port, child: None };
        b.spawn().await;
        b
    }

    pub async fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_mcpgw-broker"))
            .arg("--config")
            .arg(self.config_path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_http(&format!("{}/healthz", self.base())).await;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().and_then(|c| c.id()).unwrap()
    }

    /// Resident memory of the broker process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap().trim().trim_end_matches(" kB").trim().parse().unwrap()
    }

    /// SIGKILL: nothing is flushed, no state survives but the token the client holds.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.unwrap();
        }
    }

    pub fn write_config(&self, yaml: &str) {
        // Write then rename, so the watcher never reads half a file.
        let tmp = self.dir.path().join("gateway.yaml.tmp");
        std::fs::write(&tmp, yaml).unwrap();
        std::fs::rename(tmp, self.config_path()).unwrap();
    }

    pub async fn status(&self) -> serde_json::Value {
        http().get(format!("{}/status", self.base())).send().await.unwrap().json().await.unwrap()
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base())).await.unwrap().text().await.unwrap()
    }

    /// Waits (bounded) until `n` client notification streams are open at the broker.
    pub async fn wait_streams_open(&self, n: u64) {
        for _ in 0..100 {
            if self.metrics().await.contains(&format!("mcpgw_broker_streams_open {n}\n")) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{n} notification streams never opened");
    }

    /// Waits (bounded) until `/status` reports config generation `g`.
    pub async fn wait_generation(&self, g: u64) {
        for _ in 0..100 {
            if self.status().await["config"]["generation"] == g {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("config generation {g} never came");
    }
}

/// The rmcp client transport, sending the broker credential as Envoy would.
pub fn transport(url: &str) -> StreamableHttpClientTransport<reqwest::Client> {
    StreamableHttpClientTransport::with_client(http(), StreamableHttpClientTransportConfig::with_uri(url.to_string()))
}

/// A connected official rmcp client (session protocol).
pub async fn client(url: &str) -> RunningService<RoleClient, ()> {
    ().serve(transport(url)).await.unwrap()
}

pub async fn tool_names(c: &rmcp::Peer<RoleClient>) -> Vec<String> {
    let mut names: Vec<String> = c.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}

/// A client that reports `notifications/tools/list_changed` on a channel.
#[derive(Clone)]
pub struct Watch(pub tokio::sync::mpsc::UnboundedSender<&'static str>);

impl rmcp::ClientHandler for Watch {
    async fn on_tool_list_changed(&self, _ctx: rmcp::service::NotificationContext<RoleClient>) {
        let _ = self.0.send("tools/list_changed");
    }
}

pub async fn watching_client(url: &str) -> (RunningService<RoleClient, Watch>, tokio::sync::mpsc::UnboundedReceiver<&'static str>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let c = Watch(tx).serve(transport(url)).await.unwrap();
    (c, rx)
}

/// Waits (bounded: 20 s) for the next event on a watch channel.
pub async fn next_event(rx: &mut tokio::sync::mpsc::UnboundedReceiver<&'static str>) -> &'static str {
    tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.expect("no notification arrived").unwrap()
}

/// npm server-everything (session protocol only), bound to 127.0.0.1.
pub struct Everything {
    pub url: String,
    child: Child,
}

/// Starts an MCP server process that serves `http://127.0.0.1:<port>/mcp` and waits until it
/// answers HTTP at all (a GET without a session is refused with a 4xx: that counts as up).
/// `None` when it cannot be spawned; killed when the returned child is dropped.
async fn spawn_mcp_child(mut cmd: Command, port: u16, what: &str) -> Option<(String, Child)> {
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true).spawn().ok()?;
    let url = format!("http://127.0.0.1:{port}/mcp");
    for _ in 0..300 {
        if reqwest::get(&url).await.is_ok() {
            return Some((url, child));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not start");
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

impl Everything {
    pub async fn start() -> Option<Everything> {
        let dist = repo_root().join("tests/node/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
        if !dist.exists() {
            eprintln!("SKIP: {} is missing (run the project's setup)", dist.display());
            return None;
        }
        let port = free_port();
        let preload = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/loopback.cjs");
        let mut cmd = Command::new("node");
        cmd.arg("--require").arg(preload).arg(dist).arg("streamableHttp").env("PORT", port.to_string());
        let (url, child) = spawn_mcp_child(cmd, port, "server-everything").await?;
        Some(Everything { url, child })
    }
}

impl Drop for Everything {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A raw JSON-RPC POST (for what the SDK clients do not expose: headers, `_meta`, errors).
/// Returns status, the `mcp-session-id` answered, and the JSON-RPC message (the response
/// event when the answer is SSE).
pub async fn rpc(url: &str, session: Option<&str>, headers: &[(&str, &str)], body: serde_json::Value) -> (u16, Option<String>, serde_json::Value) {
    rpc_with(&http(), url, session, headers, body).await
}

/// [`rpc`] with a given client (for example one without the broker credential).
pub async fn rpc_with(client: &reqwest::Client, url: &str, session: Option<&str>, headers: &[(&str, &str)], body: serde_json::Value) -> (u16, Option<String>, serde_json::Value) {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.body(body.to_string()).send().await.unwrap();
    let status = resp.status().as_u16();
    let sid = resp.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_string());
    let sse = resp.headers().get("content-type").is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
    let text = resp.text().await.unwrap();
    let msg = if sse {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
            .find(|m| m.get("result").is_some() || m.get("error").is_some())
            .unwrap_or(serde_json::Value::Null)
    } else if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    (status, sid, msg)
}

/// Session-protocol `initialize` by hand; returns the gateway token.
pub async fn raw_initialize(url: &str) -> String {
    let (status, sid, msg) = rpc(url, None, &[], serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})).await;
    assert_eq!(status, 200, "{msg}");
    sid.expect("a session id")
}

/// Headers of a 2026-07-28 request.
pub fn modern_headers<'a>(method: &'a str, name: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![("mcp-protocol-version", "2026-07-28"), ("mcp-method", method)];
    if let Some(n) = name {
        h.push(("mcp-name", n));
    }
    h
}

pub fn modern_meta() -> serde_json::Value {
    serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// The conformance suite's fixture backend (tests/conformance/fixture_server.py): an official
/// Python SDK server that speaks both eras, validates `Mcp-Param-*` headers, and keeps an
/// SSE event store (its `test_reconnection` tool closes its stream mid-call).
pub struct Fixture {
    pub url: String,
    child: Child,
}

impl Fixture {
    pub async fn start() -> Option<Fixture> {
        let python = repo_root().join(".venv/bin/python");
        let script = repo_root().join("tests/conformance/fixture_server.py");
        if !python.exists() || !script.exists() {
            eprintln!("SKIP: {} or {} is missing (run the project's setup)", python.display(), script.display());
            return None;
        }
        let port = free_port();
        let mut cmd = Command::new(python);
        cmd.arg(script).arg(port.to_string());
        let (url, child) = spawn_mcp_child(cmd, port, "the conformance fixture").await?;
        Some(Fixture { url, child })
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Sends a routed `call` in session `token` and returns the backend session the broker used
/// for it, as it tells the filter (`x-mcp-backend-session: <server> <id>`).
pub async fn taught_backend_session(url: &str, token: &str, call: serde_json::Value) -> (String, String) {
    let resp = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", token)
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    let v = resp.headers().get(mcpgw_common::backend_session::HEADER).expect("the broker teaches the backend session").to_str().unwrap().to_string();
    let _ = resp.text().await;
    mcpgw_common::backend_session::decode(&v).into_iter().next().unwrap()
}
