//! DELETE on the MCP endpoint: the client ends its session, here and on every backend.

use std::sync::Arc;

use futures::future::join_all;
use mcpgw_common::session::SessionClaims;
use reqwest::header::HeaderValue;

use crate::client::addressing::Addressing;
use crate::client::{backend_sessions, exchange};
use crate::handlers::Reply;
use crate::state::App;

pub async fn end_session(app: &Arc<App>, claims: &SessionClaims, auth: Option<HeaderValue>) -> Reply {
    let rt = app.runtime();
    // Refused from this instant on every path of this replica, before the backends are told:
    // no request can slip in while they are.
    app.revoke(&claims.id, claims.expires_at);
    let ends = rt.servers.iter().filter_map(|s| {
        let sid = backend_sessions::backend_sid(app, claims, &s.name)?;
        let addressing = Addressing { backend_session: Some(sid), protocol_version: Some(claims.protocol_version.clone()), authorization: auth.clone() };
        Some(async move { exchange::delete_session(app, s, &addressing).await })
    });
    let ended = join_all(ends).await;
    app.forget_session(&claims.id);
    tracing::info!(session = %claims.id, backends = ended.len(), ok = ended.iter().filter(|b| **b).count(), "session deleted");
    Reply::empty(200)
}
