//! Envoy's log (`[dynamic_modules]` logger), and the panic hook that writes to it.

use crate::abi::{self, log_level, LogLevel};
use crate::envoy::buf;

pub fn log(level: LogLevel, message: &str) {
    // SAFETY: the message is read during the call only; callable from any thread.
    unsafe { abi::envoy_dynamic_module_callback_log(level, buf(message.as_bytes())) }
}

pub fn warn(message: &str) {
    log(log_level::WARN, message);
}

/// Installs the panic hook: a panic is logged at `critical` with where it happened. Every hook
/// also catches it (`crate::hooks`), so the stream it happened on fails closed and Envoy keeps
/// serving.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| log(log_level::CRITICAL, &format!("mcp_gateway: panic: {info}"))));
}
