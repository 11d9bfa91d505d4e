//! The pure reconcile over the fixture cluster (k8s/testdata/cluster): which servers each
//! gateway serves, the gateway config it gets, and what each broken manifest's conditions say.

// Test helpers assert by panicking; clippy.toml's test allowances cover only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;

use common::*;
use mcpgw_k8s::reconcile::{Outputs, Probe};
use mcpgw_k8s::world::ObjKey;

fn out() -> Outputs {
    run(&cluster(), &BTreeMap::new())
}

fn gateway<'a>(out: &'a Outputs, ns: &str, name: &str) -> &'a mcpgw_k8s::reconcile::GatewayOutput {
    out.gateways.iter().find(|g| g.key == key(ns, name)).unwrap_or_else(|| panic!("no output for gateway {ns}/{name}"))
}

#[test]
fn the_agents_gateway_serves_its_group_in_conflict_order() {
    let out = out();
    let g = gateway(&out, "mcp", "agents");
    let config = g.config.as_ref().unwrap();
    let served: Vec<(&str, &str, &str)> = config.servers.iter().map(|s| (s.name.as_str(), s.prefix.as_str(), s.url.as_str())).collect();
    assert_eq!(
        served,
        [
            ("weather.team-a", "weather_", "http://weather.team-a.svc.cluster.local:8080/mcp"),
            ("docs.team-a", "docs_", "http://docs.docs.svc.cluster.local:3000/mcp"),
        ]
    );
    // Governance rules travel as the gateway config's own.
    assert_eq!(config.servers[0].tools.exclude, ["debug_*"]);
    assert_eq!(config.servers[0].tools.overrides["get_forecast"].name.as_deref(), Some("forecast"));
    assert_eq!(config.servers[1].tools.include, ["search", "fetch_page"]);
    assert_eq!(config.mcp_path, "/mcp");
    assert_eq!(config.allowed_hosts.as_deref(), Some(&["mcp.example.com".to_string()][..]));
    assert_eq!(g.status.url.as_deref(), Some("https://mcp.example.com/mcp"));
    assert_eq!(g.status.attached_server_count, 2);
    assert_eq!(cond(&g.status.conditions, "Accepted").status, "True");
    assert_eq!(cond(&g.status.conditions, "Programmed").status, "True");
    // What the ConfigMap carries is that config, and the broker parses it.
    let cm = g.config_map.as_ref().unwrap();
    assert_eq!(cm.metadata.name.as_deref(), Some("mcpgw-agents"));
    let yaml = &cm.data.as_ref().unwrap()["gateway.yaml"];
    mcpgw_common::gateway::CheckedConfig::from_yaml(yaml, None).unwrap();
    let owner = &cm.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.controller), ("MCPGateway", "agents", Some(true)));
}

#[test]
fn secrets_stay_secrets() {
    let out = out();
    let g = gateway(&out, "mcp", "agents");
    let yaml = g.config_yaml.as_ref().unwrap();
    assert!(!yaml.contains("not-a-real-token"), "a Secret value reached the ConfigMap");
    let weather = &g.config.as_ref().unwrap().servers[0];
    let c = weather.credential.as_ref().unwrap();
    assert_eq!(c.value_file.as_deref(), Some("/etc/mcpgw/credentials/weather-token/token"));
    assert!(c.value.is_none() && c.value_env.is_none());
    // The broker mounts the Secret's one key where the config says.
    let patch = g.broker_patch.as_ref().unwrap();
    let volumes = patch.pointer("/spec/template/spec/volumes").unwrap().as_array().unwrap();
    let creds = volumes.iter().find(|v| v["name"] == "mcpgw-credentials").unwrap();
    assert_eq!(
        creds["projected"]["sources"],
        serde_json::json!([{ "secret": { "name": "weather-token", "items": [{ "key": "token", "path": "weather-token/token" }] } }])
    );
    let mounts = patch.pointer("/spec/template/spec/containers/0/volumeMounts").unwrap();
    assert!(mounts.as_array().unwrap().iter().any(|m| m["mountPath"] == "/etc/mcpgw/credentials"));
    assert_eq!(patch.pointer("/metadata/name").unwrap(), "mcpgw-broker");
    let text = serde_json::to_string(&out.server_statuses.values().collect::<Vec<_>>()).unwrap() + &serde_json::to_string(&out.events).unwrap();
    assert!(!text.contains("not-a-real-token"));
}

