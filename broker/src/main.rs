//! `mcpgw-broker --config FILE [--listen ADDR]`, or `mcpgw-broker --config FILE --print-credential`

use std::path::PathBuf;

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
    if print_credential {
        // For an operator on the broker's host (who can read the key anyway): the header value
        // that unlocks the full /status.
        match mcpgw_broker::config::load(&config, 0) {
            Ok(rt) => println!("{}", rt.auth.credential()),
            Err(e) => {
                eprintln!("{e}");
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
    if let Err(e) = mcpgw_broker::run(config, listen, None, shutdown).await {
        tracing::error!(error = %e, "broker failed to start");
        std::process::exit(1);
    }
}
