//! What the reconcile tests share: the fixture cluster (k8s/testdata/cluster) and a reconcile
//! at a fixed time.

// Test helpers assert by panicking; clippy.toml's test allowances cover only #[test] functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// Each test file uses some of the helpers.
#![allow(dead_code)]



use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use mcpgw_k8s::reconcile::{reconcile, Inputs, Options, Outputs, Probe};
use mcpgw_k8s::world::{ObjKey, World};

pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

pub fn cluster() -> World {
    mcpgw_k8s::manifests::read_dir(&testdata("cluster")).unwrap()
}

pub fn t(s: &str) -> Time {
    Time(s.parse().unwrap())
}

pub fn run(world: &World, probes: &BTreeMap<ObjKey, Probe>) -> Outputs {
    reconcile(&Inputs { world, probes, now: t("2026-03-01T12:00:00Z"), options: Options::default() })
}

pub fn key(ns: &str, name: &str) -> ObjKey {
    ObjKey::new(ns, name)
}

pub fn cond<'a>(conditions: &'a [Condition], type_: &str) -> &'a Condition {
    conditions.iter().find(|c| c.type_ == type_).unwrap_or_else(|| panic!("no {type_} condition"))
}

/// Writes the statuses back onto the objects, as the live layer's status patches do, so the
/// next reconcile sees them.
pub fn apply_statuses(world: &mut World, out: &Outputs) {
    for s in &mut world.servers {
        if let Some(st) = out.server_statuses.get(&ObjKey::of(s)) {
            s.status = Some(st.clone());
        }
    }
    for g in &mut world.gateways {
        if let Some(o) = out.gateways.iter().find(|o| o.key == ObjKey::of(g)) {
            g.status = Some(o.status.clone());
        }
    }
}
