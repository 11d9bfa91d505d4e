//! `mcpgw-controller`: the Kubernetes mode's one binary.
//!
//!   crds        print (or write) the CRD YAML generated from the Rust types
//!   reconcile   offline: manifests in a folder → each gateway's config, statuses, Events,
//!               registry entries, written to a folder (the controller's whole decision)
//!   registry    offline: serve the registry read API for the routes in a folder of manifests
//!   run         in a cluster: watch, reconcile, apply; serve health, metrics and the registry

mod cli;
mod live;
mod offline;

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Crds(a) => offline::crds(&a),
        cli::Command::Reconcile(a) => offline::reconcile(&a),
        cli::Command::Registry(a) => offline::serve_registry(&a),
        cli::Command::Run(a) => live::run(&a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcpgw-controller: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
