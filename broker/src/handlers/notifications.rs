//! What a client POSTs that expects no answer: its notifications (cancellation, progress,
//! roots changes), relayed to its backend sessions, and its answers to requests a server sent
//! it, forwarded to the server that asked.

use std::sync::Arc;

use bytes::Bytes;
use futures::future::join_all;
use mcpgw_common::session::SessionClaims;
use reqwest::header::HeaderValue;

use crate::client::addressing::Addressing;
use crate::client::{backend_sessions, exchange};
use crate::config::Server;
use crate::state::App;

/// A session-protocol client's notification (`body` as sent): every backend of the session is
/// told, since cancellation, progress and roots changes concern whichever backend holds the
/// request (one that does not know the id ignores it). Only servers the session has a backend
/// session with: one it never used holds no request of it to cancel or report on.
pub async fn relay(app: &Arc<App>, claims: &SessionClaims, method: Option<&str>, body: Bytes, auth: Option<HeaderValue>) {
    let rt = app.runtime();
    let sends = rt.servers.iter().filter_map(|s| {
        backend_sessions::known(app, claims, &s.name)?;
        Some(backend_sessions::notify(app, claims, s, auth.clone(), method, body.clone()))
    });
    join_all(sends).await;
}

/// Forwards a client's answer to a server request (`body`, with the server's own id back in
/// it) to the server that asked: on the client's session's backend session with it, or
/// without a session (2026-07-28, or an answer sent without a session id).
pub async fn forward_answer(app: &Arc<App>, claims: Option<&SessionClaims>, server: &Server, body: Bytes, auth: Option<HeaderValue>) {
    match claims {
        Some(c) => backend_sessions::notify(app, c, server, auth, None, body).await,
        None => {
            let addressing = Addressing { backend_session: None, protocol_version: None, authorization: auth };
            exchange::send(app, server, &addressing, None, body).await;
        }
    }
}

/// An answer whose id the broker did not tag (a request that reached the client on a stream
/// the broker did not relay, e.g. a tool call's SSE answer through the filter) goes to every
/// backend session of the client's session; the backends that did not ask ignore it.
pub async fn broadcast_answer(app: &Arc<App>, claims: &SessionClaims, body: Bytes, auth: Option<HeaderValue>) {
    let rt = app.runtime();
    let sends = rt.servers.iter().filter_map(|s| {
        backend_sessions::known(app, claims, &s.name)?;
        Some(backend_sessions::notify(app, claims, s, auth.clone(), None, body.clone()))
    });
    join_all(sends).await;
}
