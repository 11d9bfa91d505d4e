//! GET on the MCP endpoint (session protocol): the client's notification stream, merging
//! the streams of its backend sessions, resumed as its `Last-Event-ID` says.

use std::sync::Arc;

use mcpgw_common::session::SessionClaims;
use reqwest::header::HeaderValue;
use tokio::sync::mpsc;

use crate::client::addressing::Addressing;
use crate::client::{backend_sessions, backend_stream};
use crate::config::Server;
use crate::handlers::fan_in;
use crate::handlers::Reply;
use crate::state::App;

/// How a GET resumes (its `Last-Event-ID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// No `Last-Event-ID`: every backend's stream is opened afresh.
    Fresh,
    /// An id the broker minted (`<server>:<id>`, the server is in the session): that server
    /// resumes from its own id, the others' streams are opened afresh.
    Server(String, String),
    /// An id the broker did not mint: a tool call's SSE answer that went straight from a
    /// backend to the client through the filter, which leaves event ids alone. Whose it is
    /// cannot be told, so every backend of the session is asked to resume after it; a
    /// backend that does not know it answers with an error or an empty stream. The client's
    /// stream ends when every resumed backend stream has ended.
    Any(String),
}

impl Resume {
    pub fn parse(last_event_id: Option<&str>, is_member: impl Fn(&str) -> bool) -> Resume {
        let Some(l) = last_event_id.filter(|l| !l.is_empty()) else { return Resume::Fresh };
        match l.split_once(':') {
            Some((server, raw)) if is_member(server) => Resume::Server(server.to_string(), raw.to_string()),
            _ => Resume::Any(l.to_string()),
        }
    }

    /// The `Last-Event-ID` to send to `server`.
    fn for_server(&self, server: &str) -> Option<&str> {
        match self {
            Resume::Fresh => None,
            Resume::Server(s, raw) => (s == server).then_some(raw.as_str()),
            Resume::Any(l) => Some(l.as_str()),
        }
    }
}

/// GET on the endpoint: merges the client's backend sessions' streams, resuming them as
/// `last_event_id` says (see [`Resume`]). Only servers the session has a backend session with
/// (opened on its first use, by this broker or learnt by the filter and passed on) get one: a
/// server the session never used has no session to notify it about. A backend session this
/// broker opens later joins the streams open then ([`attach`]).
pub async fn open(app: &Arc<App>, claims: &SessionClaims, auth: Option<HeaderValue>, last_event_id: Option<&str>) -> Reply {
    let rt = app.runtime();
    let resume = Resume::parse(last_event_id, |name| backend_sessions::known(app, claims, name).is_some());
    let (tx, rx) = mpsc::channel(256);
    let shared_claims = Arc::new(claims.clone());
    for s in &rt.servers {
        let addressing = backend_sessions::addressing(app, claims, s, auth.clone());
        if addressing.backend_session.is_none() {
            continue;
        }
        let after = resume.for_server(&s.name).map(String::from);
        let (app, s, tx, claims, auth) = (app.clone(), s.clone(), tx.clone(), shared_claims.clone(), auth.clone());
        tokio::spawn(async move {
            let resp = match backend_stream::open_get_status(&app, &s, &addressing, after.as_deref()).await {
                Ok(r) => Some(r),
                // The backend forgot the session (it restarted): a replacement, and its stream.
                Err(Some(404)) => match backend_sessions::renew(&app, &claims, &s, addressing.backend_session.as_deref(), auth).await {
                    Ok(session) => backend_stream::open_get(&app, &s, &Addressing { backend_session: session, ..addressing }, None).await,
                    Err(_) => None,
                },
                Err(_) => None,
            };
            if let Some(resp) = resp {
                backend_stream::pump(app, s, resp, tx, false).await;
            }
        });
    }
    let replay_only = matches!(resume, Resume::Any(_));
    if !replay_only {
        // Kept open for the gateway's own messages to this session (a backend restart's cost).
        app.register_stream(&claims.id, tx.clone());
    }
    drop(tx);
    fan_in::respond(app, None, rx, Arc::new(Some), replay_only)
}

/// A backend session was just opened for `claims` with `s` (the session's first use of the
/// server, or a replacement): its GET stream joins the session's GET streams already open on
/// this broker, so that a client that opened its GET stream right after `initialize` (as the
/// SDKs do, before any backend session existed) hears from the servers it goes on to use.
pub fn attach(app: &Arc<App>, claims: &SessionClaims, s: &Arc<Server>, auth: Option<HeaderValue>) {
    let senders = app.session_stream_senders(&claims.id);
    if senders.is_empty() {
        return;
    }
    let addressing = backend_sessions::addressing(app, claims, s, auth);
    if addressing.backend_session.is_none() {
        return;
    }
    for tx in senders {
        let (app, s, addressing) = (app.clone(), s.clone(), addressing.clone());
        tokio::spawn(async move {
            if let Some(resp) = backend_stream::open_get(&app, &s, &addressing, None).await {
                backend_stream::pump(app, s, resp, tx, false).await;
            }
        });
    }
}

