//! What a run reports back: how it ended, what the sandbox refused, which layers were missing.

use std::fmt;
use std::time::Duration;

use aegisclaw_core::SandboxLayer;
use serde::{Deserialize, Serialize};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it (the timeout, a limit, or its own doing).
    Signaled(i32),
}

impl ExitStatus {
    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            Self::Exited(code) => code,
            Self::Signaled(signal) => 128 + signal,
        }
    }

    pub fn success(self) -> bool {
        self == Self::Exited(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited(code) => write!(f, "exit code {code}"),
            Self::Signaled(signal) => write!(f, "killed by signal {signal}"),
        }
    }
}

/// Something the sandbox refused or stopped, so that an agent can ask for approval instead of
/// retrying blindly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Denial {
    /// The seccomp filter refused a system call.
    Syscall {
        syscall: String,
        /// `comm` of the process that tried.
        process: String,
        count: u32,
    },
    /// A socket of a kind the network mode does not allow (seccomp).
    Network {
        /// `inet`, `inet6`, `packet`, `netlink`, …
        family: String,
        process: String,
        count: u32,
    },
    /// A resource limit was hit.
    Limit {
        /// `memory`, `pids`, `cpu_time`, `file_size`, `disk`.
        limit: String,
        detail: String,
    },
    /// The wall-clock limit ran out and every process of the run was killed.
    Timeout {
        #[serde(with = "duration_ms")]
        after: Duration,
    },
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syscall {
                syscall,
                process,
                count,
            } => write!(f, "seccomp denied {syscall}() to {process} ({count}x)"),
            Self::Network {
                family,
                process,
                count,
            } => write!(
                f,
                "no network: {family} socket denied to {process} ({count}x)"
            ),
            Self::Limit { limit, detail } => write!(f, "{limit} limit hit: {detail}"),
            Self::Timeout { after } => write!(f, "timed out after {after:?}; all processes killed"),
        }
    }
}

/// A layer the run went without, by explicit opt-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Degraded {
    pub layer: SandboxLayer,
    /// Why the layer could not be applied.
    pub reason: String,
}

/// The end of one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecReport {
    pub status: ExitStatus,
    #[serde(with = "duration_ms", rename = "duration_ms")]
    pub duration: Duration,
    pub timed_out: bool,
    pub denials: Vec<Denial>,
}

impl ExecReport {
    /// The exit code in the shell convention (128 + signal when killed).
    pub fn code(&self) -> i32 {
        self.status.code()
    }
}

/// A one-shot run: the command's report plus the sandbox's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    pub backend: String,
    #[serde(flatten)]
    pub exec: ExecReport,
    pub degraded: Vec<Degraded>,
}

/// Durations as integer milliseconds in JSON.
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn killed_commands_exit_128_plus_signal() {
        assert_eq!(ExitStatus::Signaled(9).code(), 137);
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert!(ExitStatus::Exited(0).success());
    }

    #[test]
    fn denials_serialise_with_a_kind_tag() {
        let d = Denial::Syscall {
            syscall: "mount".into(),
            process: "sh".into(),
            count: 2,
        };
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["kind"], "syscall");
        assert_eq!(json["syscall"], "mount");
        let t = serde_json::to_value(Denial::Timeout {
            after: Duration::from_millis(1500),
        })
        .unwrap();
        assert_eq!(t["after"], 1500);
    }
}