#[test]
fn each_broken_server_says_why() {
    let out = out();
    let reason = |name: &str, ns: &str| {
        let st = &out.server_statuses[&key(ns, name)];
        (cond(&st.conditions, "Accepted").status.clone(), cond(&st.conditions, "Accepted").reason.clone(), cond(&st.conditions, "Ready").reason.clone())
    };
    let f = |r: &str, ready: &str| ("False".to_string(), r.to_string(), ready.to_string());
    assert_eq!(reason("no-route", "team-a"), f("RouteNotFound", "NotAccepted"));
    assert_eq!(reason("pending", "team-a"), f("RouteNotAccepted", "NotAccepted"));
    assert_eq!(reason("billing", "team-a"), f("RefNotPermitted", "NotAccepted"));
    assert_eq!(reason("weather-v2", "team-a"), f("PrefixClash", "NotAccepted"));
    assert_eq!(reason("no-secret", "team-a"), f("SecretNotFound", "NotAccepted"));
    assert_eq!(reason("local-secret", "team-a"), f("CredentialNotMountable", "NotAccepted"));
    assert_eq!(reason("both", "team-a"), f("InvalidSpec", "NotAccepted"));
    let ok = |ready: &str| ("True".to_string(), "Accepted".to_string(), ready.to_string());
    assert_eq!(reason("ungrouped", "team-a"), ok("NoGateway"));
    assert_eq!(reason("outsider", "team-b"), ok("NoGateway"));
    assert_eq!(reason("switched-off", "team-a"), ok("Disabled"));
    assert_eq!(reason("weather", "team-a"), ok("Pending"));
    let clash = &cond(&out.server_statuses[&key("team-a", "weather-v2")].conditions, "Accepted").message;
    assert!(clash.contains("weather_") && clash.contains("mcp/agents"), "{clash}");
}

#[test]
fn gateways_of_other_classes_are_left_alone_and_a_missing_class_is_reported() {
    let out = out();
    assert!(out.gateways.iter().all(|g| g.key != key("mcp", "foreign")));
    let orphan = gateway(&out, "mcp", "orphan");
    assert_eq!(cond(&orphan.status.conditions, "Accepted").reason, "ClassNotFound");
    assert!(orphan.config_map.is_none() && orphan.broker_patch.is_none());
    assert_eq!(out.class_statuses.keys().collect::<Vec<_>>(), ["mcpgw"]);
}

#[test]
fn an_externalname_service_names_the_backend_host_and_path_slash_means_mcp() {
    let out = out();
    let g = gateway(&out, "team-a", "ops");
    let servers = &g.config.as_ref().unwrap().servers;
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].url, "http://runbooks.ops.example.net:9000/mcp");
    assert_eq!(g.status.url.as_deref(), Some("http://ops.team-a.svc.cluster.local:8080/mcp"));
}

#[test]
fn probes_decide_ready_and_the_tool_count() {
    let world = cluster();
    let probes = BTreeMap::from([
        (key("team-a", "weather"), Probe::Tools(7)),
        (key("team-a", "docs"), Probe::Unreachable("connection refused".to_string())),
    ]);
    let out = run(&world, &probes);
    let weather = &out.server_statuses[&key("team-a", "weather")];
    assert_eq!((cond(&weather.conditions, "Ready").status.as_str(), weather.discovered_tools), ("True", Some(7)));
    let docs = &out.server_statuses[&key("team-a", "docs")];
    let ready = cond(&docs.conditions, "Ready");
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "BackendUnreachable"));
    assert!(ready.message.contains("connection refused"));
}

#[test]
fn endpoint_events_fire_once() {
    let mut world = cluster();
    let first = run(&world, &BTreeMap::new());
    let discovered: Vec<(String, String)> = first
        .events
        .iter()
        .map(|e| (e.reason.clone(), e.regarding.name.clone().unwrap()))
        .collect();
    assert_eq!(
        discovered,
        [("EndpointDiscovered".into(), "weather".into()), ("EndpointDiscovered".into(), "docs".into()), ("EndpointDiscovered".into(), "runbooks".into())]
    );
    apply_statuses(&mut world, &first);
    let second = run(&world, &BTreeMap::new());
    assert!(second.events.is_empty(), "{:?}", second.events);
    // Same statuses the second time, transition times included: a no-op for the API server.
    assert_eq!(first.server_statuses, second.server_statuses);
}

#[test]
fn reconcile_reads_nothing_but_the_world() {
    let world = cluster();
    let a = run(&world, &BTreeMap::new());
    let b = run(&world, &BTreeMap::new());
    let yaml = |o: &Outputs| o.gateways.iter().map(|g| g.config_yaml.clone()).collect::<Vec<_>>();
    assert_eq!(yaml(&a), yaml(&b));
    assert_eq!(a.server_statuses.keys().cloned().collect::<Vec<ObjKey>>().len(), world.servers.len());
}
