//! The handlers: what the broker does with each message the surface admitted and
//! `mcpgw_common::protocol::decide` decided (initialize, lists, routed calls, discovery,
//! `subscriptions/listen`, the GET stream, notifications and answers, `logging/setLevel`,
//! DELETE). They reach backends through the client layer alone and answer a [`Reply`],
//! which the surface writes.

pub mod capabilities;
pub mod confirm;
pub mod delete;
pub mod discovery;
pub mod fan_in;
pub mod get_stream;
pub mod initialize;
pub mod listen;
pub mod lists;
pub mod log_level;
pub mod notifications;
pub mod reply;
pub mod routed;
pub mod unavailable;

use mcpgw_common::message::Message;
use mcpgw_common::protocol::{Era, Method};
use mcpgw_common::scope::Caller;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use serde_json::value::RawValue;
use serde_json::Value;

pub use reply::{Reply, ReplyBody};

/// One POSTed message, parsed once and decided, as the handlers need it.
pub struct Posted<'a> {
    pub msg: &'a Message<'a>,
    pub era: Era,
    /// The method, when the gateway knows it.
    pub method: Option<Method>,
    pub headers: &'a HeaderMap,
    /// Who asks, on which virtual server (`mcpgw_common::scope`): what lists show and calls
    /// may reach.
    pub caller: Caller,
}

impl<'a> Posted<'a> {
    pub fn id(&self) -> Option<&'a RawValue> {
        self.msg.id
    }

    pub fn body(&self) -> &'a [u8] {
        self.msg.body()
    }

    /// The client's `Authorization`, sent on only to servers configured to receive it.
    pub fn authorization(&self) -> Option<HeaderValue> {
        self.headers.get(AUTHORIZATION).cloned()
    }

    /// The body as a JSON tree, for the handlers that read fields the parser does not keep
    /// (initialize params, list cursors, listen filters, the log level). Each such handler
    /// builds it once; no other path does.
    pub fn tree(&self) -> Value {
        serde_json::from_slice(self.body()).unwrap_or(Value::Null)
    }
}
