//! What a sandbox is made of (plain data, no scope strings) and what runs in it.

use std::ffi::OsString;
use std::fmt;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aegisclaw_core::{Limits, SandboxLayer};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Where the secret files of a run appear inside the sandbox.
pub const SECRETS_DIR: &str = "/run/secrets";
/// `$HOME` inside the sandbox (a private tmpfs).
pub const SANDBOX_HOME: &str = "/home/sandbox";
/// The uid and gid a command has inside the sandbox (never host uid 0).
pub const SANDBOX_UID: u32 = 1000;

/// The largest secret file a run accepts.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Everything a sandbox is made of. The runtime maps granted scopes onto these fields; nothing
/// that is not listed here exists inside.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxSpec {
    /// The workspace, mounted read-write at the same path; the default working directory.
    /// Protected paths in it (`.git/hooks`, `.git/config`, shell rc files, editor and agent
    /// configuration) stay read-only.
    pub workspace: Option<PathBuf>,
    /// Host paths visible read-only (at the same path).
    pub read_only: Vec<PathBuf>,
    /// Host paths visible read-write (at the same path), protected like the workspace.
    pub read_write: Vec<PathBuf>,
    /// Paths that stay invisible even when they lie inside a granted path (AegisClaw's own home,
    /// for instance): an empty read-only directory or file covers them.
    pub hidden: Vec<PathBuf>,
    /// Environment of every command, on top of the sandbox's own (`PATH`, `HOME`, …). Only what
    /// the caller allowlisted belongs here; never secrets.
    pub env: Vec<(String, String)>,
    /// Working directory of commands that name none; the workspace (or `$HOME`) by default.
    pub workdir: Option<PathBuf>,
    pub limits: Limits,
    pub network: NetworkMode,
    /// Files that appear as `/run/secrets/NAME` on a private tmpfs readable only by the sandbox
    /// user, gone when the sandbox ends. Never sent in argv or the environment.
    #[serde(skip)]
    pub secrets: Vec<SecretFile>,
    /// Layers this run may go without when the host cannot apply them (recorded as degraded).
    pub allow_degraded: Vec<SandboxLayer>,
    /// Permit `memfd_create` (some JITs and browsers need it; it enables fileless execution).
    pub allow_memfd: bool,
    /// Who started the sandbox (an installation's label, letters and digits, at most 16): part
    /// of the name of its cgroup, so that [`crate::kill_every_sandbox`] can stop one owner's
    /// sandboxes and leave others alone.
    #[serde(default)]
    pub owner: Option<String>,
}

impl SandboxSpec {
    /// A sandbox with nothing granted: no workspace, no network, the given limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            workspace: None,
            read_only: Vec::new(),
            read_write: Vec::new(),
            hidden: Vec::new(),
            env: Vec::new(),
            workdir: None,
            limits,
            network: NetworkMode::None,
            secrets: Vec::new(),
            allow_degraded: Vec::new(),
            allow_memfd: false,
            owner: None,
        }
    }

    /// Checks what can be checked without touching the host: absolute paths, names, sizes.
    pub fn validate(&self) -> Result<()> {
        for grant in self
            .workspace
            .iter()
            .chain(&self.read_only)
            .chain(&self.read_write)
        {
            check_grant(grant)?;
        }
        let all_paths = self
            .workspace
            .iter()
            .chain(&self.read_only)
            .chain(&self.read_write)
            .chain(&self.hidden)
            .chain(&self.workdir);
        for path in all_paths {
            check_path(path)?;
        }
        for (name, value) in &self.env {
            check_env(name, value)?;
        }
        let mut names: Vec<&str> = Vec::new();
        for secret in &self.secrets {
            check_secret_name(&secret.name)?;
            if names.contains(&secret.name.as_str()) {
                return Err(Error::Spec(format!(
                    "secret file {:?} is given twice",
                    secret.name
                )));
            }
            names.push(&secret.name);
            if secret.value.len() > MAX_SECRET_BYTES {
                return Err(Error::Spec(format!(
                    "secret file {:?} has {} bytes; at most {MAX_SECRET_BYTES} are allowed",
                    secret.name,
                    secret.value.len()
                )));
            }
        }
        if let NetworkMode::Proxy(proxy) = &self.network {
            check_path(&proxy.socket)?;
            for (name, value) in &proxy.env {
                check_env(name, value)?;
            }
        }
        if let Some(owner) = &self.owner
            && (owner.is_empty()
                || owner.len() > 16
                || !owner.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(Error::Spec(format!(
                "owner {owner:?}: expected 1 to 16 letters and digits"
            )));
        }
        let limits = &self.limits;
        if limits.pids == 0 || limits.open_files < 16 || limits.timeout.is_zero() {
            return Err(Error::Spec(format!(
                "limits need pids >= 1, open_files >= 16 and a positive timeout (got pids={}, open_files={}, timeout={:?})",
                limits.pids, limits.open_files, limits.timeout
            )));
        }
        Ok(())
    }

    /// Whether `layer` may be skipped when the host cannot apply it.
    pub(crate) fn may_degrade(&self, layer: SandboxLayer) -> bool {
        self.allow_degraded.contains(&layer)
    }
}

