//! Shared foundation of AegisClaw.
//!
//! Every other crate builds on the types here:
//!
//! - [`Home`]: the `$AEGISCLAW_HOME` directory layout (0700 directories, 0600 files);
//! - [`Config`]: the typed, validated `config.toml` (unknown keys are errors that name the key
//!   and the line);
//! - [`fs`]: crash-safe file writes (temp file, fsync, rename, fsync of the directory).
//!
//! Data flows one way: the binary and the daemon use the runtime, the runtime uses the concern
//! crates, and every crate uses this one. Nothing here depends on another AegisClaw crate.

mod config;
mod error;
pub mod fs;
mod home;

pub use config::{
    ApprovalsConfig, AuditConfig, Config, ConfigError, DockerRuntime, GuardConfig, GuardMode,
    Limits, NetworkConfig, NotificationsConfig, OtlpProtocol, PolicyConfig, PolicyTemplate,
    SandboxBackend, SandboxConfig, SecretsBackend, SecretsConfig, ServerConfig, TelemetryConfig,
    UidRange, VaultConfig, Webhook, WebhookEvent, WebhookKind,
};
pub use error::{Error, Result};
pub use home::{HOME_ENV, Home};
