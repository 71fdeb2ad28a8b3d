//! The typed `config.toml`.
//!
//! Every section has defaults, so an empty file (or no file) is a valid configuration: the
//! embedded defaults. Unknown keys are rejected, and every error names the file, the line, the
//! key and what was expected, so that a typo never silently weakens a protection.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytesize::ByteSize;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::action::Risk;
use crate::scope::{BuiltinScope, HostRule, ScopeName};

/// The whole configuration. See `README.md` ("Configuration") for a commented example.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub sandbox: SandboxConfig,
    pub policy: PolicyConfig,
    pub approvals: ApprovalsConfig,
    pub network: NetworkConfig,
    pub secrets: SecretsConfig,
    pub audit: AuditConfig,
    pub guard: GuardConfig,
    pub server: ServerConfig,
    pub telemetry: TelemetryConfig,
    pub notifications: NotificationsConfig,
    pub scopes: ScopesConfig,
}

/// `[sandbox]`: where actions run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Which isolation backend runs commands and skills.
    pub backend: SandboxBackend,
    /// The OCI runtime the Docker backend asks the engine for.
    pub runtime: DockerRuntime,
    /// Host uids/gids the sandbox may run as when AegisClaw itself runs as root.
    pub uid_range: UidRange,
    /// Default resource limits of a run; skills and flags can only lower them.
    pub limits: Limits,
    /// Protection layers a run may go without when the host cannot apply them. Empty by
    /// default: a missing layer refuses the run. Each run that uses an opt-out records it as
    /// degraded.
    pub allow_degraded: Vec<SandboxLayer>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            backend: SandboxBackend::Native,
            runtime: DockerRuntime::Runc,
            uid_range: UidRange::default(),
            limits: Limits::default(),
            allow_degraded: Vec::new(),
        }
    }
}

/// A protection layer of the native sandbox that may be knowingly switched off
/// (`sandbox.allow_degraded`). Layers not listed here (capabilities, no_new_privs, the mount,
/// pid and network namespaces) can never be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum SandboxLayer {
    /// The user namespace (only when AegisClaw runs as root; it then still switches to a
    /// dedicated unprivileged uid).
    UserNamespace,
    /// Landlock filesystem, network and scope rules.
    Landlock,
    /// The seccomp system-call filter.
    Seccomp,
    /// cgroup memory and pids limits (rlimits are used instead).
    Cgroups,
    /// Idmapped mounts of granted paths (files are then created as the sandbox uid).
    Idmap,
}

impl SandboxLayer {
    pub const ALL: [Self; 5] = [
        Self::UserNamespace,
        Self::Landlock,
        Self::Seccomp,
        Self::Cgroups,
        Self::Idmap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserNamespace => "user_namespace",
            Self::Landlock => "landlock",
            Self::Seccomp => "seccomp",
            Self::Cgroups => "cgroups",
            Self::Idmap => "idmap",
        }
    }
}

impl fmt::Display for SandboxLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sandbox backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum SandboxBackend {
    /// Linux namespaces, Landlock, seccomp and cgroups, built by AegisClaw itself.
    Native,
    /// A hardened container through the Docker Engine API.
    Docker,
    /// A QEMU/KVM micro virtual machine.
    Microvm,
}

impl SandboxBackend {
    pub const ALL: [Self; 3] = [Self::Native, Self::Docker, Self::Microvm];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Docker => "docker",
            Self::Microvm => "microvm",
        }
    }
}

impl fmt::Display for SandboxBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OCI runtime of the Docker engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum DockerRuntime {
    Runc,
    /// gVisor.
    Runsc,
    /// Kata Containers.
    Kata,
}

impl DockerRuntime {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Runc => "runc",
            Self::Runsc => "runsc",
            Self::Kata => "kata",
        }
    }
}

