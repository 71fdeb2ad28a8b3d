//! The sandbox's init: pid 1 of the new pid namespace, a forked copy of the launcher.
//!
//! It builds the sandbox around itself (identity, mounts, secrets, capabilities, rlimits,
//! Landlock, seccomp — in that order, each failure refusing the run), then serves the
//! launcher's requests: it forks each command (new session, its own stdio, CPU-time limit) and
//! reaps every process that ends up orphaned in the namespace. When init exits, the kernel kills
//! every process left in the namespace, so nothing outlives the sandbox.

use std::ffi::{CString, OsStr};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use aegisclaw_core::SandboxLayer;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::error::{Error, Layer, Result};
use crate::native::plan::{FirstExec, INSIDE_ID, Identity, Plan, merge_env};
use crate::native::wire::{Channel, FromInit, StreamFds, ToInit};
use crate::native::{caps, etc, ids, landlock, limits, mounts, seccomp, sys};
use crate::report::{Degraded, ExitStatus};
use crate::spec::ExecSpec;

/// What init starts with (all inherited from the launcher through the fork).
#[derive(Debug)]
pub(crate) struct InitArgs {
    pub(crate) plan: Plan,
    pub(crate) chan: Channel,
    pub(crate) idmap: Option<OwnedFd>,
    /// Whether the run's cgroup exists (otherwise rlimits stand in for it).
    pub(crate) cgroups: bool,
}

/// Runs init; never returns.
pub(crate) fn run(args: InitArgs) -> ! {
    let InitArgs {
        plan,
        chan,
        idmap,
        cgroups,
    } = args;
    // Modes below are meant as written; commands get the customary 022.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    match setup(&plan, &chan, idmap, cgroups) {
        Ok(signals) => {
            let mut state = State {
                plan,
                chan,
                signals,
                current: None,
            };
            if let Some(first) = state.plan.first_exec.clone() {
                let fds = first
                    .fds
                    .iter()
                    // SAFETY: these descriptors were inherited for exactly this command and
                    // nothing else in init owns them.
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(*fd) })
                    .collect();
                let reply = match spawn(&state.plan, &first.exec, first.which, fds) {
                    Ok(pid) => {
                        state.current = Some(pid);
                        FromInit::Started
                    }
                    Err(e) => FromInit::ExecFailed(e.to_wire()),
                };
                if state.chan.send(&reply, &[], &[]).is_err() {
                    exit(1);
                }
            }
            serve(state)
        }
        Err(e) => {
            let _ = chan.send(&FromInit::Failed(e.to_wire()), &[], &[]);
            exit(1)
        }
    }
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process at once; init holds nothing that needs flushing.
    unsafe { libc::_exit(code) }
}

struct State {
    plan: Plan,
    chan: Channel,
    signals: SignalFd,
    /// The command currently running.
    current: Option<Pid>,
}

fn nix_err(layer: Layer, what: &str, fix: &str) -> impl Fn(nix::Error) -> Error {
    move |e| Error::layer(layer, format!("{what}: {e}"), fix)
}

