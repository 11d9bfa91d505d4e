//! The Gateway API's rule for references across namespaces: a reference from an object in
//! namespace A to one in namespace B holds only if a `ReferenceGrant` in B lets objects of that
//! group and kind in A refer to objects of that group and kind (all of them, or the one named).
//! The same namespace needs no grant.

use crate::gateway_api::ReferenceGrant;

/// One end of a reference: group (`""` for the core API), kind, namespace.
#[derive(Debug, Clone, Copy)]
pub struct From<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
}

#[derive(Debug, Clone, Copy)]
pub struct To<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

pub fn permitted(grants: &[ReferenceGrant], from: From<'_>, to: To<'_>) -> bool {
    if from.namespace == to.namespace {
        return true;
    }
    grants.iter().filter(|g| g.metadata.namespace.as_deref() == Some(to.namespace)).any(|g| {
        g.spec.from.iter().any(|f| f.group == from.group && f.kind == from.kind && f.namespace == from.namespace)
            && g.spec.to.iter().any(|t| t.group == to.group && t.kind == to.kind && t.name.as_deref().is_none_or(|n| n == to.name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(ns: &str, yaml: &str) -> ReferenceGrant {
        let mut g: ReferenceGrant = serde_norway::from_str(yaml).unwrap();
        g.metadata.namespace = Some(ns.into());
        g
    }

    #[test]
    fn grants_are_read_as_the_gateway_api_says() {
        let g = grant(
            "routes",
            "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: g}\nspec:\n  from: [{group: mcp.mcpgw.dev, kind: MCPServer, namespace: team-a}]\n  to: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: weather}]\n",
        );
        let from = |ns| From { group: "mcp.mcpgw.dev", kind: "MCPServer", namespace: ns };
        let to = |ns, name| To { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: ns, name };
        let grants = [g];
        assert!(permitted(&grants, from("team-a"), to("routes", "weather")));
        assert!(!permitted(&grants, from("team-a"), to("routes", "other")), "the grant names one route");
        assert!(!permitted(&grants, from("team-b"), to("routes", "weather")), "another namespace");
        assert!(!permitted(&grants, from("team-a"), to("elsewhere", "weather")), "a grant counts only in its own namespace");
        assert!(permitted(&[], from("x"), to("x", "anything")), "same namespace");
    }
}
