//! Sandboxes of AegisClaw, and what the host can offer them.
//!
//! - [`Backend`] / [`Session`]: the backend-neutral interface (prepare a sandbox, run commands in
//!   it with streamed stdio, kill, destroy; or a one-shot [`Backend::run`]).
//! - [`NativeBackend`]: the default backend, built from Linux namespaces, Landlock, seccomp and
//!   cgroups without Docker; see the `native` module documentation for its process model.
//! - [`SandboxSpec`] / [`ExecSpec`]: what a sandbox is made of (plain paths, environment,
//!   limits, network mode, secret files) and what runs in it.
//! - [`RunReport`] / [`Denial`]: how a run ended and what the sandbox refused, so that an agent
//!   can ask for approval instead of retrying blindly.
//! - [`escape`]: the escape suite (E01–E30 of the specification), run by `aegisclaw sandbox
//!   selftest` and by this crate's tests.
//! - [`HostReport::detect`] inspects the kernel and the machine (user namespaces, Landlock,
//!   seccomp, cgroups, a Docker engine and its runtimes, KVM, QEMU) so that `aegisclaw init` can
//!   recommend a backend and `aegisclaw doctor` can say which protection layers are available.
//!
//! Binaries that use the native backend call [`internal_main`] first thing in `main`: the
//! launcher and the escape-suite probe are hidden entry points of the same executable.

// Building a sandbox means raw system calls (namespaces, the new mount API, seccomp, pidfds)
// that no maintained crate wraps completely; every block carries its SAFETY argument.
#![allow(unsafe_code)]

mod backend;
mod error;
pub mod escape;
mod host;
mod internal;
mod native;
mod probe;
mod report;
mod spec;

pub use backend::{Backend, ExecWaiter, Execution, Killer, RunOutput, Session};
pub use error::{Error, Layer, Result};
pub use host::{CgroupInfo, CgroupVersion, DockerInfo, HostReport, Probe};
pub use internal::internal_main;
pub use native::{
    DEFAULT_STATE_DIR, KillReport, NativeBackend, NativeSession, SimulatedFault, kill_every_sandbox,
};
pub use report::{Degraded, Denial, ExecReport, ExitStatus, RunReport};
pub use spec::{
    ExecSpec, ExecStdio, MAX_SECRET_BYTES, NetworkMode, ProxyNetwork, SANDBOX_HOME, SANDBOX_UID,
    SECRETS_DIR, SandboxSpec, SecretFile, Stdio,
};
