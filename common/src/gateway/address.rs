//! Addresses in the gateway config and on the command line, split by the `url` crate: a
//! server's URL cut into the parts Envoy needs (cluster address, TLS, upstream path), and
//! `host:port` (`listen`, `broker.listen`, `--admin`, `--default-upstream`). The broker calls
//! the same server URLs through reqwest, which parses them with the same crate, so Envoy's
//! upstream path and the broker's request line agree.

use url::{Host, Url};

/// A server URL cut into the parts Envoy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    pub tls: bool,
    /// IPv6 hosts are written `[::1]`.
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

/// The URL parser silently drops tabs and newlines and trims spaces and control characters:
/// a config value holding them is a mistake, not something to repair.
fn has_blank_or_control(s: &str) -> bool {
    s.bytes().any(|b| b <= b' ' || b == 0x7f)
}

/// Splits `http(s)://host[:port][/path][?query]`. IPv6 hosts are written `[::1]`.
pub fn parse_url(url: &str) -> Result<UrlParts, String> {
    let unusable = || format!("url {url:?} is not a usable http(s) URL");
    if has_blank_or_control(url) {
        return Err(unusable());
    }
    let u = Url::parse(url).map_err(|e| format!("url {url:?} must be http:// or https://host[:port][/path] ({e})"))?;
    let tls = match u.scheme() {
        "http" => false,
        "https" => true,
        _ => return Err(format!("url {url:?} must start with http:// or https://")),
    };
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!("url {url:?} carries credentials, which belong in `credential`"));
    }
    if u.fragment().is_some() {
        return Err(unusable());
    }
    let host = u.host_str().filter(|h| !h.is_empty()).ok_or_else(unusable)?.to_string();
    let port = u.port_or_known_default().ok_or_else(unusable)?;
    let path = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    Ok(UrlParts { tls, host, port, path })
}

/// A `host[:port]` address. IPv6 hosts are written `[::1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// Without brackets, as a socket address wants it.
    pub host: String,
    pub port: Option<u16>,
}

/// A scheme the URL parser knows nothing of: no default port to swallow an explicit `:80`, no
/// rewriting of the host beyond what an authority allows.
const AUTHORITY_ONLY: &str = "authority";

impl HostPort {
    pub fn parse(s: &str) -> Result<HostPort, String> {
        let bad = |why: &str| format!("{s:?} is not host:port ({why})");
        if has_blank_or_control(s) {
            return Err(bad("blank or control characters"));
        }
        let u = Url::parse(&format!("{AUTHORITY_ONLY}://{s}")).map_err(|e| bad(&e.to_string()))?;
        if !u.path().is_empty() || u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
            return Err(bad("only a host and a port"));
        }
        let host = match u.host() {
            Some(Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(Host::Ipv4(a)) => a.to_string(),
            Some(Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad("no host")),
        };
        Ok(HostPort { host, port: u.port() })
    }

    /// Like [`HostPort::parse`], the port required.
    pub fn parse_with_port(s: &str) -> Result<(String, u16), String> {
        let hp = HostPort::parse(s)?;
        let port = hp.port.ok_or_else(|| format!("{s:?} is not host:port (no port)"))?;
        Ok((hp.host, port))
    }

    /// Where to connect to reach something listening here: a wildcard host (`0.0.0.0`, `::`)
    /// becomes loopback.
    pub fn connecting(mut self) -> HostPort {
        match self.host.as_str() {
            "0.0.0.0" => self.host = "127.0.0.1".into(),
            "::" => self.host = "::1".into(),
            _ => {}
        }
        self
    }

    /// As an HTTP authority: `host[:port]`, an IPv6 host bracketed.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }

    /// `localhost` or a loopback IP address.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn urls_keep_what_envoy_needs_and_refuse_what_it_cannot_use() {
        let u = parse_url("http://[::1]:9/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 9));
        assert_eq!(parse_url("http://h:80/mcp").unwrap().port, 80);
        assert_eq!(parse_url("http://h?q=1").unwrap().path, "/?q=1");
        assert_eq!(parse_url("http://h/x?").unwrap().path, "/x?");
        for bad in ["nope", "http://h/a b", "http://h/m\ncp", " http://h/", "http://h/#frag", "http://u@h/", "http://"] {
            assert!(parse_url(bad).is_err(), "{bad:?}");
        }
        assert!(parse_url("nope").unwrap_err().contains("http://"));
    }

    #[test]
    fn host_and_port() {
        let hp = |s: &str| HostPort::parse(s).unwrap();
        assert_eq!(hp("127.0.0.1:9000"), HostPort { host: "127.0.0.1".into(), port: Some(9000) });
        assert_eq!(hp("[fd00::2]:80"), HostPort { host: "fd00::2".into(), port: Some(80) });
        assert_eq!(hp("Broker.Local:80").host, "Broker.Local");
        assert_eq!(hp("localhost").port, None);
        assert_eq!(HostPort::parse_with_port("h:1").unwrap(), ("h".to_string(), 1));
        for bad in ["", ":80", "h:x", "h:1/p", "u@h:1", "h:99999", "a b:1"] {
            assert!(HostPort::parse(bad).is_err(), "{bad:?}");
        }
        assert!(HostPort::parse_with_port("h").is_err());
        assert_eq!(hp("0.0.0.0:9000").connecting().authority(), "127.0.0.1:9000");
        assert_eq!(hp("[::]:9000").connecting().authority(), "[::1]:9000");
        assert_eq!(hp("[fd00::2]:9000").connecting().authority(), "[fd00::2]:9000");
        assert!(hp("127.0.0.2:1").is_loopback() && hp("[::1]:1").is_loopback() && hp("localhost:1").is_loopback());
        assert!(!hp("0.0.0.0:1").is_loopback() && !hp("example.com:1").is_loopback());
    }
}
