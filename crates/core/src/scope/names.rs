//! Named resources: secrets, MCP tools, models, and the names of scopes themselves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Implements `Display`, `FromStr` and string serde for a type with `parse` and `Display`.
macro_rules! string_type {
    ($ty:ty) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A secret's name, as the store and the broker know it: a letter or `_`, then up to 127
/// letters, digits, `_`, `.` or `-` (so it is also a safe file name), e.g. `GITHUB_TOKEN`.
/// Names are case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretName(String);

impl SecretName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut bytes = raw.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
        if first_ok
            && raw.len() <= 128
            && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            Ok(Self(raw.to_string()))
        } else {
            Err(format!(
                "expected a secret name such as GITHUB_TOKEN (a letter or _, then letters, digits, _ . -; at most 128), got {raw:?}"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_type!(SecretName);

/// One part of an MCP tool or model reference: 1-128 letters, digits, `_`, `.` or `-`.
fn is_ident(s: &str, extra: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') || extra.contains(&b)
        })
}

/// An MCP tool, `server/tool`, or every tool of a server, `server/*`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct McpToolRef {
    server: String,
    /// `None` is `*`: every tool of the server.
    tool: Option<String>,
}

impl McpToolRef {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "expected server/tool or server/* (letters, digits, _ . -), e.g. \"github/create_issue\", got {raw:?}"
            )
        };
        let (server, tool) = raw.split_once('/').ok_or_else(bad)?;
        if !is_ident(server, &[]) {
            return Err(bad());
        }
        let tool = match tool {
            "*" => None,
            t if is_ident(t, &[]) => Some(t.to_string()),
            _ => return Err(bad()),
        };
        Ok(Self {
            server: server.to_string(),
            tool,
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// The tool, or `None` for every tool of the server.
    pub fn tool(&self) -> Option<&str> {
        self.tool.as_deref()
    }

    /// Whether calling `server`/`tool` is allowed by this reference.
    pub fn matches(&self, server: &str, tool: &str) -> bool {
        self.server == server && self.tool.as_deref().is_none_or(|t| t == tool)
    }

    pub fn covers(&self, other: &McpToolRef) -> bool {
        self.server == other.server && (self.tool.is_none() || self.tool == other.tool)
    }
}

impl fmt::Display for McpToolRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.server, self.tool.as_deref().unwrap_or("*"))
    }
}
string_type!(McpToolRef);

/// A model of a provider, `provider/model`, or every model of a provider, `provider/*`.
/// The provider is lowercase; the model may contain `/ : @ +` (e.g.
/// `openrouter/meta-llama/llama-3-8b`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelRef {
    provider: String,
    /// `None` is `*`: every model of the provider.
    model: Option<String>,
}

impl ModelRef {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "expected provider/model or provider/*, e.g. \"anthropic/claude-sonnet-4\", got {raw:?}"
            )
        };
        let (provider, model) = raw.split_once('/').ok_or_else(bad)?;
        let provider_ok =
            is_ident(provider, &[]) && provider.bytes().all(|b| !b.is_ascii_uppercase());
        if !provider_ok {
            return Err(bad());
        }
        let model = match model {
            "*" => None,
            m if is_ident(m, b"/:@+") && !m.starts_with('/') && !m.ends_with('/') => {
                Some(m.to_string())
            }
            _ => return Err(bad()),
        };
        Ok(Self {
            provider: provider.to_string(),
            model,
        })
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The model, or `None` for every model of the provider.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    pub fn matches(&self, provider: &str, model: &str) -> bool {
        self.provider == provider && self.model.as_deref().is_none_or(|m| m == model)
    }

    pub fn covers(&self, other: &ModelRef) -> bool {
        self.provider == other.provider && (self.model.is_none() || self.model == other.model)
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.provider,
            self.model.as_deref().unwrap_or("*")
        )
    }
}
string_type!(ModelRef);

/// The name of a scope, `domain.verb`: two lowercase words (a letter, then letters, digits,
/// `_` or `-`) joined by one dot. Names are exact: `SHELL.EXEC` is an error, not `shell.exec`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeName(String);

impl ScopeName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let word = |w: &str| {
            w.len() <= 32
                && w.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && w.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-')
                })
        };
        match raw.split_once('.') {
            Some((domain, verb)) if word(domain) && word(verb) => Ok(Self(raw.to_string())),
            _ if raw.bytes().any(|b| b.is_ascii_uppercase()) => Err(format!(
                "scope names are lowercase and exact: {raw:?} is not accepted (did you mean {:?}?)",
                raw.to_ascii_lowercase()
            )),
            _ => Err(format!(
                "expected a scope name domain.verb (lowercase letters, digits, _ or -), e.g. \"files.read\", got {raw:?}"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('.').map_or("", |(d, _)| d)
    }

    pub fn verb(&self) -> &str {
        self.0.split_once('.').map_or("", |(_, v)| v)
    }
}

impl fmt::Display for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
string_type!(ScopeName);

/// A scope that is not built in (declared in `[scopes]` of the configuration): its name and
/// an optional free-form resource (printable, no spaces, at most 1024 bytes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomScope {
    pub(crate) name: ScopeName,
    pub(crate) resource: Option<String>,
}

impl CustomScope {
    pub fn name(&self) -> &ScopeName {
        &self.name
    }

    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    pub(crate) fn check_resource(raw: &str) -> Result<(), String> {
        if raw.is_empty()
            || raw.len() > 1024
            || raw.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            Err(format!(
                "expected a resource of 1-1024 printable characters without spaces, got {raw:?}"
            ))
        } else {
            Ok(())
        }
    }
}
