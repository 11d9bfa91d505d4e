//! `mcpgw-broker --config FILE [--listen ADDR]`, or `mcpgw-broker --config FILE --print-credential`
//! (the command line is declared for clap below).

use std::path::PathBuf;

use clap::Parser;
use mcpgw_common::broker_auth::BrokerAuth;
use mcpgw_common::gateway::ResolvedConfig;

/// The MCP gateway's broker: initialize fan-out, aggregated lists, notification streams and
/// sessions, beside the filter in Envoy.
#[derive(Debug, Parser)]
#[command(name = "mcpgw-broker", after_help = "RUST_LOG sets the log filter (default info).")]
struct Cli {
    /// The gateway config (watched: changes are applied while running).
    #[arg(short, long, value_name = "FILE")]
    config: PathBuf,
    /// Where to listen (default: the config's broker.listen).
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Print the x-mcp-gateway-auth value that unlocks the full /status, and exit.
    #[arg(long)]
    print_credential: bool,
}

#[tokio::main]
async fn main() {
    let Cli { config, listen, print_credential } = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .init();
    let first = match ResolvedConfig::read(&config).map_err(|e| format!("{}: {e}", config.display())) {
        Ok(r) => r,
        Err(e) => {
            if print_credential {
                eprintln!("{e}");
            } else {
                tracing::error!(error = %e, "broker failed to start");
            }
            std::process::exit(1);
        }
    };
    if print_credential {
        // For an operator on the broker's host (who can read the key anyway): the header value
        // that unlocks the full /status.
        match BrokerAuth::from_key_texts(first.session_keys().texts()) {
            Ok(auth) => println!("{}", auth.credential()),
            Err(e) => {
                eprintln!("session: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => return,
            };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
    };
    let start = mcpgw_broker::Start { config_path: Some(config), listen, ..Default::default() };
    if let Err(e) = mcpgw_broker::run(first, start, shutdown).await {
        tracing::error!(error = %e, "broker failed to start");
        std::process::exit(1);
    }
}
