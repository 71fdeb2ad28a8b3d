//! The native backend: Linux namespaces, Landlock, seccomp and cgroups, built by AegisClaw
//! itself, without Docker.
//!
//! ```text
//! host process (any threads)          launcher (fresh exec, 1 thread)        init (pid 1)      command
//!   NativeBackend::prepare ──spawn──▶ close fds, read spec, uid, cgroup, ─clone(ns)─▶ mounts,   ─fork/exec─▶
//!          ▲   control channel (fd 3)   placeholders, idmap ns            secrets, ids,
//!          └──────── Ready / Exited ◀── seccomp listener, timeouts ◀──── caps, Landlock,
//!                                                                           seccomp
//! ```
//!
//! The host never forks: it spawns the launcher (a hidden entry point of the same binary) with
//! `std::process::Command`. The launcher is single-threaded, so it may fork; init is forked from
//! it into the new namespaces. When the host dies the control channel closes and the launcher
//! tears the sandbox down; when the launcher dies init receives SIGKILL (parent-death signal);
//! when init dies the kernel kills every process in its pid namespace.

mod caps;
mod cgroups;
mod etc;
mod fault;
mod ids;
mod init;
mod landlock;
pub(crate) mod launcher;
mod limits;
mod mounts;
mod notify;
mod plan;
mod protect;
mod seccomp;
mod sys;
mod wire;

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use aegisclaw_core::{SandboxConfig, UidRange};

pub use cgroups::{KillReport, kill_every_sandbox};
pub use wire::SimulatedFault;

use crate::backend::{Backend, ExecWaiter, Execution, Killer, RunOutput, Session};
use crate::error::{Error, Result};
use crate::internal;
use crate::report::{Degraded, ExecReport, RunReport};
use crate::spec::{ExecSpec, ExecStdio, SandboxSpec, Stdio};
use wire::{Channel, HostMsg, LauncherMsg, StreamFds};

/// Where a root launcher keeps its uid allocation locks by default.
pub const DEFAULT_STATE_DIR: &str = "/run/aegisclaw/sandbox";

/// The native Linux backend.
#[derive(Debug, Clone)]
pub struct NativeBackend {
    launcher: PathBuf,
    uid_range: UidRange,
    state_dir: PathBuf,
    fault: Option<SimulatedFault>,
}

impl NativeBackend {
    /// A backend whose launcher is `launcher`: a binary that dispatches
    /// [`crate::internal_main`] first thing (the `aegisclaw` binary does).
    pub fn new(launcher: impl Into<PathBuf>, config: &SandboxConfig) -> Self {
        Self {
            launcher: launcher.into(),
            uid_range: config.uid_range,
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            fault: None,
        }
    }

    /// A backend whose launcher is the running executable.
    pub fn from_current_exe(config: &SandboxConfig) -> Result<Self> {
        let exe = std::env::current_exe()
            .map_err(|e| Error::io("locate", "the running executable", e))?;
        Ok(Self::new(exe, config))
    }

    /// Keeps uid allocation locks in `dir` (root launchers only).
    pub fn with_state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = dir.into();
        self
    }

    /// Makes the kernel refuse one feature to this backend's sandboxes, to prove that they
    /// then refuse to run (the escape suite's E30). Never weakens anything.
    #[doc(hidden)]
    pub fn simulate_fault(mut self, fault: SimulatedFault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// The launcher binary.
    pub fn launcher(&self) -> &Path {
        &self.launcher
    }

    fn spawn_launcher(&self) -> Result<(Child, Channel)> {
        let (host, theirs) = Channel::pair()
            .map_err(|e| Error::Launcher(format!("cannot create the control channel: {e}")))?;
        let mut cmd = Command::new(&self.launcher);
        // The control channel is the launcher's stdin: std then needs no code between fork and
        // exec, and no other descriptor crosses over.
        cmd.arg(internal::LAUNCHER_ARG)
            .env_clear()
            .stdin(std::process::Stdio::from(theirs.into_fd()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit());
        let child = cmd
            .spawn()
            .map_err(|e| Error::io("start the sandbox launcher", &self.launcher, e))?;
        Ok((child, host))
    }
}

impl Backend for NativeBackend {
    fn name(&self) -> &'static str {
        "native"
    }

    fn prepare(&self, spec: SandboxSpec) -> Result<Box<dyn Session>> {
        let mut session = self.start(spec, false)?;
        session.await_ready()?;
        Ok(Box::new(session))
    }

    /// One-shot runs are pipelined: the command travels with the specification, and the
    /// launcher tears the sandbox down as soon as the command ends.
    fn run(&self, spec: SandboxSpec, exec: &ExecSpec, stdio: ExecStdio) -> Result<RunOutput> {
        exec.validate()?;
        let mut session = self.start(spec, true)?;
        let sent = session.send_exec(exec, stdio);
        let ready = session.await_ready();
        let outcome = ready
            .and(sent)
            .and_then(|streams| session.await_started(streams))
            .and_then(Execution::wait_with_output);
        let degraded = session.degraded.clone();
        session.shutdown();
        let (report, stdout, stderr) = outcome?;
        Ok(RunOutput {
            report: RunReport {
                backend: self.name().to_string(),
                exec: report,
                degraded,
            },
            stdout,
            stderr,
        })
    }
}

