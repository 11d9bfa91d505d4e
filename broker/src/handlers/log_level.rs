//! `logging/setLevel` (session protocol): the level goes to every backend session the client's
//! session has, and is remembered for the ones opened later or replaced.

use std::sync::Arc;

use futures::future::join_all;
use mcpgw_common::session::SessionClaims;
use serde_json::{json, Value};

use crate::client::backend_sessions;
use crate::handlers::{Posted, Reply};
use crate::state::App;

pub async fn set_level(app: &Arc<App>, posted: &Posted<'_>, claims: &SessionClaims) -> Reply {
    let rt = app.runtime();
    let request = posted.tree();
    // Remembered (in memory, until the token expires) so that a replacement backend session
    // gets it again after a backend restart.
    if let Some(level) = request.pointer("/params/level").and_then(Value::as_str) {
        app.set_log_level(&claims.id, level, claims.expires_at);
    }
    let (request, auth) = (&request, posted.authorization());
    // Sent to the backend sessions the session has; one opened later gets the level when it
    // is opened (`backend_sessions::ensure`).
    let sends = rt.servers.iter().filter_map(|s| {
        backend_sessions::known(app, claims, &s.name)?;
        Some(backend_sessions::request(app, claims, s, auth.clone(), request))
    });
    join_all(sends).await;
    Reply::result(posted.id(), json!({}))
}