fn setup(plan: &Plan, chan: &Channel, idmap: Option<OwnedFd>, cgroups: bool) -> Result<SignalFd> {
    close_inherited(chan, idmap.as_ref(), plan.first_exec.as_ref())?;
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(nix_err(
        Layer::Namespaces,
        "cannot set the parent-death signal",
        "report this bug",
    ))?;
    // The launcher moves us into the run's cgroup meanwhile (a cgroup migration waits for an RCU
    // grace period, milliseconds on a busy host); its `Go` is awaited only before the cgroup
    // namespace is made and before any command can start. Should the launcher die, every
    // receive below sees the channel close and init exits.
    let mut go = false;
    let mut degraded: Vec<Degraded> = Vec::new();

    if let Identity::User { uid, gid } = plan.identity {
        // Writing one's own maps needs a dumpable process (non-dumpable /proc files belong to
        // root). Nothing secret is in this process yet: secrets arrive only later.
        nix::sys::prctl::set_dumpable(true).map_err(nix_err(
            Layer::UserNamespace,
            "cannot become dumpable",
            "report this bug",
        ))?;
        ids::write_maps("self", INSIDE_ID, uid, gid).map_err(|e| {
            Error::layer(
                Layer::UserNamespace,
                format!("cannot write the uid/gid maps: {e}"),
                "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
            )
        })?;
        nix::sys::prctl::set_dumpable(false).map_err(nix_err(
            Layer::UserNamespace,
            "cannot become non-dumpable",
            "report this bug",
        ))?;
    }
    nix::unistd::sethostname(etc::HOSTNAME).map_err(nix_err(
        Layer::Namespaces,
        "cannot set the host name",
        "report this bug",
    ))?;
    if matches!(plan.identity, Identity::Root { .. }) {
        // Keep the OOM killer on the commands, not on init; commands reset this to 0.
        let _ = sys::write_file(Path::new("/proc/self/oom_score_adj"), "-1000");
    }
    let captured = mounts::capture(plan, idmap.as_ref())?;
    degraded.extend(captured.degraded.iter().cloned());
    drop(idmap);
    mounts::build(plan, captured)?;

    // Secrets come only now that init is not dumpable and its mounts exist (and not at all,
    // with no round trip, when there are none).
    let mut waiting = plan.secret_count > 0;
    if waiting {
        chan.send(&FromInit::WantSecrets, &[], &[])
            .map_err(|e| Error::Launcher(format!("cannot ask for secrets: {e}")))?;
    }
    while waiting {
        let r = chan
            .expect::<ToInit>("sending secrets")
            .map_err(|e| Error::Launcher(e.to_string()))?;
        match r.msg {
            ToInit::Go => go = true,
            ToInit::Secret { name } => mounts::write_secret(&plan.identity, &name, &r.payload)?,
            ToInit::SecretsDone => waiting = false,
            other => {
                return Err(Error::Launcher(format!(
                    "unexpected message while receiving secrets: {other:?}"
                )));
            }
        }
    }
    mounts::seal()?;
    if !go {
        match chan.recv::<ToInit>() {
            Ok(Some(r)) if matches!(r.msg, ToInit::Go) => {}
            _ => exit(1),
        }
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP).map_err(nix_err(
        Layer::Namespaces,
        "cannot create the cgroup namespace",
        "use a kernel with cgroup namespaces (Linux 4.6+)",
    ))?;

    if let Identity::Root {
        uid,
        gid,
        user_namespace,
        ..
    } = plan.identity
    {
        let fix = "report this bug";
        // The bounding set can only shrink while we still hold CAP_SETPCAP (as root); a new user
        // namespace below gets a full one again, which drop_all then empties.
        caps::drop_bounding().map_err(|e| Error::layer(Layer::Capabilities, e, fix))?;
        nix::unistd::setgroups(&[]).map_err(nix_err(
            Layer::Identity,
            "cannot drop supplementary groups",
            fix,
        ))?;
        nix::unistd::setresgid(gid.into(), gid.into(), gid.into()).map_err(nix_err(
            Layer::Identity,
            "cannot switch to the sandbox gid",
            fix,
        ))?;
        nix::unistd::setresuid(uid.into(), uid.into(), uid.into()).map_err(nix_err(
            Layer::Identity,
            "cannot switch to the sandbox uid",
            fix,
        ))?;
        // Changing credentials clears the parent-death signal.
        nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(nix_err(
            Layer::Identity,
            "cannot set the parent-death signal",
            fix,
        ))?;
        if user_namespace {
            match nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER) {
                Ok(()) => {
                    chan.send(&FromInit::WriteMaps, &[], &[])
                        .map_err(|e| Error::Launcher(e.to_string()))?;
                    match chan.expect::<ToInit>("writing uid maps") {
                        Ok(r) if matches!(r.msg, ToInit::MapsWritten) => {}
                        _ => {
                            return Err(Error::layer(
                                Layer::UserNamespace,
                                "the launcher could not write the uid/gid maps",
                                "check /proc/sys/user/max_user_namespaces",
                            ));
                        }
                    }
                }
                Err(e) if plan.spec.may_degrade(SandboxLayer::UserNamespace) => degraded.push(Degraded {
                    layer: SandboxLayer::UserNamespace,
                    reason: format!("cannot create a user namespace ({e}); the sandbox runs as host uid {uid} without one"),
                }),
                Err(e) => {
                    return Err(Error::layer(
                        Layer::UserNamespace,
                        format!("cannot create a user namespace: {e}"),
                        "allow user namespaces (sysctl user.max_user_namespaces=15000)",
                    ));
                }
            }
        }
    }
    caps::drop_all()
        .and_then(|()| caps::verify_none())
        .map_err(|e| {
            Error::layer(
                Layer::Capabilities,
                e,
                "report this bug: no sandbox runs with capabilities",
            )
        })?;
    limits::apply_inherited(&plan.spec.limits, cgroups)
        .map_err(|e| Error::layer(Layer::Rlimits, e, "lower the limits in sandbox.limits"))?;
    std::env::set_current_dir(&plan.workdir).map_err(|e| {
        Error::Spec(format!(
            "the working directory {} does not exist inside the sandbox ({e}); use a granted path",
            plan.workdir.display()
        ))
    })?;
    nix::sys::prctl::set_no_new_privs().map_err(nix_err(
        Layer::NoNewPrivs,
        "cannot set no_new_privs",
        "report this bug",
    ))?;
    if !nix::sys::prctl::get_no_new_privs().unwrap_or(false) {
        return Err(Error::layer(
            Layer::NoNewPrivs,
            "no_new_privs is not set",
            "report this bug",
        ));
    }
    match landlock::apply(plan) {
        Ok(_) => {}
        Err(reason) if plan.spec.may_degrade(SandboxLayer::Landlock) => degraded.push(Degraded {
            layer: SandboxLayer::Landlock,
            reason,
        }),
        Err(reason) => {
            return Err(Error::layer(
                Layer::Landlock,
                reason,
                "boot a kernel with Landlock enabled (CONFIG_SECURITY_LANDLOCK, `lsm=landlock,...`)",
            ));
        }
    }
    match install_seccomp(plan, chan) {
        Ok(()) => {}
        Err(reason) if plan.spec.may_degrade(SandboxLayer::Seccomp) => degraded.push(Degraded {
            layer: SandboxLayer::Seccomp,
            reason,
        }),
        Err(reason) => {
            return Err(Error::layer(
                Layer::Seccomp,
                reason,
                "use a kernel with seccomp filters (CONFIG_SECCOMP_FILTER)",
            ));
        }
    }

    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    mask.thread_block()
        .map_err(|e| Error::Launcher(format!("cannot block SIGCHLD: {e}")))?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::Launcher(format!("cannot create a signalfd: {e}")))?;
    chan.send(&FromInit::Ready { degraded }, &[], &[])
        .map_err(|e| Error::Launcher(e.to_string()))?;
    Ok(signals)
}

