//! The backend-neutral interface every sandbox implements (native now; Docker and microVM later).

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::report::{Degraded, ExecReport, RunReport};
use crate::spec::{ExecSpec, ExecStdio, SandboxSpec};

/// A way of building sandboxes.
pub trait Backend: fmt::Debug + Send + Sync {
    /// `native`, `docker`, `microvm`.
    fn name(&self) -> &'static str;

    /// Builds a sandbox and keeps it warm for many commands, until [`Session::destroy`].
    fn prepare(&self, spec: SandboxSpec) -> Result<Box<dyn Session>>;

    /// A one-shot run: builds the sandbox, runs one command, tears everything down. Piped
    /// streams are drained into [`RunOutput`].
    fn run(&self, spec: SandboxSpec, exec: &ExecSpec, stdio: ExecStdio) -> Result<RunOutput> {
        let mut session = self.prepare(spec)?;
        let outcome = session
            .exec(exec, stdio)
            .and_then(Execution::wait_with_output);
        let degraded = session.degraded().to_vec();
        let destroyed = session.destroy();
        let (report, stdout, stderr) = outcome?;
        destroyed?;
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

/// A prepared sandbox. Commands run one after another; processes a command leaves in the
/// background live until the session is destroyed.
pub trait Session: fmt::Debug + Send {
    /// Starts a command. Only one command runs at a time.
    fn exec(&mut self, exec: &ExecSpec, stdio: ExecStdio) -> Result<Execution<'_>>;

    /// Layers this sandbox runs without (by explicit opt-in).
    fn degraded(&self) -> &[Degraded];

    /// Kills every process in the sandbox at once (lockdown). The session cannot run commands
    /// afterwards.
    fn kill(&mut self) -> Result<()>;

    /// Kills whatever still runs and removes every trace of the sandbox (cgroups, placeholder
    /// files, id allocations).
    fn destroy(self: Box<Self>) -> Result<()>;
}

/// A running command: its piped streams and a way to wait for it.
pub struct Execution<'s> {
    /// Present when stdin was [`crate::Stdio::Piped`].
    pub stdin: Option<File>,
    /// Present when stdout was [`crate::Stdio::Piped`].
    pub stdout: Option<File>,
    /// Present when stderr was [`crate::Stdio::Piped`].
    pub stderr: Option<File>,
    waiter: Box<dyn ExecWaiter + 's>,
}

impl fmt::Debug for Execution<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Execution")
            .field("stdin", &self.stdin.is_some())
            .field("stdout", &self.stdout.is_some())
            .field("stderr", &self.stderr.is_some())
            .finish_non_exhaustive()
    }
}

/// The backend's half of an [`Execution`].
pub trait ExecWaiter: Send {
    /// Blocks until the command ends (or is killed) and returns its report.
    fn wait(&mut self) -> Result<ExecReport>;
    /// A handle that kills the command from another thread.
    fn killer(&self) -> Killer;
}

impl<'s> Execution<'s> {
    /// For backends: an execution from its streams and waiter.
    pub fn new(
        stdin: Option<File>,
        stdout: Option<File>,
        stderr: Option<File>,
        waiter: Box<dyn ExecWaiter + 's>,
    ) -> Self {
        Self {
            stdin,
            stdout,
            stderr,
            waiter,
        }
    }

    /// Waits for the command to end. Drop or drain piped streams first, or a command that fills
    /// a pipe blocks forever (see [`Execution::wait_with_output`]).
    pub fn wait(mut self) -> Result<ExecReport> {
        drop(self.stdin.take());
        self.waiter.wait()
    }

    /// Closes stdin, reads stdout and stderr to the end, then waits.
    pub fn wait_with_output(mut self) -> Result<(ExecReport, Vec<u8>, Vec<u8>)> {
        drop(self.stdin.take());
        let (stdout, stderr) = (self.stdout.take(), self.stderr.take());
        let (out, err) = std::thread::scope(|s| {
            let out = s.spawn(move || drain(stdout));
            let err = drain(stderr);
            (out.join(), err)
        });
        let out = out.map_err(|_| Error::Launcher("the stdout reader panicked".into()))??;
        let err = err?;
        let report = self.waiter.wait()?;
        Ok((report, out, err))
    }

    /// A handle that kills the command (and everything it started) from another thread.
    pub fn killer(&self) -> Killer {
        self.waiter.killer()
    }
}

fn drain(stream: Option<File>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut f) = stream {
        f.read_to_end(&mut buf)
            .map_err(|e| Error::io("read the output of", "the sandboxed command", e))?;
    }
    Ok(buf)
}

/// Kills a running command from any thread.
#[derive(Clone)]
pub struct Killer(Arc<dyn Fn() -> Result<()> + Send + Sync>);

impl Killer {
    pub fn new(kill: impl Fn() -> Result<()> + Send + Sync + 'static) -> Self {
        Self(Arc::new(kill))
    }

    pub fn kill(&self) -> Result<()> {
        (self.0)()
    }
}

impl fmt::Debug for Killer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Killer")
    }
}

/// The report of a one-shot run and its drained output.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub report: RunReport,
    /// What the command wrote to a piped stdout (empty otherwise).
    pub stdout: Vec<u8>,
    /// What the command wrote to a piped stderr (empty otherwise).
    pub stderr: Vec<u8>,
}
