//! Registry export over the fixture cluster: exactly the annotated, accepted, permitted routes,
//! with the external URLs their Gateways give them; cleanup when a route goes; the read API.

// Test helpers assert by panicking; clippy.toml's test allowances cover only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use mcpgw_k8s::registry::{self, api};
use serde_json::{json, Value};
use tower::ServiceExt;

fn urls(world: &mcpgw_k8s::world::World) -> Vec<(String, String)> {
    registry::export(world).0.iter().map(|e| (e.name().to_string(), e.url().to_string())).collect()
}

#[test]
fn exactly_the_annotated_accepted_routes_with_their_external_urls() {
    let world = cluster();
    assert_eq!(
        urls(&world),
        [
            // the route's hostname, HTTPS listener on 443, the rule's path
            ("com.example/weather".to_string(), "https://weather.example.com/mcp".to_string()),
            // the Gateway's address, the plain-HTTP listener's port, an Exact path (.com spelling)
            ("io.mcpgw.infra/status-page".into(), "http://203.0.113.7:8080/status/mcp".into()),
            // its Gateway is not in the cluster: the registry-url fallback (.io spelling)
            ("io.mcpgw.team-b/docs-internal".into(), "https://docs.internal.example.net/mcp".into()),
        ]
    );
    let skipped: Vec<(String, &str)> = registry::export(&world).1.iter().map(|s| (s.route.to_string(), s.reason)).collect();
    assert_eq!(
        skipped,
        [
            ("team-a/badname".to_string(), "InvalidName"),
            ("team-a/pending".into(), "RouteNotAccepted"),
            ("team-b/sneaky".into(), "NotAllowedByGateway"),
        ]
    );
}

#[test]
fn publisher_metadata_sits_under_meta() {
    let (entries, _) = registry::export(&cluster());
    let weather = &entries[0].server;
    assert_eq!(weather["$schema"], registry::SCHEMA_URL);
    assert_eq!(weather["remotes"], json!([{ "type": "streamable-http", "url": "https://weather.example.com/mcp" }]));
    let meta = &weather["_meta"]["io.modelcontextprotocol.registry/publisher-provided"][registry::PUBLISHER_KEY];
    assert_eq!(meta["tier"], "Official");
    assert_eq!(meta["tools"], json!(["get_forecast", "get_alerts"]));
    assert_eq!(meta["tags"], json!(["weather", "public"]));
    assert_eq!(meta["gateway"], "infra/public");
}

#[test]
fn a_deleted_or_unannotated_route_leaves_the_registry_with_no_trace() {
    let mut world = cluster();
    world.routes.retain(|r| r.metadata.name.as_deref() != Some("weather"));
    assert!(urls(&world).iter().all(|(n, _)| n != "com.example/weather"));
    let mut world = cluster();
    let r = world.routes.iter_mut().find(|r| r.metadata.name.as_deref() == Some("status-page")).unwrap();
    r.metadata.annotations.as_mut().unwrap().insert("toolhive.stacklok.com/registry-export".into(), "false".into());
    assert_eq!(urls(&world).len(), 2);
}

#[test]
fn a_route_its_gateway_stops_accepting_is_withdrawn_even_with_a_fallback_url() {
    let mut world = cluster();
    let r = world.routes.iter_mut().find(|r| r.metadata.name.as_deref() == Some("weather")).unwrap();
    r.metadata.annotations.as_mut().unwrap().insert("toolhive.stacklok.dev/registry-url".into(), "https://fallback.example.com/mcp".into());
    r.status = None;
    assert!(urls(&world).iter().all(|(n, _)| n != "com.example/weather"));
}

#[test]
fn registry_events_say_discovered_then_updated() {
    let world = cluster();
    let (first, _) = registry::export(&world);
    let events = registry::events(&world, &[], &first);
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e.reason == "EndpointDiscovered" && e.regarding.kind.as_deref() == Some("HTTPRoute")));
    let mut world2 = cluster();
    let r = world2.routes.iter_mut().find(|r| r.metadata.name.as_deref() == Some("weather")).unwrap();
    r.spec.hostnames = vec!["forecast.example.com".into()];
    let (second, _) = registry::export(&world2);
    let events = registry::events(&world2, &first, &second);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, "EndpointUpdated");
    assert!(events[0].note.contains("https://forecast.example.com/mcp"));
    assert!(registry::events(&world2, &second, &second).is_empty());
}

async fn get(app: axum::Router, uri: &str) -> (StatusCode, Value) {
    let resp = app.oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn app() -> axum::Router {
    let state = mcpgw_k8s::http::AppState::default();
    *state.entries.write().unwrap() = registry::export(&cluster()).0.into_iter().map(|e| e.server).collect();
    mcpgw_k8s::http::router(state)
}

#[tokio::test]
async fn the_read_api_lists_pages_and_finds_by_encoded_name() {
    let (s, body) = get(app(), "/v0/servers").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["metadata"]["count"], 3);
    assert!(body["metadata"].get("nextCursor").is_none());
    assert_eq!(body["servers"][0]["_meta"]["io.modelcontextprotocol.registry/official"]["status"], "active");

    let (_, page1) = get(app(), "/v0/servers?limit=2").await;
    assert_eq!(page1["metadata"]["count"], 2);
    let cursor = page1["metadata"]["nextCursor"].as_str().unwrap().to_string();
    let (_, page2) = get(app(), &format!("/v0/servers?limit=2&cursor={}", cursor.replace('/', "%2F"))).await;
    assert_eq!(page2["servers"][0]["server"]["name"], "io.mcpgw.team-b/docs-internal");
    assert!(page2["metadata"].get("nextCursor").is_none());

    let (_, found) = get(app(), "/v0/servers?search=weather").await;
    assert_eq!(found["metadata"]["count"], 1);

    let (s, one) = get(app(), "/v0/servers/com.example%2Fweather").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["server"]["remotes"][0]["url"], "https://weather.example.com/mcp");
    let (s, latest) = get(app(), "/v0.1/servers/com.example%2Fweather/versions/latest").await;
    assert_eq!((s, &latest["server"]["name"]), (StatusCode::OK, &json!("com.example/weather")));
    let (s, missing) = get(app(), "/v0/servers/com.example%2Fnope").await;
    assert_eq!((s, missing), (StatusCode::NOT_FOUND, json!({ "error": "Server not found" })));
}

#[tokio::test]
async fn health_and_readiness() {
    let state = mcpgw_k8s::http::AppState::default();
    let app = mcpgw_k8s::http::router(state.clone());
    let resp = app.clone().oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    state.ready.store(true, std::sync::atomic::Ordering::Release);
    let resp = app.clone().oneshot(Request::get("/readyz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    state.metrics.reconciles.inc();
    let resp = app.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    let text = String::from_utf8(axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
    assert!(text.contains("mcpgw_controller_reconciles_total 1"), "{text}");
}

#[test]
fn list_is_a_pure_function_of_the_entries() {
    let entries: Vec<Value> = registry::export(&cluster()).0.into_iter().map(|e| e.server).collect();
    let a = api::list(&entries, &api::ListQuery::default());
    assert_eq!(a, api::list(&entries, &api::ListQuery::default()));
}
