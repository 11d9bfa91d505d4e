//! Notification fan-in: the one SSE stream a client gets for its notifications, merging the
//! backends' streams (read by `client::backend_stream`) and the gateway's own events, with
//! keep-alives. Used by GET (session protocol) and `subscriptions/listen` (2026-07-28).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::handlers::Reply;
use crate::sse;
use crate::state::app::Relayed;
use crate::state::App;

/// Shapes a message before it reaches the client; `None` drops it.
pub type Shaper = Arc<dyn Fn(Value) -> Option<Value> + Send + Sync>;

/// The client-facing SSE stream: `first` (e.g. a listen acknowledgement), then backend
/// messages and gateway events, each passed through `shape`, with keep-alive comments.
/// With `replay_only` the stream carries backend messages alone and ends with them.
pub fn respond(app: &Arc<App>, first: Option<Value>, mut rx: mpsc::Receiver<Relayed>, shape: Shaper, replay_only: bool) -> Reply {
    let (out_tx, mut out_rx) = mpsc::channel::<Bytes>(64);
    let mut gw = app.events.subscribe();
    let gauge = app.metrics.streams_open.clone();
    gauge.inc();
    tokio::spawn(async move {
        struct Open(prometheus_client::metrics::gauge::Gauge);
        impl Drop for Open {
            fn drop(&mut self) {
                self.0.dec();
            }
        }
        let _open = Open(gauge);
        if let Some(f) = first {
            if out_tx.send(sse::encode(&f)).await.is_err() {
                return;
            }
        }
        let mut keepalive = tokio::time::interval(Duration::from_secs(15));
        keepalive.tick().await;
        loop {
            let msg = tokio::select! {
                _ = out_tx.closed() => return,
                m = rx.recv() => match m {
                    Some(m) => Some(m),
                    None if replay_only => return,
                    None => { rx = mpsc::channel(1).1; None }
                },
                g = gw.recv(), if !replay_only => match g { Ok(g) => Some((None, g)), Err(broadcast::error::RecvError::Lagged(_)) => None, Err(_) => None },
                _ = keepalive.tick() => {
                    if out_tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() { return; }
                    None
                }
            };
            if let Some((id, m)) = msg.and_then(|(id, m)| Some((id, shape(m)?))) {
                if out_tx.send(sse::encode_with_id(id.as_deref(), &m)).await.is_err() {
                    return;
                }
            }
        }
    });
    Reply::events(futures::stream::poll_fn(move |cx| out_rx.poll_recv(cx)).boxed())
}