/// Where granted paths must never go: the sandbox's own virtual filesystems.
const RESERVED: &[&str] = &["/proc", "/dev", "/sys", "/run", SANDBOX_HOME];

fn check_grant(path: &Path) -> Result<()> {
    check_path(path)?;
    if path.components().count() <= 1 {
        return Err(Error::Spec(
            "granting / would expose the whole host; grant the directories the command needs"
                .into(),
        ));
    }
    if let Some(reserved) = RESERVED.iter().find(|r| path.starts_with(r)) {
        return Err(Error::Spec(format!(
            "{} lies under {reserved}, which the sandbox provides itself; grant another path",
            path.display()
        )));
    }
    Ok(())
}

fn check_path(path: &Path) -> Result<()> {
    if !path.is_absolute() {
        return Err(Error::Spec(format!(
            "{} is not an absolute path",
            path.display()
        )));
    }
    if path.to_str().is_none() {
        return Err(Error::Spec(format!(
            "{} is not valid UTF-8",
            path.display()
        )));
    }
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::Spec(format!(
            "{} contains `..`; give the resolved path",
            path.display()
        )));
    }
    Ok(())
}

pub(crate) fn check_env(name: &str, value: &str) -> Result<()> {
    let valid_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid_name {
        return Err(Error::Spec(format!(
            "environment variable name {name:?} is invalid (letters, digits and `_`, not starting with a digit)"
        )));
    }
    if value.contains('\0') {
        return Err(Error::Spec(format!(
            "the value of environment variable {name} contains a NUL byte"
        )));
    }
    Ok(())
}

fn check_secret_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(Error::Spec(format!(
            "secret file name {name:?} is invalid (letters, digits, `_`, `-` and `.`, at most 128)"
        )))
    }
}

/// How a sandbox reaches the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NetworkMode {
    /// No network at all: an empty network namespace, no IP sockets (seccomp), no TCP (Landlock).
    None,
    /// Egress only through AegisClaw's egress proxy.
    Proxy(ProxyNetwork),
}

/// The proxied network mode: the egress proxy's Unix socket is bind-mounted into the sandbox at
/// [`ProxyNetwork::SANDBOX_SOCKET`] and `env` (e.g. `HTTPS_PROXY`) is added to every command.
/// The run is refused when nothing listens on `socket` (the proxy is down).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyNetwork {
    /// The proxy's Unix socket on the host.
    pub socket: PathBuf,
    /// Variables that point tools at the proxy.
    pub env: Vec<(String, String)>,
}

impl ProxyNetwork {
    /// Where the proxy socket appears inside the sandbox.
    pub const SANDBOX_SOCKET: &'static str = "/run/aegisclaw/proxy.sock";
}

/// One secret file of a run. Its value never appears in `Debug` output.
#[derive(Clone)]
pub struct SecretFile {
    /// The file name under `/run/secrets/`.
    pub name: String,
    pub value: Zeroizing<Vec<u8>>,
}

impl SecretFile {
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            value: Zeroizing::new(value.into()),
        }
    }
}

