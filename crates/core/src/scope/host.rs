//! Network destinations: `host[:port]` rules with `*.domain` wildcards and IP literals.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const EXPECTED: &str = "expected host[:port], e.g. \"api.github.com:443\", \"*.example.com\", \"10.0.0.1:22\" or \"[::1]:8080\"";

/// What a [`HostRule`] matches before the port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostPattern {
    /// Exactly this DNS name (lowercase, no trailing dot).
    Name(String),
    /// Any name strictly below this domain: `*.example.com` matches `a.example.com` and
    /// `a.b.example.com`, not `example.com` itself.
    Wildcard(String),
    /// Exactly this address (IPv4-mapped IPv6 addresses are stored as IPv4).
    Ip(IpAddr),
}

/// A destination the egress proxy may let through: a host pattern and an optional port (any
/// port when absent).
///
/// Parsing is strict: DNS names are ASCII (use punycode for international names), labels are
/// 1-63 letters, digits or hyphens, and a name whose last label is numeric (`127.1`,
/// `0x7f.1`) is rejected because resolvers may read it as an IP address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostRule {
    host: HostPattern,
    port: Option<u16>,
}

impl HostRule {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("{EXPECTED}, got {raw:?}");
        if raw.is_empty() || raw.len() > 300 {
            return Err(bad());
        }
        // Bracketed IPv6, with or without a port.
        if let Some(rest) = raw.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
            let ip: Ipv6Addr = ip.parse().map_err(|_| bad())?;
            let port = match after {
                "" => None,
                _ => Some(parse_port(after.strip_prefix(':').ok_or_else(bad)?, raw)?),
            };
            return Ok(Self::new_ip(IpAddr::V6(ip), port));
        }
        // A bare IPv6 address (no port possible without brackets).
        if let Ok(ip) = raw.parse::<Ipv6Addr>() {
            return Ok(Self::new_ip(IpAddr::V6(ip), None));
        }
        let (host, port) = match raw.split_once(':') {
            Some((h, p)) => (h, Some(parse_port(p, raw)?)),
            None => (raw, None),
        };
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(Self::new_ip(IpAddr::V4(ip), port));
        }
        let (wildcard, name) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, host),
        };
        let name = check_dns_name(name).map_err(|why| format!("{}: {why}", bad()))?;
        let host = if wildcard {
            HostPattern::Wildcard(name)
        } else {
            HostPattern::Name(name)
        };
        Ok(Self { host, port })
    }

    fn new_ip(ip: IpAddr, port: Option<u16>) -> Self {
        Self {
            host: HostPattern::Ip(ip.to_canonical()),
            port,
        }
    }

    pub fn host(&self) -> &HostPattern {
        &self.host
    }

    /// The port, or `None` for any port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether a connection to `host` (a DNS name or an IP literal, brackets allowed) on
    /// `port` is allowed by this rule. Names compare case-insensitively; a wildcard never
    /// matches an IP address.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return self.host == HostPattern::Ip(ip.to_canonical());
        }
        let name = bare.strip_suffix('.').unwrap_or(bare).to_ascii_lowercase();
        match &self.host {
            HostPattern::Name(n) => *n == name,
            HostPattern::Wildcard(suffix) => is_strictly_below(&name, suffix),
            HostPattern::Ip(_) => false,
        }
    }

    /// Whether every destination `other` allows is also allowed by this rule.
    pub fn covers(&self, other: &HostRule) -> bool {
        let port_ok = match (self.port, other.port) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        port_ok
            && match (&self.host, &other.host) {
                (HostPattern::Wildcard(s), HostPattern::Name(n)) => is_strictly_below(n, s),
                (HostPattern::Wildcard(s), HostPattern::Wildcard(o)) => {
                    s == o || is_strictly_below(o, s)
                }
                (a, b) => a == b,
            }
    }
}

fn is_strictly_below(name: &str, domain: &str) -> bool {
    name.len() > domain.len() + 1
        && name.ends_with(domain)
        && name.as_bytes()[name.len() - domain.len() - 1] == b'.'
}

fn parse_port(p: &str, raw: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(port) if port > 0 && !p.starts_with(['+', '0']) => Ok(port),
        _ => Err(format!("{EXPECTED}; the port of {raw:?} is not 1-65535")),
    }
}

/// Lowercases and checks a DNS name; returns it without a trailing dot.
fn check_dns_name(name: &str) -> Result<String, String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("the host name is empty".into());
    }
    if name.len() > 253 {
        return Err("the host name is longer than 253 characters".into());
    }
    if !name.is_ascii() {
        return Err(
            "the host name is not ASCII; write international names in punycode (xn--…)".into(),
        );
    }
    let name = name.to_ascii_lowercase();
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "label {label:?} is not 1-63 letters, digits or inner hyphens"
            ));
        }
    }
    let last = name.rsplit('.').next().unwrap_or_default();
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if last.bytes().all(|b| b.is_ascii_digit()) || hex {
        return Err(
            "a name ending in a number is read as an IP address by some resolvers; write the address as a.b.c.d".into(),
        );
    }
    Ok(name)
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(n) => f.write_str(n),
            Self::Wildcard(s) => write!(f, "*.{s}"),
            Self::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Self::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

impl FromStr for HostRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for HostRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HostRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}
