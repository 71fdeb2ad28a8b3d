//! Scopes: what an action needs, and what a grant hands to enforcement.
//!
//! A scope is written `domain.verb[:resource]`:
//!
//! | scope | resource | enforced as |
//! |---|---|---|
//! | `files.read:/home/me/docs` | absolute path | a read-only mount |
//! | `files.write:/home/me/out` | absolute path | a read-write mount |
//! | `shell.exec` | — | commands may run in the sandbox |
//! | `net.outbound:api.github.com:443` | `host[:port]`, `*.domain`, IP | an egress-proxy allow rule |
//! | `secrets.access:GITHUB_TOKEN` | secret name | the secret as a file on the sandbox's tmpfs |
//! | `mcp.tool:github/create_issue` | `server/tool` or `server/*` | the MCP gateway lets the call through |
//! | `llm.call:anthropic/claude-sonnet-4` | `provider/model` or `provider/*` | the LLM proxy lets the call through |
//! | `email.send`, `email.read` | — | the email tools |
//! | `calendar.read`, `calendar.write` | — | the calendar tools |
//! | `payments.send` | — | the payment tools |
//! | `browser.navigate:example.com` | host rule | the browser may open the host |
//!
//! Parsing ([`Scope::from_str`](std::str::FromStr)) checks the grammar and types the resource
//! of every built-in scope. A well-formed name that is not built in parses as
//! [`Scope::Custom`]; whether it was declared (in `[scopes]` of the configuration) is decided
//! by the policy crate's registry, which rejects undeclared ones. Names are exact: `SHELL.EXEC`
//! is an error.
//!
//! [`ScopeSet`] turns granted scopes into what enforcement consumes: mounts, egress rules,
//! secret names, MCP tools and models.

mod host;
mod names;
mod path;
mod set;

use std::fmt;
use std::str::FromStr;

pub use host::{HostPattern, HostRule};
pub use names::{CustomScope, McpToolRef, ModelRef, ScopeName, SecretName};
pub use path::FilePath;
pub use set::ScopeSet;

/// A parsed scope.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    FilesRead(FilePath),
    FilesWrite(FilePath),
    ShellExec,
    NetOutbound(HostRule),
    SecretsAccess(SecretName),
    McpTool(McpToolRef),
    LlmCall(ModelRef),
    EmailSend,
    EmailRead,
    CalendarRead,
    CalendarWrite,
    PaymentsSend,
    BrowserNavigate(HostRule),
    /// A scope declared in the configuration (not built in).
    Custom(CustomScope),
}

/// The kind of resource a built-in scope takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    None,
    Path,
    Host,
    Secret,
    McpTool,
    Model,
}

impl ResourceKind {
    /// How the resource is written, for help and errors.
    pub fn describe(self) -> &'static str {
        match self {
            Self::None => "no resource",
            Self::Path => "an absolute path",
            Self::Host => "host[:port] (or *.domain, or an IP address)",
            Self::Secret => "a secret name",
            Self::McpTool => "server/tool (or server/*)",
            Self::Model => "provider/model (or provider/*)",
        }
    }
}

/// The built-in scope names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum BuiltinScope {
    FilesRead,
    FilesWrite,
    ShellExec,
    NetOutbound,
    SecretsAccess,
    McpTool,
    LlmCall,
    EmailSend,
    EmailRead,
    CalendarRead,
    CalendarWrite,
    PaymentsSend,
    BrowserNavigate,
}

