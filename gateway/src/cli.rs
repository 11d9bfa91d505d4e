//! The `mcp-gateway` command line, declared for clap: its subcommands, their flags and the
//! help text. `main.rs` dispatches on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mcpgw_common::gateway::FilterHost;

#[derive(Debug, Parser)]
#[command(
    name = "mcp-gateway",
    about = "The MCP gateway as one command: Envoy with the MCP filter, the broker, and demo servers.",
    arg_required_else_help = true,
    after_help = "RUST_LOG sets the log filter (default info)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: the broker and Envoy (with no --config, two demo servers too).
    ///
    /// Start the broker and Envoy for the gateway config (default: an embedded demo with two
    /// bundled MCP servers), wait until both are healthy, print the endpoint. Changes to the
    /// config file are applied while running. Ctrl-C stops everything.
    Up(UpArgs),
    /// Print or write Envoy's configuration for the gateway config; starts nothing.
    ///
    /// Print the Envoy bootstrap (static) for the gateway config, or with --out write the
    /// dynamic set (envoy.yaml + lds.yaml + cds.yaml + rds.yaml + ecds.yaml) that `up` runs.
    /// Starts nothing.
    Render(RenderArgs),
    /// Run one bundled demo MCP server (tools echo, add, now) on 127.0.0.1:PORT/mcp.
    DemoServer(DemoArgs),
}

/// What `up` and `render` share.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// The gateway config (default: the embedded demo config with two bundled MCP servers).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Which build of the filter Envoy loads: the native dynamic module or the proxy-wasm
    /// module (default: the config's `filter`, native unless it says otherwise).
    #[arg(long, value_name = "native|wasm", env = "MCPGW_FILTER")]
    pub filter: Option<FilterHost>,
    /// The wasm filter (default: $MCPGW_WASM, else the one built in the checkout,
    /// target/wasm32-wasip1/release/mcpgw_filter.wasm).
    #[arg(long, value_name = "PATH")]
    pub wasm: Option<PathBuf>,
    /// The folder holding the native filter, libmcpgw_native.so, which Envoy is told through
    /// $ENVOY_DYNAMIC_MODULES_SEARCH_PATH (default: $MCPGW_NATIVE_DIR, else the one built in
    /// the checkout, target/native).
    #[arg(long, value_name = "DIR")]
    pub module_dir: Option<PathBuf>,
    /// Where Envoy listens (default: the config's `listen`).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Envoy's admin interface (default: a free loopback port for `up`, 127.0.0.1:9901 for
    /// `render`).
    #[arg(long, value_name = "HOST:PORT")]
    pub admin: Option<String>,
    /// Envoy's access log file (JSON lines), or `none` (default: in `up`'s run folder;
    /// /dev/stdout for `render`).
    #[arg(long, value_name = "PATH|none")]
    pub access_log: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// The Envoy binary (default: the project's .venv, then `envoy` on PATH).
    #[arg(long, value_name = "PATH")]
    pub envoy: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// Write the dynamic set into DIR instead of printing the static bootstrap.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// HTTP filters (a YAML list of Envoy HttpFilter objects) placed after the MCP filter,
    /// before the router.
    #[arg(long, value_name = "FILE")]
    pub http_filters: Option<PathBuf>,
    /// Where requests for paths other than the MCP endpoint go (default: a 404 from Envoy).
    #[arg(long, value_name = "HOST:PORT")]
    pub default_upstream: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The server's name, which its answers carry.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The port (default: a free one, printed).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub port: u16,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_are_per_subcommand_as_before() {
        let up = Cli::try_parse_from(["mcp-gateway", "up", "--config=g.yaml", "--envoy", "/e", "--access-log", "none"]).unwrap();
        let Command::Up(a) = up.command else { panic!("not up") };
        assert_eq!(a.gateway.config, Some(PathBuf::from("g.yaml")));
        assert_eq!(a.gateway.access_log.as_deref(), Some("none"));
        assert!(Cli::try_parse_from(["mcp-gateway", "up", "--out", "d"]).is_err());
        assert!(Cli::try_parse_from(["mcp-gateway", "render", "--envoy", "/e"]).is_err());
        let r = Cli::try_parse_from(["mcp-gateway", "render", "--out", "d", "--default-upstream", "127.0.0.1:1"]).unwrap();
        let Command::Render(a) = r.command else { panic!("not render") };
        assert_eq!(a.out, Some(PathBuf::from("d")));
        assert!(Cli::try_parse_from(["mcp-gateway", "demo-server"]).is_err(), "--name is required");
        assert!(Cli::try_parse_from(["mcp-gateway", "demo-server", "--name", "x", "--port", "nope"]).is_err());
        let d = Cli::try_parse_from(["mcp-gateway", "demo-server", "--name", "x"]).unwrap();
        let Command::DemoServer(a) = d.command else { panic!("not demo-server") };
        assert_eq!((a.name.as_str(), a.port), ("x", 0));
        assert!(Cli::try_parse_from(["mcp-gateway"]).is_err());
        let w = Cli::try_parse_from(["mcp-gateway", "render", "--filter", "wasm"]).unwrap();
        let Command::Render(a) = w.command else { panic!("not render") };
        assert_eq!(a.gateway.filter, Some(FilterHost::Wasm));
        assert!(Cli::try_parse_from(["mcp-gateway", "up", "--filter", "lua"]).is_err());
    }
}
