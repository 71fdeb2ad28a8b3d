//! Actions, risks and decisions: what the policy decides about, and what it answers.
//!
//! Every attempt of an agent becomes an [`Action`]. The policy engine serialises it (with each
//! scope's risk added by the scope registry) into the Rego input document and answers a
//! [`Verdict`]: a [`Decision`], the reasons, and [`Obligations`] the later stages must honour.
//! [`Decision`] and [`Risk`] are ordered, so "the strictest wins" is `max`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::scope::Scope;

/// How much harm a scope can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
    Critical,
}

impl Risk {
    pub const ALL: [Self; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Risk {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("expected low, medium, high or critical, got {s:?}"))
    }
}

/// What the policy answers. Ordered `Allow < Ask < Deny`, so combining decisions is `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    /// A human must approve this exact action first.
    Ask,
    Deny,
}

impl Decision {
    pub const ALL: [Self; 3] = [Self::Allow, Self::Ask, Self::Deny];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Ask => "ask",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Decision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("expected allow, ask or deny, got {s:?}"))
    }
}

/// What kind of attempt an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A command or a skill run in the sandbox.
    Exec,
    /// An MCP tool call.
    ToolCall,
    /// An LLM call.
    ModelCall,
    /// A network connection through the egress proxy.
    Connection,
    /// A secret read.
    SecretAccess,
    /// A file read or write outside a run.
    FileAccess,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exec => "exec",
            Self::ToolCall => "tool_call",
            Self::ModelCall => "model_call",
            Self::Connection => "connection",
            Self::SecretAccess => "secret_access",
            Self::FileAccess => "file_access",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a skill's signature was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureStatus {
    /// Signed by a trusted key, and the signature verifies over the content digest.
    Signed,
    /// No signature.
    Unsigned,
    /// A signature that does not verify, or by an untrusted key.
    Invalid,
}

/// The skill on whose behalf an action runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Content digest, e.g. `sha256:…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub signature: SignatureStatus,
    /// Who signed it (a key id or identity), when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The agent (e.g. `claude-code`, `openclaw`).
    pub agent: String,
    /// The skill, when the action comes from one; `None` for the agent's own actions.
    #[serde(default)]
    pub skill: Option<SkillRef>,
}

/// A command line (argv; never secrets: those go through the broker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandLine {
    pub program: String,
    #[serde(default)]
    pub args: Vec<String>,
}

/// Where the content that led to the action came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Untrusted content (a tool result, a fetched page, a file) shaped this action.
    pub tainted: bool,
    /// Labels of the sources, e.g. `user`, `tool:github/search`, `web:example.com`.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// One guard detection, in a detector-neutral shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Which detector, e.g. `heuristics`, `classifier`, `secrets`.
    pub detector: String,
    /// What it found, e.g. `prompt_injection`, `jailbreak`, `secret`.
    pub kind: String,
    /// Confidence from 0 to 1.
    pub score: f64,
    #[serde(default)]
    pub detail: String,
}

/// A grant a human gave earlier in the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorApproval {
    pub scopes: Vec<Scope>,
    /// Until when it holds.
    #[serde(with = "humantime_serde")]
    pub expires_at: SystemTime,
}

/// The session the action belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub approvals: Vec<PriorApproval>,
}

/// The state of the installation when the action is decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// Lockdown: every action is refused until a human lifts it.
    pub lockdown: bool,
}

/// One attempt by an agent, as the policy sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub actor: Actor,
    pub kind: ActionKind,
    /// The scopes the action needs.
    pub scopes: Vec<Scope>,
    /// For `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandLine>,
    /// For `tool_call` and `model_call`: the arguments as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Value>,
    #[serde(default)]
    pub provenance: Provenance,
    #[serde(default)]
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub session: Session,
    /// When the action was attempted (RFC 3339 in the input document).
    #[serde(with = "humantime_serde")]
    pub time: SystemTime,
    #[serde(default)]
    pub environment: Environment,
}