/// Closes every descriptor inherited from the launcher but the channel (and the idmap user
/// namespace), and points stdio at `/dev/null`.
fn close_inherited(
    chan: &Channel,
    idmap: Option<&OwnedFd>,
    first_exec: Option<&FirstExec>,
) -> Result<()> {
    let mut keep: Vec<u32> = std::iter::once(chan.as_fd().as_raw_fd())
        .chain(idmap.map(AsRawFd::as_raw_fd))
        .chain(first_exec.iter().flat_map(|f| f.fds.iter().copied()))
        .filter_map(|fd| u32::try_from(fd).ok())
        .collect();
    keep.sort_unstable();
    let mut first = 3u32;
    for kept in keep.iter().copied().chain([u32::MAX]) {
        if kept > first {
            // SAFETY: the range holds only descriptors inherited from the launcher that no Rust
            // object of this freshly forked process owns (the kept ones lie outside it).
            unsafe { sys::close_range(first, kept - 1) }
                .map_err(|e| Error::Launcher(format!("cannot close inherited descriptors: {e}")))?;
        }
        first = kept.saturating_add(1);
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| Error::Launcher(format!("cannot open /dev/null: {e}")))?;
    for target in 0..=2 {
        // SAFETY: dup2 onto the standard descriptors, which init never wraps.
        unsafe { libc::dup2(null.as_raw_fd(), target) };
    }
    Ok(())
}

fn install_seccomp(plan: &Plan, chan: &Channel) -> std::result::Result<(), String> {
    sys::seccomp_filter(0, &seccomp::prelude())
        .map_err(|e| format!("cannot install the architecture filter: {e}"))?;
    let notify = seccomp::main_filter(&plan.spec.network, plan.spec.allow_memfd, true)?;
    match sys::seccomp_filter(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER, &notify) {
        Ok(Some(listener)) => {
            chan.send(&FromInit::Listener, &[], &[listener.as_fd()])
                .map_err(|e| format!("cannot hand the seccomp listener to the launcher: {e}"))?;
            Ok(())
        }
        Ok(None) => Err("the kernel returned no seccomp listener".into()),
        // Kernels before 5.0 have no listeners: deny with EPERM directly (no reporting).
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let plain = seccomp::main_filter(&plan.spec.network, plan.spec.allow_memfd, false)?;
            sys::seccomp_filter(0, &plain)
                .map(drop)
                .map_err(|e| format!("cannot install the seccomp filter: {e}"))
        }
        Err(e) => Err(format!("cannot install the seccomp filter: {e}")),
    }
}

