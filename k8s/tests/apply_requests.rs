//! The requests the live layer sends for each planned write, against a recording fake of the
//! API server behind kube's Client (no cluster here): server-side applies with our field
//! manager, forced, to the right paths; statuses through the status subresource; Events
//! created with the events.k8s.io API. What a real API server does with them is not tested.

// Test helpers assert by panicking; clippy.toml's test allowances cover only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::*;
use kube::client::Body;
use kube::runtime::events::{Recorder, Reporter};
use kube::Client;
use mcpgw_k8s::apply::execute;
use mcpgw_k8s::writes::{plan, Write};
use serde_json::{json, Value};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path_and_query: String,
    content_type: String,
    body: Value,
}

/// An object the client can decode as the answer for `path` (the kind the request is about).
fn answer(path: &str) -> Value {
    let meta = json!({ "name": "x", "namespace": "ns", "resourceVersion": "1", "uid": "u" });
    if path.contains("/mcpservers/") {
        json!({ "apiVersion": "mcp.mcpgw.dev/v1alpha1", "kind": "MCPServer", "metadata": meta, "spec": { "toolPrefix": "" } })
    } else if path.contains("/mcpgateways/") {
        json!({ "apiVersion": "mcp.mcpgw.dev/v1alpha1", "kind": "MCPGateway", "metadata": meta, "spec": { "gatewayClassName": "" } })
    } else if path.contains("/mcpgatewayclasses/") {
        json!({ "apiVersion": "mcp.mcpgw.dev/v1alpha1", "kind": "MCPGatewayClass", "metadata": meta, "spec": { "controllerName": "" } })
    } else if path.contains("/events") {
        json!({ "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": meta, "eventTime": "2026-03-01T12:00:00.000000Z" })
    } else if path.contains("/deployments/") {
        json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta })
    } else {
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta })
    }
}

fn fake_api() -> (Client, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let service = tower::service_fn(move |req: http::Request<Body>| {
        let log = log.clone();
        async move {
            let method = req.method().to_string();
            let path_and_query = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
            let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            let bytes = req.into_body().collect_bytes().await.unwrap();
            let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())) };
            let reply = answer(&path_and_query);
            log.lock().unwrap().push(Seen { method, path_and_query, content_type, body });
            Ok::<_, std::convert::Infallible>(http::Response::builder().status(200).body(Body::from(serde_json::to_vec(&reply).unwrap())).unwrap())
        }
    });
    (Client::new(service, "default"), seen)
}

#[tokio::test]
async fn each_write_is_the_request_the_api_server_expects() {
    let world = cluster();
    let outputs = run(&world, &BTreeMap::new());
    let writes = plan(&world, &outputs);
    let (client, seen) = fake_api();
    let recorder = Recorder::new(client.clone(), Reporter { controller: "mcpgw-controller".into(), instance: None });
    for w in &writes {
        execute(&client, &recorder, w).await.unwrap_or_else(|e| panic!("{w:?}: {e}"));
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), writes.len());
    let find = |path: &str| seen.iter().find(|s| s.path_and_query.starts_with(path)).unwrap_or_else(|| panic!("no request to {path}: {seen:#?}"));

    let cm = find("/api/v1/namespaces/mcp/configmaps/mcpgw-agents?");
    assert_eq!(cm.method, "PATCH");
    assert_eq!(cm.content_type, "application/apply-patch+yaml");
    assert!(cm.path_and_query.contains("fieldManager=mcpgw-controller") && cm.path_and_query.contains("force=true"), "{}", cm.path_and_query);
    assert_eq!((cm.body["apiVersion"].as_str(), cm.body["kind"].as_str()), (Some("v1"), Some("ConfigMap")));
    assert!(cm.body["data"]["gateway.yaml"].as_str().unwrap().contains("weather.team-a"));

    let dep = find("/apis/apps/v1/namespaces/mcp/deployments/mcpgw-broker?");
    assert_eq!((dep.method.as_str(), dep.content_type.as_str()), ("PATCH", "application/apply-patch+yaml"));
    assert_eq!(dep.body["spec"]["template"]["spec"]["containers"][0]["name"], "broker");

    let st = find("/apis/mcp.mcpgw.dev/v1alpha1/namespaces/team-a/mcpservers/weather/status?");
    assert_eq!((st.method.as_str(), st.content_type.as_str()), ("PATCH", "application/apply-patch+yaml"));
    assert_eq!(st.body["kind"], "MCPServer");
    assert_eq!(st.body["status"]["url"], "http://weather.team-a.svc.cluster.local:8080/mcp");
    find("/apis/mcp.mcpgw.dev/v1alpha1/namespaces/mcp/mcpgateways/agents/status?");
    find("/apis/mcp.mcpgw.dev/v1alpha1/mcpgatewayclasses/mcpgw/status?");

    let events: Vec<&Seen> = seen.iter().filter(|s| s.path_and_query.starts_with("/apis/events.k8s.io/v1/namespaces/")).collect();
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.method == "POST"));
    let weather = events.iter().find(|e| e.path_and_query.starts_with("/apis/events.k8s.io/v1/namespaces/team-a/events")).unwrap();
    assert_eq!(weather.body["reason"], "EndpointDiscovered");
    assert_eq!(weather.body["reportingController"], "mcpgw-controller");

    // No Secret value in any request.
    for s in &seen {
        assert!(!s.body.to_string().contains("not-a-real-token"), "{}", s.path_and_query);
    }
    assert!(writes.iter().all(|w| !matches!(w, Write::Apply { kind, .. } if *kind != "ConfigMap" && *kind != "Deployment")));
}