impl BuiltinScope {
    pub const ALL: [Self; 13] = [
        Self::FilesRead,
        Self::FilesWrite,
        Self::ShellExec,
        Self::NetOutbound,
        Self::SecretsAccess,
        Self::McpTool,
        Self::LlmCall,
        Self::EmailSend,
        Self::EmailRead,
        Self::CalendarRead,
        Self::CalendarWrite,
        Self::PaymentsSend,
        Self::BrowserNavigate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::FilesRead => "files.read",
            Self::FilesWrite => "files.write",
            Self::ShellExec => "shell.exec",
            Self::NetOutbound => "net.outbound",
            Self::SecretsAccess => "secrets.access",
            Self::McpTool => "mcp.tool",
            Self::LlmCall => "llm.call",
            Self::EmailSend => "email.send",
            Self::EmailRead => "email.read",
            Self::CalendarRead => "calendar.read",
            Self::CalendarWrite => "calendar.write",
            Self::PaymentsSend => "payments.send",
            Self::BrowserNavigate => "browser.navigate",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    pub fn resource_kind(self) -> ResourceKind {
        match self {
            Self::FilesRead | Self::FilesWrite => ResourceKind::Path,
            Self::NetOutbound | Self::BrowserNavigate => ResourceKind::Host,
            Self::SecretsAccess => ResourceKind::Secret,
            Self::McpTool => ResourceKind::McpTool,
            Self::LlmCall => ResourceKind::Model,
            Self::ShellExec
            | Self::EmailSend
            | Self::EmailRead
            | Self::CalendarRead
            | Self::CalendarWrite
            | Self::PaymentsSend => ResourceKind::None,
        }
    }

    /// A representative scope of this name (for examples, tables and tests).
    pub fn example(self) -> Scope {
        let text = match self.resource_kind() {
            ResourceKind::None => self.name().to_string(),
            ResourceKind::Path => format!("{}:/home/me/docs", self.name()),
            ResourceKind::Host if self == Self::BrowserNavigate => {
                format!("{}:example.com", self.name())
            }
            ResourceKind::Host => format!("{}:api.github.com:443", self.name()),
            ResourceKind::Secret => format!("{}:GITHUB_TOKEN", self.name()),
            ResourceKind::McpTool => format!("{}:github/create_issue", self.name()),
            ResourceKind::Model => format!("{}:anthropic/claude-sonnet-4", self.name()),
        };
        match text.parse() {
            Ok(scope) => scope,
            // Every example above is well-formed; `shell.exec` is the harmless fallback.
            Err(_) => Scope::ShellExec,
        }
    }
}

impl fmt::Display for BuiltinScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scope that is not well-formed. The message names the scope and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope {scope:?}: {reason}")]
pub struct ScopeError {
    pub scope: String,
    pub reason: String,
}

impl Scope {
    /// Parses `domain.verb[:resource]`.
    pub fn parse(raw: &str) -> Result<Self, ScopeError> {
        let fail = |reason: String| ScopeError {
            scope: raw.to_string(),
            reason,
        };
        let (name, resource) = match raw.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (raw, None),
        };
        let name = ScopeName::parse(name).map_err(fail)?;
        let Some(builtin) = BuiltinScope::from_name(name.as_str()) else {
            if let Some(r) = resource {
                CustomScope::check_resource(r).map_err(fail)?;
            }
            return Ok(Self::Custom(CustomScope {
                name,
                resource: resource.map(str::to_string),
            }));
        };
        let kind = builtin.resource_kind();
        let resource = match (kind, resource) {
            (ResourceKind::None, None) => "",
            (ResourceKind::None, Some(_)) => {
                return Err(fail(format!(
                    "{builtin} takes no resource; write just `{builtin}`"
                )));
            }
            (_, None | Some("")) => {
                return Err(fail(format!(
                    "{builtin} needs a resource: {builtin}:<{}>",
                    kind.describe()
                )));
            }
            (_, Some(r)) => r,
        };
        Ok(match builtin {
            BuiltinScope::FilesRead => Self::FilesRead(FilePath::parse(resource).map_err(fail)?),
            BuiltinScope::FilesWrite => Self::FilesWrite(FilePath::parse(resource).map_err(fail)?),
            BuiltinScope::ShellExec => Self::ShellExec,
            BuiltinScope::NetOutbound => {
                Self::NetOutbound(HostRule::parse(resource).map_err(fail)?)
            }
            BuiltinScope::SecretsAccess => {
                Self::SecretsAccess(SecretName::parse(resource).map_err(fail)?)
            }
            BuiltinScope::McpTool => Self::McpTool(McpToolRef::parse(resource).map_err(fail)?),
            BuiltinScope::LlmCall => Self::LlmCall(ModelRef::parse(resource).map_err(fail)?),
            BuiltinScope::EmailSend => Self::EmailSend,
            BuiltinScope::EmailRead => Self::EmailRead,
            BuiltinScope::CalendarRead => Self::CalendarRead,
            BuiltinScope::CalendarWrite => Self::CalendarWrite,
            BuiltinScope::PaymentsSend => Self::PaymentsSend,
            BuiltinScope::BrowserNavigate => {
                Self::BrowserNavigate(HostRule::parse(resource).map_err(fail)?)
            }
        })
    }