fn serve(mut state: State) -> ! {
    loop {
        let (chan_ready, sig_ready) = {
            let mut fds = [
                PollFd::new(state.chan.as_fd(), PollFlags::POLLIN),
                PollFd::new(state.signals.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::Error::EINTR) => continue,
                Err(_) => exit(1),
            }
            let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            (ready(&fds[0]), ready(&fds[1]))
        };
        if sig_ready {
            while let Ok(Some(_)) = state.signals.read_signal() {}
            reap(&mut state);
        }
        if chan_ready {
            match state.chan.recv::<ToInit>() {
                Ok(Some(r)) => handle(&mut state, r.msg, r.fds),
                // The launcher is gone: exiting kills everything in the namespace.
                _ => exit(0),
            }
        }
    }
}

fn handle(state: &mut State, msg: ToInit, fds: Vec<OwnedFd>) {
    match msg {
        ToInit::Exec { exec, fds: which } => {
            let reply = if state.current.is_some() {
                FromInit::ExecFailed(
                    Error::Launcher("a command is already running".into()).to_wire(),
                )
            } else {
                match spawn(&state.plan, &exec, which, fds) {
                    Ok(pid) => {
                        state.current = Some(pid);
                        FromInit::Started
                    }
                    Err(e) => FromInit::ExecFailed(e.to_wire()),
                }
            };
            if state.chan.send(&reply, &[], &[]).is_err() {
                exit(1);
            }
        }
        ToInit::KillAll => {
            // From pid 1, -1 reaches every other process of the namespace.
            let _ = nix::sys::signal::kill(Pid::from_raw(-1), Signal::SIGKILL);
        }
        _ => {}
    }
}

