//! The gateway config's `confirmation:` block: how the gateway asks the human to confirm a
//! dangerous tool call before the backend sees it (README, "Confirmation before dangerous
//! tools"). Which tools: each server's `tools.confirm` globs (`crate::visibility`), and with
//! `destructive_hint` every tool whose backend declares `annotations.destructiveHint: true`.
//!
//! ```yaml
//! confirmation:
//!   destructive_hint: false       # also ask for tools that declare destructiveHint: true
//!   without_elicitation: refuse   # a client that cannot be asked: refuse | allow
//!   timeout_ms: 120000            # how long the gateway waits for the answer
//! ```

use serde::{Deserialize, Serialize};

fn d_timeout() -> u64 {
    120_000
}

/// What happens to a call that needs confirmation from a client that declared no elicitation
/// capability (form mode), so it cannot be asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WithoutElicitation {
    /// A JSON-RPC error (-32021, missing required client capability); the backend is not called.
    #[default]
    Refuse,
    /// The call goes on unconfirmed.
    Allow,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// Also ask before a tool whose backend declares `annotations.destructiveHint: true`
    /// explicitly. Off by default: the spec's default for an unannotated tool is destructive,
    /// and asking for every such tool would ask for nearly everything; an explicit `false` or
    /// no annotation is not asked. On, every `tools/call` goes through the broker, which alone
    /// knows the annotations (it lists the tools).
    #[serde(default)]
    pub destructive_hint: bool,
    #[serde(default)]
    pub without_elicitation: WithoutElicitation,
    /// How long the gateway waits for the client's answer (session protocol), and how long a
    /// 2026-07-28 client's sealed `requestState` stays valid; then the call is refused.
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
}

impl Default for Confirmation {
    fn default() -> Self {
        Confirmation { destructive_hint: false, without_elicitation: WithoutElicitation::Refuse, timeout_ms: d_timeout() }
    }
}

impl Confirmation {
    pub fn check(&self) -> Result<(), String> {
        // At least a second for a person to read the question; at most a day (the state a
        // 2026-07-28 client carries must expire).
        if !(1_000..=86_400_000).contains(&self.timeout_ms) {
            return Err("confirmation.timeout_ms must be within 1000..=86400000".into());
        }
        Ok(())
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let c: Confirmation = serde_json::from_str("{}").unwrap();
        assert_eq!(c, Confirmation::default());
        assert!(!c.destructive_hint && c.without_elicitation == WithoutElicitation::Refuse && c.timeout_ms == 120_000);
        let allow: Confirmation = serde_json::from_str(r#"{"without_elicitation":"allow","timeout_ms":5000}"#).unwrap();
        assert_eq!(allow.without_elicitation, WithoutElicitation::Allow);
        assert!(allow.check().is_ok());
        assert!(Confirmation { timeout_ms: 0, ..Confirmation::default() }.check().is_err());
        assert!(serde_json::from_str::<Confirmation>(r#"{"without_elicitation":"maybe"}"#).is_err());
        assert!(serde_json::from_str::<Confirmation>(r#"{"typo":1}"#).is_err());
    }
}
