//! The Envoy filters the config's `identity.jwt` puts in front of the gateway's filter: the
//! caller's bearer JWT is verified by Envoy's own `jwt_authn`, and its payload written to the
//! header the filter and the broker read claims from (`identity.payload_header`,
//! `mcpgw_common::scope`).
//!
//! With `session.subject_header` set too, `jwt_authn` also writes the token's `sub` claim
//! there: sessions are then bound to the verified caller, and Envoy policies (a rate limit per
//! caller: envoy-configs/ratelimit-tool-caller.yaml) can key on it.
//!
//! A client must never choose its own claims, so a `header_mutation` filter first removes
//! every client copy of those headers (all of them, whatever their case: Envoy's header names
//! are case-insensitive), and only then does `jwt_authn` write the verified ones. A request
//! without a token is refused (401) when `required`, else goes on with no claims.

use std::path::Path;

use mcpgw_common::gateway::{GatewayIdentity, JwtCheck};
use serde_json::{json, Value};

/// The provider's name in `jwt_authn` (one issuer).
const PROVIDER: &str = "mcp_gateway";

/// The dynamic metadata key `jwt_authn` also writes the payload under (namespace
/// `envoy.filters.http.jwt_authn`), for RBAC rules on claims.
pub const PAYLOAD_METADATA_KEY: &str = "jwt_payload";

/// The filters to put before the gateway's filter, in order; none without `identity.jwt`
/// (an authenticator in front of Envoy writes the header, and must remove client copies).
pub fn filters(identity: Option<&GatewayIdentity>, subject_header: Option<&str>, jwks_path: impl Fn(&str) -> std::path::PathBuf) -> Vec<Value> {
    let Some((identity, jwt)) = identity.and_then(|i| Some((i, i.jwt.as_ref()?))) else { return Vec::new() };
    let jwks = absolute(&jwks_path(&jwt.jwks_file));
    let written: Vec<String> = std::iter::once(identity.payload_header.as_str()).chain(subject_header).map(str::to_ascii_lowercase).collect();
    vec![strip_client_copies(&written), jwt_authn(&identity.payload_header, subject_header, jwt, &jwks)]
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string()
}

fn strip_client_copies(headers: &[String]) -> Value {
    let removals: Vec<Value> = headers.iter().map(|h| json!({ "remove": h })).collect();
    json!({
        "name": "mcp_gateway.strip_claims",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            "mutations": { "request_mutations": removals }
        }
    })
}

fn jwt_authn(header: &str, subject_header: Option<&str>, jwt: &JwtCheck, jwks: &str) -> Value {
    let mut provider = json!({
        "issuer": jwt.issuer,
        "local_jwks": { "filename": jwks },
        "forward_payload_header": header.to_ascii_lowercase(),
        "payload_in_metadata": PAYLOAD_METADATA_KEY,
        // Keep Authorization: each backend route removes it unless the server is configured to
        // receive it (forward_authorization), which jwt_authn's removal would break.
        "forward": true,
    });
    if let (false, Some(p)) = (jwt.audiences.is_empty(), provider.as_object_mut()) {
        p.insert("audiences".into(), json!(jwt.audiences));
    }
    if let (Some(h), Some(p)) = (subject_header, provider.as_object_mut()) {
        p.insert("claim_to_headers".into(), json!([{ "header_name": h.to_ascii_lowercase(), "claim_name": "sub" }]));
    }
    let requires = if jwt.required {
        json!({ "provider_name": PROVIDER })
    } else {
        json!({ "requires_any": { "requirements": [{ "provider_name": PROVIDER }, { "allow_missing": {} }] } })
    };
    json!({
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": { PROVIDER: provider },
            "rules": [
                // Discovery stays open: a client learns from RFC 9728 metadata where to get a token.
                { "match": { "prefix": "/.well-known/" } },
                { "match": { "prefix": "/" }, "requires": requires }
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(required: bool) -> GatewayIdentity {
        serde_json::from_value(json!({
            "payload_header": "X-Jwt-Payload",
            "jwt": { "issuer": "https://idp.test", "audiences": ["mcp"], "jwks_file": "jwks.json", "required": required }
        }))
        .unwrap()
    }

    #[test]
    fn strips_client_copies_before_verifying() {
        let f = filters(Some(&identity(true)), Some("X-Jwt-Sub"), |p| Path::new("/etc/mcp").join(p));
        assert_eq!(f.len(), 2);
        assert_eq!(f[0]["typed_config"]["mutations"]["request_mutations"], json!([{ "remove": "x-jwt-payload" }, { "remove": "x-jwt-sub" }]));
        let p = &f[1]["typed_config"]["providers"][PROVIDER];
        assert_eq!(p["claim_to_headers"], json!([{ "header_name": "x-jwt-sub", "claim_name": "sub" }]));
        assert_eq!(p["forward_payload_header"], "x-jwt-payload");
        assert_eq!(p["local_jwks"]["filename"], "/etc/mcp/jwks.json");
        assert_eq!(f[1]["typed_config"]["rules"][1]["requires"]["provider_name"], PROVIDER);
        let optional = filters(Some(&identity(false)), None, |p| Path::new("/x").join(p));
        assert!(optional[1]["typed_config"]["rules"][1]["requires"]["requires_any"].is_object());
        assert!(optional[1]["typed_config"]["providers"][PROVIDER].get("claim_to_headers").is_none());
        let no_jwt = GatewayIdentity { jwt: None, ..identity(true) };
        assert!(filters(Some(&no_jwt), None, |p| p.into()).is_empty());
        assert!(filters(None, None, |p| p.into()).is_empty());
    }
}
