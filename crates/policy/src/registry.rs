//! The scope registry: every scope the policy may be asked about, its risk, and what granting
//! it means for enforcement.

use std::collections::BTreeMap;

use aegisclaw_core::{BuiltinScope, Risk, Scope, ScopesConfig};
use serde::Serialize;

use crate::error::{Error, Result};

/// What the registry knows about one scope name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeInfo {
    /// `domain.verb`.
    pub name: String,
    pub risk: Risk,
    /// Built in, or declared in `[[scopes.custom]]`.
    pub builtin: bool,
    /// How the resource is written (`an absolute path`, `no resource`, …).
    pub resource: String,
    /// What a grant of it becomes at enforcement time.
    pub enforcement: String,
    /// What it allows, in a few words.
    pub description: String,
}

/// Built-in risk, enforcement and description of each built-in scope.
fn builtin_info(b: BuiltinScope) -> (Risk, &'static str, &'static str) {
    match b {
        BuiltinScope::FilesRead => (
            Risk::Low,
            "a read-only bind mount of the path in the sandbox",
            "read files under the path",
        ),
        BuiltinScope::FilesWrite => (
            Risk::Medium,
            "a read-write bind mount of the path in the sandbox",
            "create, change and delete files under the path",
        ),
        BuiltinScope::ShellExec => (
            Risk::High,
            "commands may run in the sandbox",
            "run commands and programs",
        ),
        BuiltinScope::NetOutbound => (
            Risk::Medium,
            "an allow rule of the egress proxy",
            "open connections to the host",
        ),
        BuiltinScope::SecretsAccess => (
            Risk::High,
            "the secret as a file on the sandbox's tmpfs for the lease",
            "read the secret's value",
        ),
        BuiltinScope::McpTool => (
            Risk::Medium,
            "the MCP gateway passes calls to the tool",
            "call the MCP tool",
        ),
        BuiltinScope::LlmCall => (
            Risk::Low,
            "the LLM proxy passes calls to the model",
            "call the model",
        ),
        BuiltinScope::EmailSend => (Risk::High, "the email tools may send", "send email"),
        BuiltinScope::EmailRead => (Risk::Medium, "the email tools may read", "read email"),
        BuiltinScope::CalendarRead => (
            Risk::Low,
            "the calendar tools may read",
            "read the calendar",
        ),
        BuiltinScope::CalendarWrite => (
            Risk::Medium,
            "the calendar tools may write",
            "create and change calendar events",
        ),
        BuiltinScope::PaymentsSend => (Risk::Critical, "the payment tools may pay", "send money"),
        BuiltinScope::BrowserNavigate => (
            Risk::Medium,
            "the browser may open the host",
            "open pages of the host in the browser",
        ),
        // `BuiltinScope` is non-exhaustive; a name added there without an entry here is as
        // risky as it gets until someone decides otherwise.
        #[allow(unreachable_patterns)]
        _ => (
            Risk::Critical,
            "no enforcement is defined",
            "an unclassified built-in scope",
        ),
    }
}

/// Every scope the policy may be asked about: the built-in ones and those declared in
/// `[[scopes.custom]]`. An unknown scope is an error, never a default risk.
#[derive(Debug, Clone, Default)]
pub struct ScopeRegistry {
    custom: BTreeMap<String, (Risk, String)>,
}

impl ScopeRegistry {
    /// The built-in scopes only.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// The built-in scopes and the custom ones of the configuration (already validated there:
    /// no built-in name, no duplicates).
    pub fn from_config(scopes: &ScopesConfig) -> Self {
        Self {
            custom: scopes
                .custom
                .iter()
                .map(|c| (c.name.to_string(), (c.risk, c.description.clone())))
                .collect(),
        }
    }