impl fmt::Display for DockerRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A block of host ids, `start .. start + count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UidRange {
    pub start: u32,
    pub count: u32,
}

impl Default for UidRange {
    /// Far above the ids `useradd` hands out and below the 32-bit overflow ids.
    fn default() -> Self {
        Self {
            start: 2_000_000_000,
            count: 65_536,
        }
    }
}

/// Resource limits of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Memory (cgroup), e.g. `"512MiB"`.
    pub memory: ByteSize,
    /// Processes and threads (cgroup pids.max).
    pub pids: u32,
    /// CPU time (RLIMIT_CPU), e.g. `"60s"`.
    #[serde(with = "humantime_serde")]
    pub cpu_time: Duration,
    /// Wall-clock time after which the whole process tree is killed, e.g. `"30s"`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Largest file a run may write (RLIMIT_FSIZE).
    pub file_size: ByteSize,
    /// Open file descriptors (RLIMIT_NOFILE).
    pub open_files: u32,
    /// Size of the private `/tmp` and `$HOME` tmpfs.
    pub tmp_size: ByteSize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: ByteSize::mib(512),
            pids: 128,
            cpu_time: Duration::from_secs(60),
            timeout: Duration::from_secs(30),
            file_size: ByteSize::mib(64),
            open_files: 256,
            tmp_size: ByteSize::mib(64),
        }
    }
}

/// `[policy]`: which policy decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// The template the active policy was made from.
    pub template: PolicyTemplate,
    /// The active policy file; relative paths are under the home. When unset the active policy
    /// is `policies/<template>.rego`, written by `aegisclaw init` or `aegisclaw policy use`.
    pub file: Option<PathBuf>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            template: PolicyTemplate::Standard,
            file: None,
        }
    }
}

/// A built-in policy template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum PolicyTemplate {
    /// Deny unsigned skills; ask for everything above low risk.
    Strict,
    /// Allow low-risk reads; ask for writes, exec, network and secrets.
    Standard,
    /// Allow up to medium risk; ask for high and critical.
    Permissive,
}

impl PolicyTemplate {
    pub const ALL: [Self; 3] = [Self::Strict, Self::Standard, Self::Permissive];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Standard => "standard",
            Self::Permissive => "permissive",
        }
    }
}

impl fmt::Display for PolicyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[approvals]`: how long a human has to decide, and how long a grant lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalsConfig {
    /// A pending approval not decided within this time is denied.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// The longest an "allow for a duration" grant may last.
    #[serde(with = "humantime_serde")]
    pub grant_ttl: Duration,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            grant_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

/// `[network]`: egress is denied unless a destination is allowed here or granted to a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Destinations every run may reach through the egress proxy: `host[:port]`, with
    /// `*.example.com` wildcards. Empty by default: nothing is reachable.
    pub allow: Vec<HostRule>,
}

/// `[scopes]`: scopes of your own, beside the built-in ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScopesConfig {
    /// `[[scopes.custom]]` entries. Not rendered when empty, so that a `[[scopes.custom]]`
    /// table can be appended to a generated config.toml.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom: Vec<CustomScopeConfig>,
}

impl ScopesConfig {
    /// The names of the declared custom scopes (`domain.verb`).
    pub fn custom_names(&self) -> Vec<&str> {
        self.custom.iter().map(|c| c.name.as_str()).collect()
    }
}

/// `[[scopes.custom]]`: a scope name the policy may be asked about, and its risk.
///
/// A custom scope carries no enforcement of its own (no mount, no egress rule): it is a label
/// the policy decides on, e.g. `jira.write` for a skill that edits Jira issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomScopeConfig {
    /// `domain.verb`, lowercase, not a built-in name.
    pub name: ScopeName,
    pub risk: Risk,
    /// What granting it allows, shown by `aegisclaw policy` commands.
    #[serde(default)]
    pub description: String,
}

/// `[secrets]`: where secret values are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    pub backend: SecretsBackend,
    pub vault: VaultConfig,
}

/// A secret store backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretsBackend {
    /// An age-encrypted file under the home.
    #[default]
    Age,
    /// HashiCorp Vault (or OpenBao) KV version 2.
    Vault,
}