    /// The built-in name, or `None` for a custom scope.
    pub fn builtin(&self) -> Option<BuiltinScope> {
        Some(match self {
            Self::FilesRead(_) => BuiltinScope::FilesRead,
            Self::FilesWrite(_) => BuiltinScope::FilesWrite,
            Self::ShellExec => BuiltinScope::ShellExec,
            Self::NetOutbound(_) => BuiltinScope::NetOutbound,
            Self::SecretsAccess(_) => BuiltinScope::SecretsAccess,
            Self::McpTool(_) => BuiltinScope::McpTool,
            Self::LlmCall(_) => BuiltinScope::LlmCall,
            Self::EmailSend => BuiltinScope::EmailSend,
            Self::EmailRead => BuiltinScope::EmailRead,
            Self::CalendarRead => BuiltinScope::CalendarRead,
            Self::CalendarWrite => BuiltinScope::CalendarWrite,
            Self::PaymentsSend => BuiltinScope::PaymentsSend,
            Self::BrowserNavigate(_) => BuiltinScope::BrowserNavigate,
            Self::Custom(_) => return None,
        })
    }

    /// `domain.verb`.
    pub fn name(&self) -> &str {
        match self {
            Self::Custom(c) => c.name.as_str(),
            other => other.builtin().map_or("", BuiltinScope::name),
        }
    }

    /// The resource as written after the `:` (normalised), if any.
    pub fn resource(&self) -> Option<String> {
        match self {
            Self::FilesRead(p) | Self::FilesWrite(p) => Some(p.to_string()),
            Self::NetOutbound(h) | Self::BrowserNavigate(h) => Some(h.to_string()),
            Self::SecretsAccess(s) => Some(s.to_string()),
            Self::McpTool(t) => Some(t.to_string()),
            Self::LlmCall(m) => Some(m.to_string()),
            Self::Custom(c) => c.resource.clone(),
            Self::ShellExec
            | Self::EmailSend
            | Self::EmailRead
            | Self::CalendarRead
            | Self::CalendarWrite
            | Self::PaymentsSend => None,
        }
    }

    /// Whether granting `self` also grants `requested`: the same name (or `files.write` for a
    /// `files.read`) with a resource that contains the requested one.
    pub fn covers(&self, requested: &Scope) -> bool {
        match (self, requested) {
            (Self::FilesRead(g), Self::FilesRead(r))
            | (Self::FilesWrite(g), Self::FilesWrite(r) | Self::FilesRead(r)) => g.covers(r),
            (Self::NetOutbound(g), Self::NetOutbound(r))
            | (Self::BrowserNavigate(g), Self::BrowserNavigate(r)) => g.covers(r),
            (Self::McpTool(g), Self::McpTool(r)) => g.covers(r),
            (Self::LlmCall(g), Self::LlmCall(r)) => g.covers(r),
            (Self::Custom(g), Self::Custom(r)) => {
                g.name == r.name && (g.resource.is_none() || g.resource == r.resource)
            }
            (g, r) => g == r,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        if let Some(resource) = self.resource() {
            write!(f, ":{resource}")?;
        }
        Ok(())
    }
}

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "scope_tests.rs"]
mod tests;
