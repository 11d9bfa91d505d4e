//! The CRD YAML in deploy/crds/ is generated from the Rust types; this fails when someone
//! changed the types without regenerating (`cargo run -p mcpgw-k8s -- crds --out deploy/crds`).

// Test helpers assert by panicking; clippy.toml's test allowances cover only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

#[test]
fn committed_crds_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    let docs = mcpgw_k8s::crd::crd_documents().unwrap();
    assert_eq!(docs.len(), 3);
    for (file, yaml) in docs {
        let committed = std::fs::read_to_string(dir.join(&file)).unwrap_or_default();
        assert!(
            committed == yaml,
            "deploy/crds/{file} is stale: run `cargo run -p mcpgw-k8s --bin mcpgw-controller -- crds --out deploy/crds`"
        );
    }
    let mut on_disk: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    on_disk.sort();
    assert_eq!(on_disk, ["mcpgatewayclasses.mcp.mcpgw.dev.yaml", "mcpgateways.mcp.mcpgw.dev.yaml", "mcpservers.mcp.mcpgw.dev.yaml"]);
}

#[test]
fn crds_have_the_group_version_and_status_subresource() {
    for (_, yaml) in mcpgw_k8s::crd::crd_documents().unwrap() {
        let crd: serde_json::Value = serde_norway::from_str(yaml.trim_start_matches(|c| c != '\n')).unwrap();
        assert_eq!(crd["spec"]["group"], "mcp.mcpgw.dev");
        let v = &crd["spec"]["versions"][0];
        assert_eq!(v["name"], "v1alpha1");
        assert!(v["subresources"]["status"].is_object());
        assert!(v["schema"]["openAPIV3Schema"]["properties"]["spec"].is_object());
    }
}