/// Reaps every exited child; reports the current command's end.
fn reap(state: &mut State) {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => finished(state, pid, ExitStatus::Exited(code)),
            Ok(WaitStatus::Signaled(pid, signal, _)) => {
                finished(state, pid, ExitStatus::Signaled(signal as i32));
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn finished(state: &mut State, pid: Pid, status: ExitStatus) {
    if state.current == Some(pid) {
        state.current = None;
        if state
            .chan
            .send(&FromInit::Exited { status }, &[], &[])
            .is_err()
        {
            exit(1);
        }
    }
}

/// Forks and execs one command. Errors before `execve` (no such program, a bad working
/// directory) come back through a close-on-exec pipe.
fn spawn(plan: &Plan, exec: &ExecSpec, which: StreamFds, mut fds: Vec<OwnedFd>) -> Result<Pid> {
    fds.reverse();
    let mut next = |wanted: bool| if wanted { fds.pop() } else { None };
    let stdin = next(which.stdin);
    let stdout = next(which.stdout);
    let stderr = next(which.stderr);

    let mut env = plan.env.clone();
    for (k, v) in &exec.env {
        merge_env(&mut env, k, v);
    }
    let workdir = exec.workdir.clone().unwrap_or_else(|| plan.workdir.clone());
    let program = exec.program.clone();
    let argv: Vec<CString> = std::iter::once(program.as_os_str())
        .chain(exec.args.iter().map(std::ffi::OsString::as_os_str))
        .map(|a| CString::new(a.as_bytes()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Spec("an argument contains a NUL byte".into()))?;
    let envp: Vec<CString> = env
        .iter()
        .map(|(k, v)| CString::new(format!("{k}={v}")))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Spec("an environment value contains a NUL byte".into()))?;
    let candidates = resolve(&program, &env);
    let (err_read, err_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::Launcher(format!("cannot create a pipe: {e}")))?;
    // SAFETY: init is single-threaded, so the child may allocate and use any library call.
    let pid = unsafe { sys::clone_fork(0) }.map_err(|e| Error::Exec {
        program: program.to_string_lossy().into_owned(),
        reason: format!("fork failed: {e}"),
    })?;
    if pid == 0 {
        drop(err_read);
        child(
            plan,
            stdin,
            stdout,
            stderr,
            &workdir,
            &candidates,
            &argv,
            &envp,
            err_write,
        )
    }
    drop(err_write);
    let mut buf = [0u8; 4];
    let mut reader = std::fs::File::from(err_read);
    let n = reader.read(&mut buf).unwrap_or(0);
    if n == 4 {
        let _ = waitpid(Pid::from_raw(pid), None);
        let errno = i32::from_ne_bytes(buf);
        let reason = match errno {
            libc::ENOENT => {
                "no such file or program (it is not on the sandbox's PATH, or not granted)".into()
            }
            libc::EACCES => {
                "permission denied (not executable, or outside the allowed paths)".into()
            }
            -1 => format!(
                "the working directory {} does not exist inside the sandbox",
                workdir.display()
            ),
            e => io::Error::from_raw_os_error(e).to_string(),
        };
        return Err(Error::Exec {
            program: program.to_string_lossy().into_owned(),
            reason,
        });
    }
    Ok(Pid::from_raw(pid))
}

/// The candidate paths of `program`: itself when it contains a `/`, else each `PATH` entry.
fn resolve(program: &OsStr, env: &[(String, String)]) -> Vec<CString> {
    if program.as_bytes().contains(&b'/') {
        return CString::new(program.as_bytes()).into_iter().collect();
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or("/usr/bin:/bin", |(_, v)| v.as_str());
    path.split(':')
        .filter(|d| !d.is_empty())
        .filter_map(|d| CString::new(PathBuf::from(d).join(program).as_os_str().as_bytes()).ok())
        .collect()
}

/// The command's side of the fork: execs, or reports the errno (-1: the working directory)
/// through the error pipe and exits 127.
#[allow(clippy::too_many_arguments)]
fn child(
    plan: &Plan,
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    workdir: &Path,
    candidates: &[CString],
    argv: &[CString],
    envp: &[CString],
    err_pipe: OwnedFd,
) -> ! {
    let report = |fd: RawFd, errno: i32| -> ! {
        let bytes = errno.to_ne_bytes();
        // SAFETY: writes a stack buffer to the error pipe, then exits without running
        // destructors (this is a forked child).
        unsafe {
            libc::write(fd, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        }
    };
    let last_errno = || {
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    let _ = SigSet::all().thread_unblock();
    let _ = nix::unistd::setsid();
    if matches!(plan.identity, Identity::Root { .. }) {
        let _ = sys::write_file(Path::new("/proc/self/oom_score_adj"), "0");
    }
    let open_null = |write: bool| {
        std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .open("/dev/null")
            .map(OwnedFd::from)
            .ok()
    };
    let streams = [
        stdin.or_else(|| open_null(false)),
        stdout.or_else(|| open_null(true)),
        stderr.or_else(|| open_null(true)),
    ];
    // The error pipe moves to descriptor 3, above the standard streams and below what gets
    // closed.
    // SAFETY: dup3 onto descriptor 3 of this fresh child; nothing else uses that number after.
    if unsafe { libc::dup3(err_pipe.as_raw_fd(), 3, libc::O_CLOEXEC) } < 0 {
        report(err_pipe.as_raw_fd(), last_errno());
    }
    for (target, fd) in streams.iter().enumerate() {
        let Some(fd) = fd else { report(3, libc::EIO) };
        // SAFETY: dup2 onto the standard descriptors of this child.
        if unsafe { libc::dup2(fd.as_raw_fd(), target as RawFd) } < 0 {
            report(3, last_errno());
        }
    }
    // Everything above the error pipe goes; the OwnedFds still naming some of those numbers
    // are never used or dropped again (exec or _exit follows).
    std::mem::forget(streams);
    std::mem::forget(err_pipe);
    // SAFETY: the descriptors above 3 belong to objects forgotten above or to init's state,
    // which this child never touches again.
    if unsafe { sys::close_from(4) }.is_err() {
        report(3, last_errno());
    }
    if limits::apply_cpu(&plan.spec.limits).is_err() {
        report(3, libc::EPERM);
    }
    if std::env::set_current_dir(workdir).is_err() {
        report(3, -1);
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut envp_ptrs: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_ptrs.push(std::ptr::null());
    let mut errno = libc::ENOENT;
    for candidate in candidates {
        // SAFETY: every pointer refers to a live NUL-terminated string; the arrays end in NULL.
        unsafe { libc::execve(candidate.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr()) };
        // Keep the most telling error (EACCES over a later ENOENT), as execvp does.
        if errno == libc::ENOENT {
            errno = last_errno();
        }
    }
    report(3, errno)
}