    /// What is known about a scope name, or `None` when it is neither built in nor declared.
    pub fn info(&self, name: &str) -> Option<ScopeInfo> {
        if let Some(b) = BuiltinScope::from_name(name) {
            let (risk, enforcement, description) = builtin_info(b);
            return Some(ScopeInfo {
                name: name.to_string(),
                risk,
                builtin: true,
                resource: b.resource_kind().describe().to_string(),
                enforcement: enforcement.to_string(),
                description: description.to_string(),
            });
        }
        self.custom.get(name).map(|(risk, description)| ScopeInfo {
            name: name.to_string(),
            risk: *risk,
            builtin: false,
            resource: "optional, free-form".to_string(),
            enforcement: "none of its own: a label the policy decides on".to_string(),
            description: description.clone(),
        })
    }

    /// Every known scope, built-in ones first.
    pub fn entries(&self) -> Vec<ScopeInfo> {
        BuiltinScope::ALL
            .iter()
            .map(|b| b.name())
            .chain(self.custom.keys().map(String::as_str))
            .filter_map(|n| self.info(n))
            .collect()
    }

    /// The risk of a parsed scope; an undeclared custom scope is an error.
    pub fn risk(&self, scope: &Scope) -> Result<Risk> {
        self.info(scope.name())
            .map(|i| i.risk)
            .ok_or_else(|| self.unknown(scope.name()))
    }

    /// Parses a scope and checks that it is known.
    pub fn parse(&self, raw: &str) -> Result<Scope> {
        let scope = Scope::parse(raw)?;
        self.risk(&scope)?;
        Ok(scope)
    }

    fn unknown(&self, name: &str) -> Error {
        let mut known: Vec<&str> = BuiltinScope::ALL.iter().map(|b| b.name()).collect();
        known.extend(self.custom.keys().map(String::as_str));
        // Suggest a known name with the same domain or the same verb (`file.read` → `files.read`).
        let (domain, verb) = name.split_once('.').unwrap_or((name, ""));
        let close = known.iter().find(|k| {
            let (d, v) = k.split_once('.').unwrap_or((k, ""));
            d == domain || (!verb.is_empty() && v == verb)
        });
        let hint = match close {
            Some(k) => format!(
                "did you mean {k}? Declare scopes of your own in [[scopes.custom]] of config.toml"
            ),
            None => format!(
                "known scopes: {}; declare scopes of your own in [[scopes.custom]] of config.toml",
                known.join(", ")
            ),
        };
        Error::UnknownScope {
            name: name.to_string(),
            hint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegisclaw_core::{CustomScopeConfig, ScopeName};

    #[test]
    fn every_builtin_has_a_classification() {
        let r = ScopeRegistry::builtin();
        for b in BuiltinScope::ALL {
            let info = r.info(b.name()).unwrap();
            assert!(info.builtin);
            assert!(!info.enforcement.contains("no enforcement"), "{}", b.name());
        }
        assert_eq!(r.entries().len(), BuiltinScope::ALL.len());
    }

    #[test]
    fn unknown_and_custom_scopes() {
        let r = ScopeRegistry::builtin();
        let e = r.parse("file.read:/tmp").unwrap_err().to_string();
        assert!(
            e.contains("unknown scope") && e.contains("files.read"),
            "{e}"
        );
        let e = r.parse("jira.write").unwrap_err().to_string();
        assert!(e.contains("[[scopes.custom]]"), "{e}");
        assert!(
            r.parse("SHELL.EXEC")
                .unwrap_err()
                .to_string()
                .contains("lowercase")
        );

        let r = ScopeRegistry::from_config(&ScopesConfig {
            custom: vec![CustomScopeConfig {
                name: ScopeName::parse("jira.write").unwrap(),
                risk: Risk::High,
                description: "edit issues".into(),
            }],
        });
        let scope = r.parse("jira.write:PROJ").unwrap();
        assert_eq!(r.risk(&scope).unwrap(), Risk::High);
        assert_eq!(r.entries().last().unwrap().name, "jira.write");
    }
}
