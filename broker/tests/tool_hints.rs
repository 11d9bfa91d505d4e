//! Tool annotations as policy facts (issue 16): the broker learns the hints backends declare
//! on their tools from the lists it fetches and serves them to the credential holder
//! (`GET /tool-hints`, what `mcp-gateway up` hands to the filter); a tool the config annotates
//! is listed with the config's hints, not the backend's.

mod support;

use serde_json::{json, Value};
use support::backend::RmcpServer;
use support::*;

#[tokio::test]
async fn declared_hints_are_learnt_from_lists_and_the_configs_are_listed() {
    // The test backend declares every tool read-only.
    let alpha = RmcpServer::start("alpha", &["read", "wipe"]).await;
    let broker = Broker::start_with(&[("alpha", alpha.url.as_str(), "a_", 5000)], |yaml| {
        format!("{yaml}    tools:\n      overrides:\n        wipe:\n          annotations: {{ destructiveHint: true }}\n")
    })
    .await;
    let hints_url = format!("{}/tool-hints", broker.base());
    let learnt = || async { http().get(&hints_url).send().await.unwrap().json::<Value>().await.unwrap() };
    assert_eq!(learnt().await, json!({}), "nothing listed, nothing learnt");

    let c = client(&broker.url()).await;
    let tools = c.list_all_tools().await.unwrap();
    let annotations = |name: &str| tools.iter().find(|t| t.name == name).and_then(|t| t.annotations.clone()).unwrap();
    assert_eq!(annotations("a_read").read_only_hint, Some(true));
    let wipe = annotations("a_wipe");
    assert_eq!((wipe.destructive_hint, wipe.read_only_hint), (Some(true), None), "the config's hints, as a whole");

    // What the backend declared, not what the config says: the filter ranks them.
    assert_eq!(learnt().await, json!({"alpha": {"read": {"readOnlyHint": true}, "wipe": {"readOnlyHint": true}}}));
    let bare = reqwest::Client::new().get(&hints_url).send().await.unwrap();
    assert_eq!(bare.status().as_u16(), 403, "the backends' tool names are for the credential holder");
}