/// `[secrets.vault]`: a Vault KV v2 store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    pub address: Url,
    /// The KV v2 mount.
    pub mount: String,
    /// Secrets live under `<mount>/data/<prefix>/<NAME>`.
    pub prefix: String,
    /// A file holding the token (read at use, never logged).
    pub token_file: Option<PathBuf>,
    /// An environment variable holding the token, used when `token_file` is unset.
    pub token_env: String,
    /// Vault Enterprise / OpenBao namespace.
    pub namespace: Option<String>,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            address: default_vault_address(),
            mount: "secret".into(),
            prefix: "aegisclaw".into(),
            token_file: None,
            token_env: "VAULT_TOKEN".into(),
            namespace: None,
        }
    }
}

#[expect(clippy::expect_used, reason = "a constant URL")]
fn default_vault_address() -> Url {
    Url::parse("http://127.0.0.1:8200").expect("invariant failed: constant URL parses")
}

/// `[audit]`: when signed checkpoints are written, and how the log is cut into segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// A checkpoint is signed at least every this many entries.
    pub checkpoint_every: u64,
    /// ... and at least this often while entries arrive.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
    /// A segment file that has reached this size is sealed and the next batch starts a new one
    /// (a segment may exceed it by one batch). Sealed segments are never rewritten.
    pub segment_size: ByteSize,
}

impl AuditConfig {
    /// The smallest accepted `segment_size`.
    pub const MIN_SEGMENT_SIZE: ByteSize = ByteSize::kib(4);
    /// The largest accepted `segment_size`.
    pub const MAX_SEGMENT_SIZE: ByteSize = ByteSize::gib(1);
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(60),
            segment_size: ByteSize::mib(8),
        }
    }
}

/// `[guard]`: what the guardrails do with a detection, per plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Skill and command inputs and outputs.
    pub host: GuardMode,
    /// MCP tool arguments and results.
    pub tools: GuardMode,
    /// Model prompts and responses.
    pub model: GuardMode,
    /// Content fetched through the egress proxy.
    pub network: GuardMode,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            host: GuardMode::Block,
            tools: GuardMode::Block,
            model: GuardMode::Warn,
            network: GuardMode::Warn,
        }
    }
}

/// What a guard detection leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum GuardMode {
    /// Do not scan.
    Off,
    /// Scan, record and taint; do not stop.
    Warn,
    /// Scan and stop what is flagged.
    Block,
}

impl GuardMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Warn => "warn",
            Self::Block => "block",
        }
    }
}