impl NativeBackend {
    /// Spawns the launcher and sends the specification and secret files.
    fn start(&self, spec: SandboxSpec, one_shot: bool) -> Result<NativeSession> {
        spec.validate()?;
        let (child, host) = self.spawn_launcher()?;
        let session = NativeSession {
            child: Some(child),
            host,
            degraded: Vec::new(),
            leftovers: Vec::new(),
            ended: false,
        };
        let secrets = spec.secrets.clone();
        session
            .host
            .send(
                &HostMsg::Setup {
                    spec: Box::new(spec),
                    fault: self.fault,
                    uid_range: (self.uid_range.start, self.uid_range.count),
                    state_dir: self.state_dir.display().to_string(),
                    one_shot,
                    secret_count: secrets.len(),
                },
                &[],
                &[],
            )
            .map_err(lost)?;
        for secret in &secrets {
            session
                .host
                .send(
                    &HostMsg::Secret {
                        name: secret.name.clone(),
                    },
                    &secret.value,
                    &[],
                )
                .map_err(lost)?;
        }
        session
            .host
            .send(&HostMsg::SecretsDone, &[], &[])
            .map_err(lost)?;
        Ok(session)
    }
}

fn lost(e: std::io::Error) -> Error {
    Error::Launcher(format!("the launcher stopped answering: {e}"))
}

/// The caller's ends of a command's piped streams.
type Streams = (Option<File>, Option<File>, Option<File>);

/// A native sandbox kept warm for many commands.
#[derive(Debug)]
pub struct NativeSession {
    child: Option<Child>,
    host: Channel,
    degraded: Vec<Degraded>,
    /// What to remove if the launcher dies without tearing down (its cgroups).
    leftovers: Vec<PathBuf>,
    ended: bool,
}

fn dup_std(fd: BorrowedFd<'_>) -> Result<OwnedFd> {
    fd.try_clone_to_owned()
        .map_err(|e| Error::io("duplicate", "a standard stream", e))
}

fn pipe() -> Result<(File, File)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::io("create", "a pipe", e.into()))?;
    Ok((File::from(r), File::from(w)))
}

impl Session for NativeSession {
    fn exec(&mut self, exec: &ExecSpec, stdio: ExecStdio) -> Result<Execution<'_>> {
        if self.ended {
            return Err(Error::SessionEnded);
        }
        exec.validate()?;
        let streams = self.send_exec(exec, stdio)?;
        self.await_started(streams)
    }

    fn degraded(&self) -> &[Degraded] {
        &self.degraded
    }

    fn kill(&mut self) -> Result<()> {
        self.ended = true;
        self.host
            .send(&HostMsg::Kill, &[], &[])
            .map_err(|e| Error::Launcher(format!("cannot reach the launcher: {e}")))
    }

    fn destroy(mut self: Box<Self>) -> Result<()> {
        self.shutdown();
        Ok(())
    }
}

impl NativeSession {
    /// Waits for the launcher's answer to the specification.
    fn await_ready(&mut self) -> Result<()> {
        match self.host.recv::<LauncherMsg>().map_err(lost)? {
            Some(r) => match r.msg {
                LauncherMsg::Ready {
                    degraded,
                    leftovers,
                } => {
                    self.degraded = degraded;
                    self.leftovers = leftovers.into_iter().map(PathBuf::from).collect();
                    Ok(())
                }
                LauncherMsg::Failed(e) => Err(e.into()),
                other => Err(Error::Launcher(format!("unexpected answer: {other:?}"))),
            },
            None => Err(Error::Launcher(
                "the launcher exited without an answer (is the launcher binary an aegisclaw build?)"
                    .into(),
            )),
        }
    }

