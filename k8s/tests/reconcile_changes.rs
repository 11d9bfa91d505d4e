//! The reconcile across changes of the cluster: deletion, a server moving between groups,
//! ReferenceGrants granted and revoked.

// Test helpers assert by panicking; clippy.toml's test allowances cover only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;

use common::*;
use mcpgw_k8s::world::World;

fn served(world: &World, ns: &str, gw: &str) -> Vec<String> {
    let out = run(world, &BTreeMap::new());
    let g = out.gateways.iter().find(|g| g.key == key(ns, gw)).unwrap();
    g.config.as_ref().map(|c| c.servers.iter().map(|s| s.name.clone()).collect()).unwrap_or_default()
}

#[test]
fn a_deleted_server_leaves_its_gateway() {
    let mut world = cluster();
    assert_eq!(served(&world, "mcp", "agents"), ["weather.team-a", "docs.team-a"]);
    world.servers.retain(|s| s.metadata.name.as_deref() != Some("weather"));
    // Its prefix is free now: the newer server that clashed with it takes it.
    assert_eq!(served(&world, "mcp", "agents"), ["docs.team-a", "weather-v2.team-a"]);
    let out = run(&world, &BTreeMap::new());
    // Its credential Secret is no longer mounted either.
    let g = out.gateways.iter().find(|g| g.key == key("mcp", "agents")).unwrap();
    let volumes = g.broker_patch.as_ref().unwrap().pointer("/spec/template/spec/volumes").unwrap().as_array().unwrap().clone();
    assert!(volumes.iter().all(|v| v["name"] != "mcpgw-credentials"));
    assert!(out.server_statuses[&key("team-a", "weather-v2")].conditions.iter().any(|c| c.type_ == "Accepted" && c.status == "True"));
}

#[test]
fn a_deleted_gateway_has_no_outputs_and_its_servers_lose_ready() {
    let mut world = cluster();
    world.gateways.retain(|g| g.metadata.name.as_deref() != Some("agents"));
    let out = run(&world, &BTreeMap::new());
    assert!(out.gateways.iter().all(|g| g.key != key("mcp", "agents")));
    assert_eq!(cond(&out.server_statuses[&key("team-a", "weather")].conditions, "Ready").reason, "NoGateway");
}

#[test]
fn a_deleted_route_makes_its_server_route_not_found() {
    let mut world = cluster();
    world.routes.retain(|r| r.metadata.name.as_deref() != Some("weather"));
    let out = run(&world, &BTreeMap::new());
    assert_eq!(cond(&out.server_statuses[&key("team-a", "weather")].conditions, "Accepted").reason, "RouteNotFound");
    assert_eq!(served(&world, "mcp", "agents"), ["docs.team-a", "weather-v2.team-a"]);
}

#[test]
fn a_server_moving_between_groups_moves_between_gateways_with_an_event() {
    let mut world = cluster();
    let first = run(&world, &BTreeMap::new());
    apply_statuses(&mut world, &first);
    let docs = world.servers.iter_mut().find(|s| s.metadata.name.as_deref() == Some("docs")).unwrap();
    docs.metadata.labels.as_mut().unwrap().insert("group".into(), "ops".into());
    assert_eq!(served(&world, "mcp", "agents"), ["weather.team-a"]);
    // (runbooks has no creationTimestamp in the fixture, so it sorts first.)
    assert_eq!(served(&world, "team-a", "ops"), ["runbooks.team-a", "docs.team-a"]);
    let out = run(&world, &BTreeMap::new());
    assert_eq!(out.server_statuses[&key("team-a", "docs")].gateways, ["team-a/ops"]);
    let events: Vec<_> = out.events.iter().filter(|e| e.regarding.name.as_deref() == Some("docs")).collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, "EndpointUpdated");
    assert!(events[0].note.contains("team-a/ops") && events[0].note.contains("mcp/agents"), "{}", events[0].note);
}

#[test]
fn reference_grants_decide_cross_namespace_references() {
    let mut world = cluster();
    // Granting team-a's MCPServers the billing route in team-b lets billing in.
    mcpgw_k8s::manifests::add_text(
        &mut world,
        "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: mcp-servers, namespace: team-b}\nspec:\n  from: [{group: mcp.mcpgw.dev, kind: MCPServer, namespace: team-a}]\n  to: [{group: gateway.networking.k8s.io, kind: HTTPRoute}]\n",
    )
    .unwrap();
    assert!(served(&world, "mcp", "agents").contains(&"billing.team-a".to_string()));
    // Revoking the credential grant in mcp takes weather out (its Secret is no longer reachable).
    world.grants.retain(|g| g.metadata.name.as_deref() != Some("team-a-credentials"));
    let out = run(&world, &BTreeMap::new());
    assert_eq!(cond(&out.server_statuses[&key("team-a", "weather")].conditions, "Accepted").reason, "RefNotPermitted");
    assert!(!served(&world, "mcp", "agents").contains(&"weather.team-a".to_string()));
}

#[test]
fn a_namespace_losing_its_label_loses_its_servers() {
    let mut world = cluster();
    let ns = world.namespaces.iter_mut().find(|n| n.metadata.name.as_deref() == Some("team-a")).unwrap();
    ns.metadata.labels = None;
    assert!(served(&world, "mcp", "agents").is_empty());
}

#[test]
fn a_quiet_cluster_gets_only_idempotent_applies() {
    let mut world = cluster();
    let first = run(&world, &BTreeMap::new());
    let writes = mcpgw_k8s::writes::plan(&world, &first);
    let statuses = writes.iter().filter(|w| matches!(w, mcpgw_k8s::writes::Write::Status { .. })).count();
    // 13 servers, 3 gateways of ours, 1 class of ours.
    assert_eq!(statuses, 13 + 3 + 1);
    assert_eq!(writes.iter().filter(|w| matches!(w, mcpgw_k8s::writes::Write::Event(_))).count(), 3);
    apply_statuses(&mut world, &first);
    for c in &mut world.classes {
        if let Some(s) = first.class_statuses.get(c.metadata.name.as_deref().unwrap()) {
            c.status = Some(s.clone());
        }
    }
    let again = mcpgw_k8s::writes::plan(&world, &run(&world, &BTreeMap::new()));
    // Only the server-side applies of the ConfigMaps and Deployment patches remain, which the
    // API server treats as no-ops when nothing changed.
    assert!(again.iter().all(|w| matches!(w, mcpgw_k8s::writes::Write::Apply { .. })), "{again:?}");
    assert_eq!(again.len(), 4, "two gateways: a ConfigMap and a broker patch each");
}
