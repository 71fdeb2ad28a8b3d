use std::fmt;
use std::path::PathBuf;

use aegisclaw_core::SandboxLayer;
use serde::{Deserialize, Serialize};

/// A protection layer of a sandbox, as named in errors and reports.
///
/// Every layer is applied or the run is refused; the few that may be knowingly switched off map to
/// an [`aegisclaw_core::SandboxLayer`] (see [`Layer::opt_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Layer {
    /// The user namespace and the uid/gid maps.
    UserNamespace,
    /// Mount, pid, network, ipc, uts and cgroup namespaces.
    Namespaces,
    /// The dedicated unprivileged host uid a root launcher switches to.
    Identity,
    /// The allowlisted root filesystem.
    Mounts,
    /// Read-only protection of `.git/hooks`, `.git/config`, shell rc files and the like.
    ProtectedPaths,
    /// Idmapped mounts of granted paths.
    Idmap,
    Landlock,
    Seccomp,
    Cgroups,
    /// Resource limits of the process (rlimits).
    Rlimits,
    /// Capabilities dropped and verified zero.
    Capabilities,
    NoNewPrivs,
    /// The egress-proxy network mode.
    Proxy,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserNamespace => "user_namespace",
            Self::Namespaces => "namespaces",
            Self::Identity => "identity",
            Self::Mounts => "mounts",
            Self::ProtectedPaths => "protected_paths",
            Self::Idmap => "idmap",
            Self::Landlock => "landlock",
            Self::Seccomp => "seccomp",
            Self::Cgroups => "cgroups",
            Self::Rlimits => "rlimits",
            Self::Capabilities => "capabilities",
            Self::NoNewPrivs => "no_new_privs",
            Self::Proxy => "proxy",
        }
    }

    /// The `sandbox.allow_degraded` entry that lets a run go without this layer, if any.
    pub fn opt_out(self) -> Option<SandboxLayer> {
        match self {
            Self::UserNamespace => Some(SandboxLayer::UserNamespace),
            Self::Landlock => Some(SandboxLayer::Landlock),
            Self::Seccomp => Some(SandboxLayer::Seccomp),
            Self::Cgroups => Some(SandboxLayer::Cgroups),
            Self::Idmap => Some(SandboxLayer::Idmap),
            _ => None,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Errors of the sandbox crate. Each names what failed; [`Error::hint`] says how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A protection layer could not be applied, so the run was refused.
    #[error("sandbox layer `{layer}` could not be applied: {reason}")]
    Layer {
        layer: Layer,
        reason: String,
        fix: String,
    },
    /// The sandbox specification is invalid (a relative path, a bad name, …).
    #[error("invalid sandbox specification: {0}")]
    Spec(String),
    /// The command could not be started inside the sandbox.
    #[error("cannot start {program:?} inside the sandbox: {reason}")]
    Exec { program: String, reason: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The launcher process failed or broke the protocol.
    #[error("sandbox launcher: {0}")]
    Launcher(String),
    /// The session was already destroyed or its sandbox is gone.
    #[error("the sandbox session has ended")]
    SessionEnded,
}

impl Error {
    /// How to fix it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Layer { layer, fix, .. } => Some(match layer.opt_out() {
                Some(opt) => format!(
                    "{fix}; or knowingly run without it: add \"{opt}\" to sandbox.allow_degraded in config.toml"
                ),
                None => fix.clone(),
            }),
            Self::Spec(_) => Some("see `aegisclaw sandbox run --help`".into()),
            Self::Exec { .. } => Some(
                "only the system directories and granted paths exist inside; check the program name and PATH"
                    .into(),
            ),
            _ => None,
        }
    }

    pub(crate) fn layer(layer: Layer, reason: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Layer {
            layer,
            reason: reason.into(),
            fix: fix.into(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The form that crosses the launcher's control socket.
    pub(crate) fn to_wire(&self) -> WireError {
        match self {
            Self::Layer { layer, reason, fix } => WireError::Layer {
                layer: *layer,
                reason: reason.clone(),
                fix: fix.clone(),
            },
            Self::Spec(m) => WireError::Spec(m.clone()),
            Self::Exec { program, reason } => WireError::Exec {
                program: program.clone(),
                reason: reason.clone(),
            },
            other => WireError::Other(other.to_string()),
        }
    }
}

/// An [`Error`] as sent from the launcher to the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum WireError {
    Layer {
        layer: Layer,
        reason: String,
        fix: String,
    },
    Spec(String),
    Exec {
        program: String,
        reason: String,
    },
    Other(String),
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Layer { layer, reason, fix } => Self::Layer { layer, reason, fix },
            WireError::Spec(m) => Self::Spec(m),
            WireError::Exec { program, reason } => Self::Exec { program, reason },
            WireError::Other(m) => Self::Launcher(m),
        }
    }
}

/// Result alias of the sandbox crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
