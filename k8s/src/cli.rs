//! The command line of `mcpgw-controller`, declared for clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "mcpgw-controller", about = "The MCP gateway's Kubernetes controller: MCPServer / MCPGateway → gateway config, statuses, Events; MCP registry export.", arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions (or write one file per CRD into --out).
    Crds(CrdsArgs),
    /// Offline: reconcile a folder of manifests and write what the controller would apply.
    Reconcile(ReconcileArgs),
    /// Offline: serve the registry read API (GET /v0/servers) for a folder of manifests.
    Registry(RegistryArgs),
    /// In a cluster: watch, reconcile and apply; serve /healthz, /readyz, /metrics, /v0/servers.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct CrdsArgs {
    /// Write `<crd name>.yaml` files into DIR instead of printing one multi-document YAML.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The manifests (YAML, read recursively).
    #[arg(long, value_name = "DIR")]
    pub manifests: PathBuf,
    /// Where to write `<namespace>/<gateway>/gateway.yaml`, `configmap.yaml`,
    /// `broker-patch.yaml`, and `statuses.yaml`, `events.yaml`, `registry.json`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Prefix for the pod paths the gateway config names (session key, credentials), to run
    /// the config outside a pod.
    #[arg(long, value_name = "DIR", default_value = "")]
    pub mount_root: String,
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Probe each attached server's backend (MCP initialize + tools/list) for Ready and the
    /// tool count, as the live controller does.
    #[arg(long)]
    pub probe: bool,
    /// Also render each gateway's Envoy configuration into `<namespace>/<gateway>/envoy/` with
    /// this `mcp-gateway` binary (`mcp-gateway render --out`): the project's one renderer.
    #[arg(long, value_name = "MCP-GATEWAY")]
    pub render_with: Option<PathBuf>,
    /// The reconcile time written into conditions (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[arg(long, value_name = "DIR")]
    pub manifests: PathBuf,
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081")]
    pub listen: String,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Health, metrics and the registry read API.
    #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:8081", env = "MCPGW_CONTROLLER_LISTEN")]
    pub listen: String,
    #[arg(long, default_value = "cluster.local", env = "MCPGW_CLUSTER_DOMAIN")]
    pub cluster_domain: String,
    /// Probe attached backends this often (seconds; 0: never).
    #[arg(long, default_value_t = 60)]
    pub probe_interval_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }
}