impl fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretFile")
            .field("name", &self.name)
            .field(
                "value",
                &format_args!("<{} bytes redacted>", self.value.len()),
            )
            .finish()
    }
}

/// One command to run in a sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSpec {
    /// A path inside the sandbox, or a name looked up in the sandbox's `PATH`.
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Added to (and overriding) the sandbox's environment for this command only.
    pub env: Vec<(String, String)>,
    /// Working directory inside the sandbox; the sandbox's default when `None`.
    pub workdir: Option<PathBuf>,
    /// Wall-clock limit of this command; the sandbox's `limits.timeout` when `None` (it can
    /// only be lowered).
    pub timeout: Option<Duration>,
}

impl ExecSpec {
    pub fn new(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            workdir: None,
            timeout: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn workdir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workdir = Some(dir.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.program.is_empty() {
            return Err(Error::Spec("the command is empty".into()));
        }
        for (name, value) in &self.env {
            check_env(name, value)?;
        }
        if let Some(dir) = &self.workdir {
            check_path(dir)?;
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::Spec("the timeout must be positive".into()));
        }
        Ok(())
    }
}

/// Where one standard stream of a command goes.
#[derive(Debug, Default)]
pub enum Stdio {
    /// The caller's own stream (live output on its terminal).
    Inherit,
    /// `/dev/null`.
    #[default]
    Null,
    /// A pipe; the caller reads or writes the other end from [`crate::Execution`].
    Piped,
    /// A file descriptor the caller opened.
    Fd(OwnedFd),
}

/// The three standard streams of a command.
#[derive(Debug, Default)]
pub struct ExecStdio {
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
}

impl ExecStdio {
    /// stdin from `/dev/null`, stdout and stderr to the caller's own.
    pub fn inherit_output() -> Self {
        Self {
            stdin: Stdio::Null,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
        }
    }

    /// stdin from `/dev/null`, stdout and stderr piped back to the caller.
    pub fn piped() -> Self {
        Self {
            stdin: Stdio::Null,
            stdout: Stdio::Piped,
            stderr: Stdio::Piped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_dotdot_paths_are_rejected() {
        let mut spec = SandboxSpec::new(Limits::default());
        spec.read_only.push("relative/dir".into());
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("absolute")
        );
        let mut spec = SandboxSpec::new(Limits::default());
        spec.workspace = Some("/a/../etc".into());
        assert!(spec.validate().unwrap_err().to_string().contains(".."));
    }

    #[test]
    fn reserved_places_cannot_be_granted() {
        for bad in [
            "/",
            "/proc/1",
            "/dev/shm",
            "/run/user",
            "/home/sandbox/x",
            "/sys",
        ] {
            let mut spec = SandboxSpec::new(Limits::default());
            spec.read_only.push(bad.into());
            let e = spec.validate().unwrap_err();
            assert!(matches!(e, Error::Spec(_)), "{bad}: {e}");
        }
        let mut spec = SandboxSpec::new(Limits::default());
        spec.read_write.push("/srv/project".into());
        spec.validate().unwrap();
    }

    #[test]
    fn env_and_secret_names_are_checked() {
        let mut spec = SandboxSpec::new(Limits::default());
        spec.env.push(("BAD=NAME".into(), "x".into()));
        assert!(spec.validate().is_err());
        let mut spec = SandboxSpec::new(Limits::default());
        spec.secrets.push(SecretFile::new("../escape", "x"));
        assert!(spec.validate().unwrap_err().to_string().contains("secret"));
        let mut spec = SandboxSpec::new(Limits::default());
        spec.secrets.push(SecretFile::new("TOKEN", "a"));
        spec.secrets.push(SecretFile::new("TOKEN", "b"));
        assert!(spec.validate().unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn secret_values_are_redacted_in_debug() {
        let secret = SecretFile::new("TOKEN", "hunter2-canary");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("14 bytes redacted"), "{shown}");
    }

    #[test]
    fn secrets_never_serialise() {
        let mut spec = SandboxSpec::new(Limits::default());
        spec.secrets
            .push(SecretFile::new("TOKEN", "hunter2-canary"));
        let json = serde_json::to_string(&spec).unwrap();
        assert!(!json.contains("hunter2"), "{json}");
    }
}