    /// Sends a command with its streams; returns the caller's ends of the pipes.
    fn send_exec(&mut self, exec: &ExecSpec, stdio: ExecStdio) -> Result<Streams> {
        let mut send: Vec<OwnedFd> = Vec::new();
        let (mut stdin, mut stdout, mut stderr) = (None, None, None);
        let mut which = StreamFds {
            stdin: false,
            stdout: false,
            stderr: false,
        };
        for (i, stream) in [stdio.stdin, stdio.stdout, stdio.stderr]
            .into_iter()
            .enumerate()
        {
            let theirs = match stream {
                Stdio::Null => None,
                Stdio::Inherit => Some(match i {
                    0 => dup_std(std::io::stdin().as_fd())?,
                    1 => dup_std(std::io::stdout().as_fd())?,
                    _ => dup_std(std::io::stderr().as_fd())?,
                }),
                Stdio::Fd(fd) => Some(fd),
                Stdio::Piped => {
                    let (r, w) = pipe()?;
                    if i == 0 {
                        stdin = Some(w);
                        Some(OwnedFd::from(r))
                    } else {
                        if i == 1 {
                            stdout = Some(r);
                        } else {
                            stderr = Some(r);
                        }
                        Some(OwnedFd::from(w))
                    }
                }
            };
            if let Some(fd) = theirs {
                send.push(fd);
                match i {
                    0 => which.stdin = true,
                    1 => which.stdout = true,
                    _ => which.stderr = true,
                }
            }
        }
        let borrowed: Vec<BorrowedFd<'_>> = send.iter().map(AsFd::as_fd).collect();
        self.host
            .send(
                &HostMsg::Exec {
                    exec: Box::new(exec.clone()),
                    fds: which,
                },
                &[],
                &borrowed,
            )
            .map_err(lost)?;
        // Our copies of the command's ends close here, or reads never see end-of-file.
        Ok((stdin, stdout, stderr))
    }

    /// Waits for the command to start.
    fn await_started(&mut self, streams: Streams) -> Result<Execution<'_>> {
        match self.host.recv::<LauncherMsg>().map_err(lost)? {
            Some(r) => match r.msg {
                LauncherMsg::Started => {}
                LauncherMsg::ExecFailed(e) => return Err(e.into()),
                other => return Err(Error::Launcher(format!("unexpected answer: {other:?}"))),
            },
            None => {
                self.ended = true;
                return Err(Error::SessionEnded);
            }
        }
        let killer = self
            .host
            .try_clone()
            .map_err(|e| Error::io("duplicate", "the control channel", e))?;
        let (stdin, stdout, stderr) = streams;
        Ok(Execution::new(
            stdin,
            stdout,
            stderr,
            Box::new(NativeExec {
                session: self,
                killer: std::sync::Arc::new(killer),
            }),
        ))
    }

    fn shutdown(&mut self) {
        let _ = self.host.send(&HostMsg::Destroy, &[], &[]);
        // Wait for the launcher's teardown (it answers Destroyed, or just exits).
        while let Ok(Some(r)) = self.host.recv::<LauncherMsg>() {
            if matches!(r.msg, LauncherMsg::Destroyed) {
                break;
            }
        }
        if let Some(mut child) = self.child.take() {
            let killed = child.wait().map(|s| s.code().is_none()).unwrap_or(true);
            if killed {
                // The launcher was killed before its teardown; its sandbox died with it (init's
                // parent-death signal), so its cgroups are empty: remove them.
                for dir in &self.leftovers {
                    let _ = std::fs::remove_dir(dir);
                }
            }
        }
        self.ended = true;
    }
}

impl Drop for NativeSession {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.shutdown();
        }
    }
}

struct NativeExec<'s> {
    session: &'s mut NativeSession,
    killer: std::sync::Arc<Channel>,
}

impl ExecWaiter for NativeExec<'_> {
    fn wait(&mut self) -> Result<ExecReport> {
        loop {
            match self.session.host.recv::<LauncherMsg>() {
                Ok(Some(r)) => match r.msg {
                    LauncherMsg::Exited(report) => return Ok(report),
                    LauncherMsg::Started => continue,
                    other => return Err(Error::Launcher(format!("unexpected answer: {other:?}"))),
                },
                Ok(None) => {
                    self.session.ended = true;
                    return Err(Error::SessionEnded);
                }
                Err(e) => {
                    return Err(Error::Launcher(format!(
                        "the launcher stopped answering: {e}"
                    )));
                }
            }
        }
    }

    fn killer(&self) -> Killer {
        let chan = self.killer.clone();
        Killer::new(move || {
            chan.send(&HostMsg::Kill, &[], &[])
                .map_err(|e| Error::Launcher(format!("cannot reach the launcher: {e}")))
        })
    }
}
