//! Server URLs cut into the parts Envoy needs (cluster address, TLS, upstream path).

/// A server URL cut into the parts Envoy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

/// Splits `http(s)://host[:port][/path]`. IPv6 hosts are written `[::1]`.
pub fn parse_url(url: &str) -> Result<UrlParts, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else {
        return Err(format!("url {url:?} must start with http:// or https://"));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("url {url:?} has no host (or carries credentials, which belong in `credential`)"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            (h.to_string(), p.parse::<u16>().map_err(|_| format!("url {url:?}: bad port {p:?}"))?)
        }
        _ => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    if host.is_empty() || path.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'#') {
        return Err(format!("url {url:?} is not a usable http(s) URL"));
    }
    Ok(UrlParts { tls, host, port, path })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:3001/mcp").unwrap();
        assert_eq!((u.tls, u.host.as_str(), u.port, u.path.as_str()), (false, "127.0.0.1", 3001, "/mcp"));
        let u = parse_url("https://example.com").unwrap();
        assert_eq!((u.port, u.path.as_str()), (443, "/"));
        assert_eq!(parse_url("http://[::1]:9/x?y=1").unwrap().path, "/x?y=1");
        assert!(parse_url("ftp://x").is_err());
        assert!(parse_url("http://u:p@x/").is_err());
        assert!(parse_url("http://x:notaport/").is_err());
    }
}
