//! Every MCP method the gateway knows, and what each one is to it: which body field names its
//! owner (a tool, a prompt, a URI, a completion reference, a task id), whether it is answered by merging
//! every server's list, sent to one server, or served by the broker alone, in which protocol
//! era it exists, and its metric label. This is the one list: the filter's stats, the broker's
//! dispatch and metrics, and the standard-header rules all read it.

use crate::headers::NameField;

use super::era::Era;

/// A JSON-RPC method (request or notification) a client may send the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Initialize,
    Ping,
    ToolsList,
    PromptsList,
    ResourcesList,
    ResourceTemplatesList,
    ToolsCall,
    PromptsGet,
    ResourcesRead,
    ResourcesSubscribe,
    ResourcesUnsubscribe,
    CompletionComplete,
    LoggingSetLevel,
    ServerDiscover,
    SubscriptionsListen,
    /// The tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`, 2026-07-28): a task a
    /// server created when it answered a `tools/call` with `resultType: "task"`.
    TasksGet,
    TasksUpdate,
    TasksCancel,
    NotificationsInitialized,
    NotificationsCancelled,
    NotificationsProgress,
    NotificationsRootsListChanged,
}

/// What the gateway does with a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Answered by merging every server's list; `items` is the result's array field.
    AggregatedList { items: &'static str },
    /// Owned by the one server its [`Target`] names.
    Routed(Target),
    /// Served by the broker alone (session lifecycle, discovery, streams, fan-out settings).
    Broker,
    /// A client notification (no answer expected).
    Notification,
}

/// The body field that names the server owning a routed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `params.name` of `tools/call`.
    ToolName,
    /// `params.name` of `prompts/get`.
    PromptName,
    /// `params.uri` of `resources/read|subscribe|unsubscribe`.
    ResourceUri,
    /// `params.ref` of `completion/complete`: a prompt name or a resource URI.
    CompletionRef,
    /// `params.taskId` of `tasks/get|update|cancel`: a task id the gateway namespaced with
    /// its server's name (`protocol::tasks`).
    TaskId,
}

/// Every method, for registering counters by label.
pub const ALL: [Method; 22] = [
    Method::Initialize,
    Method::Ping,
    Method::ToolsList,
    Method::PromptsList,
    Method::ResourcesList,
    Method::ResourceTemplatesList,
    Method::ToolsCall,
    Method::PromptsGet,
    Method::ResourcesRead,
    Method::ResourcesSubscribe,
    Method::ResourcesUnsubscribe,
    Method::CompletionComplete,
    Method::LoggingSetLevel,
    Method::ServerDiscover,
    Method::SubscriptionsListen,
    Method::TasksGet,
    Method::TasksUpdate,
    Method::TasksCancel,
    Method::NotificationsInitialized,
    Method::NotificationsCancelled,
    Method::NotificationsProgress,
    Method::NotificationsRootsListChanged,
];

impl Method {
    /// The method named `name`, `None` for one the gateway does not know.
    pub fn parse(name: &str) -> Option<Method> {
        ALL.iter().copied().find(|m| m.as_str() == name)
    }