impl fmt::Display for GuardMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[server]`: the daemon's listeners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The Unix socket; relative paths are under the home. Default `daemon.sock` in the home.
    pub socket: Option<PathBuf>,
    /// The TCP address. Must be loopback unless `allow_remote` is set.
    pub bind: IpAddr,
    pub port: u16,
    /// Permit a non-loopback `bind` (API tokens are always required on TCP).
    pub allow_remote: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            socket: None,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 7878,
            allow_remote: false,
        }
    }
}

/// `[telemetry]`: metrics and traces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Serve Prometheus metrics at `/metrics` on the daemon.
    pub metrics: bool,
    /// Export OpenTelemetry spans here when set.
    pub otlp_endpoint: Option<Url>,
    pub otlp_protocol: OtlpProtocol,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            metrics: true,
            otlp_endpoint: None,
            otlp_protocol: OtlpProtocol::Http,
        }
    }
}

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtlpProtocol {
    Http,
    Grpc,
}

/// `[notifications]`: who hears about approvals, denials, detections and lockdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    pub webhooks: Vec<Webhook>,
}

/// `[[notifications.webhooks]]`: one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: Url,
    #[serde(default)]
    pub kind: WebhookKind,
    /// Which events are sent; all of them when empty.
    #[serde(default)]
    pub events: Vec<WebhookEvent>,
    /// An environment variable holding the HMAC-SHA256 signing key.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A file holding the HMAC-SHA256 signing key.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

/// Webhook payload format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookKind {
    /// JSON body signed with an HMAC-SHA256 header.
    #[default]
    Generic,
    /// A Slack incoming-webhook message.
    Slack,
}

/// Events a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEvent {
    ApprovalNeeded,
    Denial,
    Detection,
    Lockdown,
}

/// A configuration that could not be read, parsed or validated.
///
/// Displays as `FILE:LINE:COLUMN: key `KEY`: MESSAGE`, with whatever parts are known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column of the offending key or value.
    pub position: Option<(usize, usize)>,
    /// Dotted path of the offending key, e.g. `sandbox.limits.memory`.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Config {
    /// Loads `file`. A missing file is the embedded defaults; anything else that is wrong is
    /// an error.
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(file) {
            Ok(src) => Self::from_toml(&src, file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ConfigError {
                file: file.to_path_buf(),
                position: None,
                key: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// Parses and validates TOML text; `file` only names the source in errors.
    pub fn from_toml(src: &str, file: &Path) -> Result<Self, ConfigError> {
        let error = |position, key, message| ConfigError {
            file: file.to_path_buf(),
            position,
            key,
            message,
        };
        let table = toml::de::DeTable::parse(src).map_err(|e| {
            error(
                e.span().map(|s| line_column(src, s.start)),
                None,
                e.message().trim().to_string(),
            )
        })?;
        let root = toml::Spanned::new(
            table.span(),
            toml::de::DeValue::Table(table.get_ref().clone()),
        );
        let deserializer = toml::de::Deserializer::from(table);
        let config: Self = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = Some(e.path().to_string()).filter(|p| p != ".");
            let inner = e.into_inner();
            let position = inner
                .span()
                .map(|s| line_column(src, s.start))
                .or_else(|| key.as_deref().and_then(|k| locate(&root, k, src)));
            error(position, key, inner.message().trim().to_string())
        })?;
        config
            .validate()
            .map_err(|(key, message)| error(locate(&root, &key, src), Some(key), message))?;
        Ok(config)
    }

    /// Renders the configuration as TOML (every key, defaults included).
    pub fn to_toml(&self) -> String {
        match toml::to_string_pretty(self) {
            Ok(s) => s,
            // Every field is a plain value or table; serialisation cannot fail.
            Err(e) => format!("# cannot render configuration: {e}\n"),
        }
    }

    /// Checks what types cannot express. Returns the offending key and the problem.
    fn validate(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, msg: String| Err((key.to_string(), msg));
        let limits = &self.sandbox.limits;
        if limits.memory < ByteSize::mib(16) {
            return fail(
                "sandbox.limits.memory",
                format!("expected at least 16MiB, got {}", limits.memory),
            );
        }
        if limits.pids == 0 {
            return fail("sandbox.limits.pids", "expected at least 1 process".into());
        }
        if limits.open_files < 16 {
            return fail(
                "sandbox.limits.open_files",
                "expected at least 16 open files".into(),
            );
        }
        for (key, value) in [
            ("sandbox.limits.timeout", limits.timeout),
            ("sandbox.limits.cpu_time", limits.cpu_time),
        ] {
            if value.is_zero() {
                return fail(key, "expected a positive duration such as \"30s\"".into());
            }
        }
        let degraded = &self.sandbox.allow_degraded;
        if let Some(dup) = degraded
            .iter()
            .enumerate()
            .find_map(|(i, l)| degraded[..i].contains(l).then_some(l))
        {
            return fail(
                "sandbox.allow_degraded",
                format!("`{dup}` is listed twice; list each layer at most once"),
            );
        }
        let range = self.sandbox.uid_range;
        if range.start < 1000 || range.count == 0 || range.start.checked_add(range.count).is_none()
        {
            return fail(
                "sandbox.uid_range",
                format!(
                    "expected a non-empty range of unprivileged ids (start >= 1000, start + count < 2^32), got start={} count={}",
                    range.start, range.count
                ),
            );
        }
        if self.approvals.timeout.is_zero() {
            return fail(
                "approvals.timeout",
                "expected a positive duration such as \"5m\"".into(),
            );
        }
        if self.approvals.grant_ttl.is_zero() {
            return fail(
                "approvals.grant_ttl",
                "expected a positive duration such as \"8h\"".into(),
            );
        }
        for (i, custom) in self.scopes.custom.iter().enumerate() {
            let key = format!("scopes.custom[{i}].name");
            if BuiltinScope::from_name(custom.name.as_str()).is_some() {
                return fail(
                    &key,
                    format!(
                        "{} is a built-in scope; its risk cannot be redefined (choose another name)",
                        custom.name
                    ),
                );
            }
            if self.scopes.custom[..i]
                .iter()
                .any(|c| c.name == custom.name)
            {
                return fail(&key, format!("{} is declared twice", custom.name));
            }
        }
        let vault = &self.secrets.vault;
        if !matches!(vault.address.scheme(), "http" | "https") {
            return fail(
                "secrets.vault.address",
                format!("expected an http:// or https:// URL, got {}", vault.address),
            );
        }
        if vault.mount.is_empty() || vault.mount.contains(['/', ' ']) {
            return fail(
                "secrets.vault.mount",
                "expected a mount name without '/' or spaces, such as \"secret\"".into(),
            );
        }
        if self.audit.checkpoint_every == 0 {
            return fail("audit.checkpoint_every", "expected at least 1 entry".into());
        }
        if self.audit.checkpoint_interval.is_zero() {
            return fail(
                "audit.checkpoint_interval",
                "expected a positive duration such as \"60s\"".into(),
            );
        }
        let segment = self.audit.segment_size;
        if !(AuditConfig::MIN_SEGMENT_SIZE..=AuditConfig::MAX_SEGMENT_SIZE).contains(&segment) {
            return fail(
                "audit.segment_size",
                format!(
                    "expected a size from {} to {}, such as \"8MiB\", got {segment}",
                    AuditConfig::MIN_SEGMENT_SIZE,
                    AuditConfig::MAX_SEGMENT_SIZE
                ),
            );
        }
        if !self.server.bind.is_loopback() && !self.server.allow_remote {
            return fail(
                "server.bind",
                format!(
                    "{} is not a loopback address; set server.allow_remote = true to expose the API beyond this machine",
                    self.server.bind
                ),
            );
        }
        if self.server.port == 0 {
            return fail("server.port", "expected a port from 1 to 65535".into());
        }
        if let Some(endpoint) = &self.telemetry.otlp_endpoint
            && !matches!(endpoint.scheme(), "http" | "https")
        {
            return fail(
                "telemetry.otlp_endpoint",
                format!("expected an http:// or https:// URL, got {endpoint}"),
            );
        }
        for (i, hook) in self.notifications.webhooks.iter().enumerate() {
            if !matches!(hook.url.scheme(), "http" | "https") {
                return fail(
                    &format!("notifications.webhooks[{i}].url"),
                    format!("expected an http:// or https:// URL, got {}", hook.url),
                );
            }
            if hook.secret_env.is_some() && hook.secret_file.is_some() {
                return fail(
                    &format!("notifications.webhooks[{i}]"),
                    "expected at most one of secret_env and secret_file".into(),
                );
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Finds the position of a dotted key path (`a.b[2].c`) in the parsed document. Falls back to
/// the deepest part of the path that exists (a missing key is reported at its table).
fn locate(
    root: &toml::Spanned<toml::de::DeValue<'_>>,
    key: &str,
    src: &str,
) -> Option<(usize, usize)> {
    let mut node = root;
    let mut found = None;
    for segment in key.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        match node.get_ref().get(name) {
            Some(child) => node = child,
            None => break,
        }
        found = Some(node.span());
        if let Some(i) = index {
            match node.get_ref().get(i) {
                Some(child) => node = child,
                None => break,
            }
            found = Some(node.span());
        }
    }
    found.map(|span| line_column(src, span.start))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
