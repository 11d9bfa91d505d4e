//! `mcpgw-broker --config FILE [--listen ADDR]`, or `mcpgw-broker --config FILE --print-credential`

use std::path::PathBuf;

use mcpgw_common::broker_auth::BrokerAuth;
use mcpgw_common::gateway::ResolvedConfig;

fn usage() -> ! {
    eprintln!("usage: mcpgw-broker --config FILE [--listen HOST:PORT]\n       mcpgw-broker --config FILE --print-credential   (the x-mcp-gateway-auth value, for /status)\n  (RUST_LOG sets the log filter, default info)");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .init();
    let mut args = std::env::args().skip(1);
    let mut config = None;
    let mut listen = None;
    let mut print_credential = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => config = args.next().map(PathBuf::from),
            "--listen" => listen = args.next(),
            "--print-credential" => print_credential = true,
            _ => usage(),
        }
    }
    let Some(config) = config else { usage() };
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
