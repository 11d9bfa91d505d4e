//! Mints a gateway session token, for tests and debugging:
//!
//! ```sh
//! cargo run -p mcpgw-common --example mint_token -- KEY_B64 [--ttl SECS] [--sub SUBJECT]
//! ```
//!
//! The nonce is derived from the current time and process id: fine for a test tool, not for
//! production minting (the broker draws nonces from the OS).

use std::time::{SystemTime, UNIX_EPOCH};

use mcpgw_common::session::{SessionClaims, SessionCodec, SessionKey};

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let key = SessionKey::from_base64(&args.next().ok_or("usage: mint_token KEY_B64 [--ttl S] [--sub SUB]")?)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?;
    let (mut ttl, mut subject) = (3600u64, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ttl" => ttl = args.next().and_then(|v| v.parse().ok()).ok_or("--ttl needs seconds")?,
            "--sub" => subject = Some(args.next().ok_or("--sub needs a value")?),
            other => return Err(format!("unexpected argument {other:?} (tokens carry no backend session ids since version 3)")),
        }
    }
    let claims = SessionClaims {
        id: format!("{:016x}", now.as_nanos() as u64 ^ u64::from(std::process::id())),
        issued_at: now.as_secs(),
        expires_at: now.as_secs() + ttl,
        subject,
        protocol_version: "2025-11-25".into(),
        // As if the client declared capabilities: the filter namespaces server requests.
        accepts_server_requests: true,
        virtual_server: None,
        elicitation: false,
    };
    let mut nonce = [0u8; 24];
    for (i, b) in now.as_nanos().to_le_bytes().iter().chain(std::process::id().to_le_bytes().iter()).enumerate() {
        if let Some(slot) = nonce.get_mut(i) {
            *slot = *b;
        }
    }
    println!("{}", SessionCodec::new(&[key])?.mint(&claims, nonce)?);
    Ok(())
}