    /// The JSON-RPC method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Initialize => "initialize",
            Method::Ping => "ping",
            Method::ToolsList => "tools/list",
            Method::PromptsList => "prompts/list",
            Method::ResourcesList => "resources/list",
            Method::ResourceTemplatesList => "resources/templates/list",
            Method::ToolsCall => "tools/call",
            Method::PromptsGet => "prompts/get",
            Method::ResourcesRead => "resources/read",
            Method::ResourcesSubscribe => "resources/subscribe",
            Method::ResourcesUnsubscribe => "resources/unsubscribe",
            Method::CompletionComplete => "completion/complete",
            Method::LoggingSetLevel => "logging/setLevel",
            Method::ServerDiscover => "server/discover",
            Method::SubscriptionsListen => "subscriptions/listen",
            Method::TasksGet => "tasks/get",
            Method::TasksUpdate => "tasks/update",
            Method::TasksCancel => "tasks/cancel",
            Method::NotificationsInitialized => "notifications/initialized",
            Method::NotificationsCancelled => "notifications/cancelled",
            Method::NotificationsProgress => "notifications/progress",
            Method::NotificationsRootsListChanged => "notifications/roots/list_changed",
        }
    }

    /// The label in metric names (Envoy stat names and Prometheus labels): `/` becomes `_`.
    pub fn metric_label(self) -> &'static str {
        match self {
            Method::Initialize => "initialize",
            Method::Ping => "ping",
            Method::ToolsList => "tools_list",
            Method::PromptsList => "prompts_list",
            Method::ResourcesList => "resources_list",
            Method::ResourceTemplatesList => "resources_templates_list",
            Method::ToolsCall => "tools_call",
            Method::PromptsGet => "prompts_get",
            Method::ResourcesRead => "resources_read",
            Method::ResourcesSubscribe => "resources_subscribe",
            Method::ResourcesUnsubscribe => "resources_unsubscribe",
            Method::CompletionComplete => "completion_complete",
            Method::LoggingSetLevel => "logging_setLevel",
            Method::ServerDiscover => "server_discover",
            Method::SubscriptionsListen => "subscriptions_listen",
            Method::TasksGet => "tasks_get",
            Method::TasksUpdate => "tasks_update",
            Method::TasksCancel => "tasks_cancel",
            Method::NotificationsInitialized => "notifications_initialized",
            Method::NotificationsCancelled => "notifications_cancelled",
            Method::NotificationsProgress => "notifications_progress",
            Method::NotificationsRootsListChanged => "notifications_roots_list_changed",
        }
    }

    pub fn class(self) -> Class {
        match self {
            Method::ToolsList => Class::AggregatedList { items: "tools" },
            Method::PromptsList => Class::AggregatedList { items: "prompts" },
            Method::ResourcesList => Class::AggregatedList { items: "resources" },
            Method::ResourceTemplatesList => Class::AggregatedList { items: "resourceTemplates" },
            Method::ToolsCall => Class::Routed(Target::ToolName),
            Method::PromptsGet => Class::Routed(Target::PromptName),
            Method::ResourcesRead | Method::ResourcesSubscribe | Method::ResourcesUnsubscribe => Class::Routed(Target::ResourceUri),
            Method::CompletionComplete => Class::Routed(Target::CompletionRef),
            Method::TasksGet | Method::TasksUpdate | Method::TasksCancel => Class::Routed(Target::TaskId),
            Method::Initialize | Method::Ping | Method::LoggingSetLevel | Method::ServerDiscover | Method::SubscriptionsListen => Class::Broker,
            Method::NotificationsInitialized
            | Method::NotificationsCancelled
            | Method::NotificationsProgress
            | Method::NotificationsRootsListChanged => Class::Notification,
        }
    }

    /// The server that owns this request is named by a body field.
    pub fn target(self) -> Option<Target> {
        match self.class() {
            Class::Routed(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the method exists in `era`. 2026-07-28 removed the session lifecycle
    /// (`initialize`, `ping`, `notifications/initialized`), `logging/setLevel` and resource
    /// (un)subscription (`subscriptions/listen` replaces it), and added `server/discover` and
    /// `subscriptions/listen`; the tasks extension's methods are 2026-07-28's (the
    /// 2025-11-25 experimental tasks are another surface, which the gateway does not route).
    pub fn exists_in(self, era: Era) -> bool {
        match self {
            Method::Initialize
            | Method::Ping
            | Method::NotificationsInitialized
            | Method::LoggingSetLevel
            | Method::ResourcesSubscribe
            | Method::ResourcesUnsubscribe => era == Era::Session,
            Method::ServerDiscover | Method::SubscriptionsListen | Method::TasksGet | Method::TasksUpdate | Method::TasksCancel => era == Era::Stateless,
            _ => true,
        }
    }

    /// Which body field the 2026-07-28 `Mcp-Name` header mirrors for this method (SEP-2243):
    /// `params.name` of `tools/call` and `prompts/get`, `params.uri` of the resource methods,
    /// `params.taskId` of the task methods (SEP-2663). A completion reference is not mirrored.
    pub fn name_header_field(self) -> Option<NameField> {
        match self.target()? {
            Target::ToolName | Target::PromptName => Some(NameField::Name),
            Target::ResourceUri => Some(NameField::Uri),
            Target::TaskId => Some(NameField::TaskId),
            Target::CompletionRef => None,
        }
    }
}

impl Target {
    /// What the target is called in messages (`Unknown tool: …`).
    pub fn noun(self) -> &'static str {
        match self {
            Target::ToolName => "tool",
            Target::PromptName => "prompt",
            Target::ResourceUri => "resource",
            Target::CompletionRef => "reference",
            Target::TaskId => "task",
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn names_and_labels_round_trip() {
        for m in ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
            assert_eq!(m.metric_label(), m.as_str().replace('/', "_"));
        }
        assert_eq!(Method::parse("tools/cal"), None);
    }

    #[test]
    fn classes() {
        assert_eq!(Method::ToolsCall.target(), Some(Target::ToolName));
        assert_eq!(Method::ResourceTemplatesList.class(), Class::AggregatedList { items: "resourceTemplates" });
        assert!(!Method::ResourcesSubscribe.exists_in(Era::Stateless));
        assert!(Method::ResourcesRead.exists_in(Era::Stateless));
        assert!(!Method::ServerDiscover.exists_in(Era::Session));
        assert_eq!(Method::CompletionComplete.name_header_field(), None);
        assert_eq!(Method::ResourcesUnsubscribe.name_header_field(), Some(NameField::Uri));
        for m in [Method::TasksGet, Method::TasksUpdate, Method::TasksCancel] {
            assert_eq!(m.target(), Some(Target::TaskId));
            assert_eq!(m.name_header_field(), Some(NameField::TaskId));
            assert!(m.exists_in(Era::Stateless) && !m.exists_in(Era::Session));
        }
        assert_eq!(Method::parse("tasks/list"), None, "removed by SEP-2663");
    }
}