impl Action {
    /// An action of `kind` by `agent` needing `scopes`, attempted now, with no skill, clean
    /// provenance, no findings, an empty session and no lockdown.
    pub fn new(agent: impl Into<String>, kind: ActionKind, scopes: Vec<Scope>) -> Self {
        Self {
            actor: Actor {
                agent: agent.into(),
                skill: None,
            },
            kind,
            scopes,
            command: None,
            arguments: None,
            provenance: Provenance::default(),
            findings: Vec::new(),
            session: Session::default(),
            time: SystemTime::now(),
            environment: Environment::default(),
        }
    }
}

/// Why the policy decided as it did: the rule and its message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reason {
    /// The rule (or engine check) that produced it, e.g. `unsigned_skill`, `engine.error`.
    pub rule: String,
    pub message: String,
    /// The requested scope it is about (as written in the input document); `None` when it is
    /// about the whole action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// What the stages after the policy must do if the action goes ahead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligations {
    /// An approval of this action holds at most this long.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub approval_ttl: Option<Duration>,
    /// The run is killed after this long.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_runtime: Option<Duration>,
    /// Outputs must go through the redactor.
    #[serde(default)]
    pub redact: bool,
}

impl Obligations {
    /// Combines two sets, keeping the stricter of each (shorter durations, redaction on).
    pub fn merge(self, other: Self) -> Self {
        let min = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self {
            approval_ttl: min(self.approval_ttl, other.approval_ttl),
            max_runtime: min(self.max_runtime, other.max_runtime),
            redact: self.redact || other.redact,
        }
    }
}

/// The policy's answer about one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub decision: Decision,
    /// The reasons for `decision` (for a deny, every deny reason).
    pub reasons: Vec<Reason>,
    pub obligations: Obligations,
}

impl Verdict {
    /// A deny for one reason (used for every failure: default deny).
    pub fn deny(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            decision: Decision::Deny,
            reasons: vec![Reason {
                rule: rule.into(),
                message: message.into(),
                scope: None,
            }],
            obligations: Obligations::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn strictest_wins_is_max() {
        assert_eq!(
            [Decision::Allow, Decision::Deny, Decision::Ask]
                .into_iter()
                .max(),
            Some(Decision::Deny)
        );
        assert_eq!(Decision::Allow.max(Decision::Ask), Decision::Ask);
        assert!(Risk::Low < Risk::Medium && Risk::High < Risk::Critical);
    }

    #[test]
    fn names_round_trip_and_are_exact() {
        for d in Decision::ALL {
            assert_eq!(d.as_str().parse::<Decision>(), Ok(d));
        }
        for r in Risk::ALL {
            assert_eq!(r.as_str().parse::<Risk>(), Ok(r));
        }
        assert!("Deny".parse::<Decision>().is_err());
        assert!("HIGH".parse::<Risk>().is_err());
    }

    #[test]
    fn obligations_merge_keeps_the_stricter() {
        let a = Obligations {
            approval_ttl: Some(Duration::from_secs(600)),
            max_runtime: None,
            redact: false,
        };
        let b = Obligations {
            approval_ttl: Some(Duration::from_secs(60)),
            max_runtime: Some(Duration::from_secs(30)),
            redact: true,
        };
        assert_eq!(
            a.merge(b),
            Obligations {
                approval_ttl: Some(Duration::from_secs(60)),
                max_runtime: Some(Duration::from_secs(30)),
                redact: true,
            }
        );
    }

    #[test]
    fn action_serialises_to_the_input_shape() {
        let mut action = Action::new(
            "claude-code",
            ActionKind::Exec,
            vec![
                "shell.exec".parse().unwrap(),
                "files.read:/tmp/../etc".parse().unwrap(),
            ],
        );
        action.time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        action.command = Some(CommandLine {
            program: "ls".into(),
            args: vec!["-l".into()],
        });
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "actor": {"agent": "claude-code", "skill": null},
                "kind": "exec",
                "scopes": ["shell.exec", "files.read:/etc"],
                "command": {"program": "ls", "args": ["-l"]},
                "provenance": {"tainted": false, "sources": []},
                "findings": [],
                "session": {"id": "", "approvals": []},
                "time": "2023-11-14T22:13:20Z",
                "environment": {"lockdown": false}
            })
        );
        let back: Action = serde_json::from_value(json).unwrap();
        assert_eq!(back, action);
    }
}
