//! Sends the planned writes ([`crate::writes::plan`]) to the API server: server-side applies
//! (field manager [`FIELD_MANAGER`], forced: this controller owns these fields) of ConfigMaps,
//! the broker Deployment's volumes and our resources' status subresource, and Events through
//! kube-runtime's Recorder. Only I/O; tested against a recording fake of the API server
//! (tests/apply_requests.rs) for the requests it makes.

use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder};
use kube::Client;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;

use crate::crd::{MCPGateway, MCPGatewayClass, MCPServer};
use crate::writes::{Write, FIELD_MANAGER};

/// The kind a write is about, for logs and the apply-error metric.
pub fn kind_of(w: &Write) -> &'static str {
    match w {
        Write::Apply { kind, .. } | Write::Status { kind, .. } => kind,
        Write::Event(_) => "Event",
    }
}

pub async fn execute(client: &Client, recorder: &Recorder, w: &Write) -> Result<(), kube::Error> {
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    match w {
        Write::Apply { kind: "ConfigMap", namespace, name, object } => {
            Api::<ConfigMap>::namespaced(client.clone(), namespace).patch(name, &pp, &Patch::Apply(object)).await.map(drop)
        }
        Write::Apply { namespace, name, object, .. } => {
            Api::<Deployment>::namespaced(client.clone(), namespace).patch(name, &pp, &Patch::Apply(object)).await.map(drop)
        }
        Write::Status { kind: "MCPServer", namespace, name, patch } => Api::<MCPServer>::namespaced(client.clone(), namespace.as_deref().unwrap_or_default())
            .patch_status(name, &pp, &Patch::Apply(patch))
            .await
            .map(drop),
        Write::Status { kind: "MCPGateway", namespace, name, patch } => Api::<MCPGateway>::namespaced(client.clone(), namespace.as_deref().unwrap_or_default())
            .patch_status(name, &pp, &Patch::Apply(patch))
            .await
            .map(drop),
        Write::Status { name, patch, .. } => Api::<MCPGatewayClass>::all(client.clone()).patch_status(name, &pp, &Patch::Apply(patch)).await.map(drop),
        Write::Event(e) => {
            let ev = KubeEvent {
                type_: if e.type_ == "Warning" { EventType::Warning } else { EventType::Normal },
                reason: e.reason.clone(),
                note: Some(e.note.clone()),
                action: e.action.clone(),
                secondary: None,
            };
            recorder.publish(&ev, &e.regarding).await
        }
    }
}
