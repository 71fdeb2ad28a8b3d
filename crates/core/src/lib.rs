//! Shared foundation of AegisClaw.
//!
//! Every other crate builds on the types here:
//!
//! - [`Home`]: the `$AEGISCLAW_HOME` directory layout (0700 directories, 0600 files);
//! - [`Config`]: the typed, validated `config.toml` (unknown keys are errors that name the key
//!   and the line);
//! - [`fs`]: crash-safe file writes (temp file, fsync, rename, fsync of the directory);
//! - [`scope`]: the scope grammar (`domain.verb[:resource]`) with typed resources, and
//!   [`ScopeSet`], which turns granted scopes into mounts, egress rules and secret names;
//! - [`action`]: the [`Action`] every attempt becomes, and the policy's [`Verdict`]
//!   ([`Decision`] and [`Risk`] are ordered: the strictest wins with `max`).
//!
//! Data flows one way: the binary and the daemon use the runtime, the runtime uses the concern
//! crates, and every crate uses this one. Nothing here depends on another AegisClaw crate.

pub mod action;
mod config;
mod error;
pub mod fs;
mod home;
pub mod scope;

pub use action::{
    Action, ActionKind, Actor, CommandLine, Decision, Environment, Finding, Obligations,
    PriorApproval, Provenance, Reason, Risk, Session, SignatureStatus, SkillRef, Verdict,
};
pub use config::{
    ApprovalsConfig, AuditConfig, Config, ConfigError, CustomScopeConfig, DockerRuntime,
    GuardConfig, GuardMode, Limits, NetworkConfig, NotificationsConfig, OtlpProtocol, PolicyConfig,
    PolicyTemplate, SandboxBackend, SandboxConfig, SandboxLayer, ScopesConfig, SecretsBackend,
    SecretsConfig, ServerConfig, TelemetryConfig, UidRange, VaultConfig, Webhook, WebhookEvent,
    WebhookKind,
};
pub use error::{Error, Result};
pub use home::{HOME_ENV, Home};
pub use scope::{
    BuiltinScope, FilePath, HostPattern, HostRule, McpToolRef, ModelRef, Scope, ScopeError,
    ScopeName, ScopeSet, SecretName,
};
