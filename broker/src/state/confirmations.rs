//! The confirmation questions this broker asked session-protocol clients and waits on: by the
//! id of its `elicitation/create` (`mcpgw_common::ids::GATEWAY_REQUEST_ID_PREFIX` + 128 random
//! bits), with the gateway session that may answer it. An answer is taken only under that id
//! from that session; a question ends when answered, or when its [`Ticket`] is dropped (the
//! wait timed out, or the client went away), so nothing outlives its call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mcpgw_common::ids::GATEWAY_REQUEST_ID_PREFIX;
use tokio::sync::oneshot;

/// At most this many questions wait at once on one broker: each holds a client stream open
/// anyway, so this only bounds a flood.
pub const MAX_PENDING: usize = 10_000;

struct Pending {
    session: String,
    answer: oneshot::Sender<serde_json::Value>,
}

#[derive(Default)]
pub struct Confirmations {
    pending: Arc<Mutex<HashMap<String, Pending>>>,
}

/// One question waiting: its id, and the client's answer (the JSON-RPC response message)
/// once it comes. Dropping it withdraws the question.
pub struct Ticket {
    pub id: String,
    pub answer: oneshot::Receiver<serde_json::Value>,
    pending: Arc<Mutex<HashMap<String, Pending>>>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        lock(&self.pending).remove(&self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Confirmations {
    /// A new question for gateway session `session`; `None` when too many wait already or
    /// the OS gave no randomness.
    pub fn ask(&self, session: &str) -> Option<Ticket> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).ok()?;
        let id = format!("{GATEWAY_REQUEST_ID_PREFIX}{}", random.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let (tx, rx) = oneshot::channel();
        let mut pending = lock(&self.pending);
        if pending.len() >= MAX_PENDING {
            return None;
        }
        pending.insert(id.clone(), Pending { session: session.to_string(), answer: tx });
        Some(Ticket { id, answer: rx, pending: Arc::clone(&self.pending) })
    }

    /// Hands the client's answer `message` to the question `id` of `session`. `false` when no
    /// such question waits (another session's, already answered, withdrawn, or never asked):
    /// the answer is then not the gateway's.
    pub fn answer(&self, id: &str, session: &str, message: serde_json::Value) -> bool {
        let mut pending = lock(&self.pending);
        if pending.get(id).is_none_or(|p| p.session != session) {
            return false;
        }
        match pending.remove(id) {
            Some(p) => p.answer.send(message).is_ok(),
            None => false,
        }
    }

    pub fn waiting(&self) -> usize {
        lock(&self.pending).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_is_taken_once_from_the_session_asked() {
        let c = Confirmations::default();
        let t = c.ask("s1").unwrap();
        assert!(t.id.starts_with("mcpgw-confirm-") && t.id.len() == "mcpgw-confirm-".len() + 32);
        assert!(mcpgw_common::ids::is_gateway_request_id(&format!("{:?}", t.id)));
        assert!(!c.answer(&t.id, "s2", serde_json::json!(1)), "another session cannot answer");
        assert!(!c.answer("mcpgw-confirm-00", "s1", serde_json::json!(1)));
        assert!(c.answer(&t.id, "s1", serde_json::json!({"result": {"action": "accept"}})));
        assert!(!c.answer(&t.id, "s1", serde_json::json!(2)), "answered already");
        let mut t = t;
        assert_eq!((&mut t.answer).await.unwrap()["result"]["action"], "accept");
        assert_eq!(c.waiting(), 0);
    }

    #[test]
    fn a_dropped_ticket_withdraws_its_question() {
        let c = Confirmations::default();
        let t = c.ask("s1").unwrap();
        let id = t.id.clone();
        assert_eq!(c.waiting(), 1);
        drop(t);
        assert_eq!(c.waiting(), 0);
        assert!(!c.answer(&id, "s1", serde_json::json!(1)));
    }
}
