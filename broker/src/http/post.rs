//! POST on the MCP endpoint: the body parsed once, decided once by
//! `mcpgw_common::protocol::decide` (the filter's decision too), a refusal sent as decided,
//! and what was decided handed to its handler.

use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::Request;
use mcpgw_common::message::{self, Kind, Message};
use mcpgw_common::protocol::{self, Class, Decision, Era, Method, Reason, Refusal, StandardHeaders};
use mcpgw_common::session::SessionClaims;
use mcpgw_common::{headers as mcp_headers, ids, jsonrpc};
use serde_json::json;

use crate::config::Runtime;
use crate::handlers::{discovery, initialize, listen, lists, log_level, notifications, routed, Posted, Reply};
use crate::http::{caller, header_str, session};
use crate::state::App;

/// The `requests` metric label of a message: its method when the gateway knows it, so a
/// client cannot blow up the label space.
fn request_label(msg: &Message<'_>) -> &'static str {
    match msg.kind {
        Kind::Response => "response",
        _ => msg.method.as_deref().and_then(Method::parse).map_or("other", Method::as_str),
    }
}

pub async fn post(app: Arc<App>, req: Request) -> Reply {
    let rt = app.runtime();
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, rt.config.limits.max_body_bytes).await else {
        return Reply::error(413, None, jsonrpc::REQUEST_TOO_LARGE, "Request body exceeds the gateway's limit");
    };
    let msg = match message::parse(&bytes) {
        Ok(m) => m,
        Err(e) => return Reply::refused(&Refusal::parse(&e)),
    };
    app.metrics.request(request_label(&msg));
    let standard = StandardHeaders {
        protocol_version: header_str(&parts.headers, mcp_headers::PROTOCOL_VERSION),
        method: header_str(&parts.headers, mcp_headers::METHOD),
        name: header_str(&parts.headers, mcp_headers::NAME),
    };
    let decided = match protocol::decide(&msg, standard, &rt.router) {
        Ok(d) => d,
        Err(refusal) => return Reply::refused(&refusal),
    };
    let caller = match caller::caller(&rt, &parts.headers) {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let posted = Posted { msg: &msg, era: decided.era, method: decided.method, headers: &parts.headers, caller };
    match decided.decision {
        Decision::Backend(route) => {
            // The filter checked the scope before it sent the call here; checked again, as
            // every other rule is, so that the broker never relays what the filter refuses.
            if let Err(refusal) = protocol::check_scope(&route, &rt.scope, caller, posted.era, posted.id()) {
                return Reply::refused(&refusal);
            }
            match posted.era {
                Era::Session => match session::open(&app, &rt, posted.headers, posted.id()) {
                    Ok(claims) => routed::in_session(&app, &rt, &posted, &route, &claims).await,
                    Err(refused) => refused,
                },
                Era::Stateless => routed::stateless(&app, &rt, &posted, &route).await,
            }
        }
        Decision::Answer(answer) => {
            let claims = match answer_session(&app, &rt, &posted) {
                Ok(c) => c,
                Err(refused) => return refused,
            };
            if let Some(server) = rt.servers.get(answer.server) {
                // The server's own id in place of the one the gateway namespaced.
                let body = answer.rewritten_body(&msg).unwrap_or_else(|| bytes.to_vec());
                notifications::forward_answer(&app, claims.as_ref(), server, body.into(), posted.authorization()).await;
            }
            Reply::accepted()
        }
        Decision::Broker => match msg.kind {
            Kind::Response => {
                let claims = match answer_session(&app, &rt, &posted) {
                    Ok(c) => c,
                    Err(refused) => return refused,
                };
                if let Some(claims) = &claims {
                    // The answer to the gateway's own confirmation question, from the session
                    // it asked: the waiting call takes it (`handlers::confirm::session`).
                    if let Some(id) = msg.id_text().filter(|raw| ids::is_gateway_request_id(raw)).and_then(|raw| serde_json::from_str::<String>(raw).ok()) {
                        // No backend asked it: an answer nobody waits for (too late, another
                        // replica's question) goes nowhere.
                        if !app.confirmations.answer(&id, &claims.id, serde_json::from_slice(&bytes).unwrap_or_default()) {
                            tracing::info!(session = %claims.id, "an answer to a confirmation nobody waits for here (too late, or asked by another broker replica)");
                        }
                        return Reply::accepted();
                    }
                    notifications::broadcast_answer(&app, claims, bytes.clone(), posted.authorization()).await;
                }
                Reply::accepted()
            }
            Kind::Notification => {
                if posted.era == Era::Stateless || posted.method == Some(Method::NotificationsInitialized) {
                    return Reply::accepted();
                }
                match session::open(&app, &rt, posted.headers, None) {
                    Ok(claims) => {
                        notifications::relay(&app, &claims, msg.method.as_deref(), bytes.clone(), posted.authorization()).await;
                        Reply::accepted()
                    }
                    Err(refused) => refused,
                }
            }
            Kind::Request => match posted.era {
                Era::Session => session_request(&app, &rt, &posted).await,
                Era::Stateless => stateless_request(&app, &rt, &posted).await,
            },
        },
    }
}

/// The session a client's answer belongs to: a session-protocol answer under a session id
/// must find it still open (a DELETEd, forged or expired one is refused as on every other
/// path); a 2026-07-28 answer, or one without a session id, has none.
#[allow(clippy::result_large_err)]
fn answer_session(app: &App, rt: &Runtime, posted: &Posted<'_>) -> Result<Option<SessionClaims>, Reply> {
    if posted.era == Era::Stateless || !posted.headers.contains_key(mcp_headers::SESSION_ID) {
        return Ok(None);
    }
    session::open(app, rt, posted.headers, None).map(Some)
}

/// "Method not found" in the request's era (HTTP 200 in the session protocol, 404 at
/// 2026-07-28).
fn method_not_found(posted: &Posted<'_>) -> Reply {
    let name = posted.msg.method.as_deref().unwrap_or_default();
    Reply::refused(&Refusal::new(posted.era, Reason::MethodNotFound, jsonrpc::METHOD_NOT_FOUND, format!("Method not found: {name}")).with_id(posted.id()))
}

/// A session-protocol request the broker serves itself: `initialize` and a session-less
/// `ping` need no session, everything else is served in the client's session.
async fn session_request(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>) -> Reply {
    let id = posted.id();
    if posted.method == Some(Method::Initialize) {
        return initialize::initialize(app, rt, posted).await;
    }
    if posted.method == Some(Method::Ping) && !posted.headers.contains_key(mcp_headers::SESSION_ID) {
        return Reply::result(id, json!({}));
    }
    let claims = match session::open(app, rt, posted.headers, id) {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let Some(method) = posted.method.filter(|m| m.exists_in(Era::Session)) else {
        return method_not_found(posted);
    };
    match method.class() {
        Class::AggregatedList { items } => lists::answer(app, rt, posted, method, items, Some(&claims)).await,
        _ if method == Method::Ping => Reply::result(id, json!({})),
        _ if method == Method::LoggingSetLevel => log_level::set_level(app, posted, &claims).await,
        _ => method_not_found(posted),
    }
}

/// A 2026-07-28 request the broker serves itself; `decide` refused every method that
/// revision does not have (HTTP 404, -32601).
async fn stateless_request(app: &Arc<App>, rt: &Arc<Runtime>, posted: &Posted<'_>) -> Reply {
    let Some(method) = posted.method else { return method_not_found(posted) };
    match method.class() {
        Class::AggregatedList { items } => lists::answer(app, rt, posted, method, items, None).await,
        _ if method == Method::ServerDiscover => discovery::discover(app, rt, posted).await,
        _ if method == Method::SubscriptionsListen => listen::listen(app, rt, posted).await,
        _ => method_not_found(posted),
    }
}
