//! The launcher: a fresh, single-threaded exec of the AegisClaw binary (hidden entry point)
//! that builds one sandbox and supervises it.
//!
//! The host library spawns it with a cleared environment and the control channel on
//! descriptor 3. It makes itself non-dumpable, closes every other inherited descriptor, reads
//! the specification, prepares what needs host privileges (uid allocation, cgroup, placeholders
//! for protected paths, the idmap user namespace), then forks init into new namespaces. While
//! the sandbox lives it relays commands, answers the seccomp listener, enforces timeouts and
//! watches for the host's death (the control channel closing): any end tears everything down.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aegisclaw_core::SandboxLayer;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::error::{Error, Layer, Result};
use crate::native::cgroups::{Cgroup, Counters};
use crate::native::fault;
use crate::native::ids::{self, UidLease};
use crate::native::init::{self, InitArgs};
use crate::native::notify::Notifier;
use crate::native::plan::{FirstExec, INSIDE_ID, Identity, Plan};
use crate::native::protect::{self, Placeholders};
use crate::native::sys;
use crate::native::wire::{Channel, FromInit, HostMsg, LauncherMsg, ToInit};
use crate::report::{Degraded, Denial, ExecReport, ExitStatus};
use crate::spec::{NetworkMode, SandboxSpec};

/// The descriptor the host passes the control channel on (the launcher's stdin, so that the
/// host can spawn it without code between fork and exec).
pub(crate) const CONTROL_FD: i32 = 0;
/// How long init gets to kill a timed-out command before it is killed itself.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Runs the launcher; returns the process exit code.
pub(crate) fn main() -> i32 {
    // Nothing of ours is readable through /proc by processes of the same user from here on.
    let _ = nix::sys::prctl::set_dumpable(false);
    // SAFETY: at the very start of the process no Rust object owns a descriptor above 2; the
    // host may have leaked some (E12), and none of them must reach the sandbox.
    if unsafe { sys::close_from(3) }.is_err() {
        return 1;
    }
    // SAFETY: the host hands us the control channel as stdin and nothing else owns it.
    let host = Channel::from_fd(unsafe { OwnedFd::from_raw_fd(CONTROL_FD) });
    let mut blocked = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGPIPE,
    ] {
        blocked.add(s);
    }
    if blocked.thread_block().is_err() {
        return 1;
    }
    let Ok(signals) =
        SignalFd::with_flags(&blocked, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
    else {
        return 1;
    };
    let setup = match host.recv::<HostMsg>() {
        Ok(Some(r)) => r.msg,
        _ => return 1,
    };
    let HostMsg::Setup {
        spec,
        fault,
        uid_range,
        state_dir,
        one_shot,
        secret_count,
    } = setup
    else {
        return 1;
    };
    let mut sandbox = match Sandbox::start(
        *spec,
        secret_count,
        one_shot,
        fault,
        uid_range,
        PathBuf::from(state_dir),
        &host,
    ) {
        Ok(s) => s,
        Err(e) => {
            let _ = host.send(&LauncherMsg::Failed(e.to_wire()), &[], &[]);
            // Closing with unread messages would reset the channel before the host reads our
            // answer: take what the host still sends until it hangs up (or asks us to go).
            while let Ok(Some(r)) = host.recv::<HostMsg>() {
                if matches!(r.msg, HostMsg::Destroy) {
                    break;
                }
            }
            return 1;
        }
    };
    let _ = host.send(
        &LauncherMsg::Ready {
            degraded: sandbox.degraded.clone(),
            leftovers: sandbox
                .cgroup
                .as_ref()
                .map(Cgroup::paths)
                .unwrap_or_default(),
        },
        &[],
        &[],
    );
    sandbox.one_shot = one_shot;
    sandbox.supervise(&host, &signals);
    sandbox.teardown();
    if sandbox.destroy_requested {
        let _ = host.send(&LauncherMsg::Destroyed, &[], &[]);
    }
    0
}

/// A command being run.
#[derive(Debug)]
struct Running {
    started: Instant,
    deadline: Instant,
    timed_out: bool,
    counters: Counters,
    /// Set once init was asked to kill everything.
    kill_sent: Option<Instant>,
}

struct Sandbox {
    spec: SandboxSpec,
    init: Option<Pid>,
    init_fd: Option<OwnedFd>,
    chan: Channel,
    notifier: Option<Notifier>,
    cgroup: Option<Cgroup>,
    degraded: Vec<Degraded>,
    running: Option<Running>,
    destroy_requested: bool,
    /// Tear down as soon as the first command ends.
    one_shot: bool,
    _placeholders: Placeholders,
    _uid: Option<UidLease>,
}

fn proxy_down(socket: &std::path::Path, e: &io::Error) -> Error {
    Error::layer(
        Layer::Proxy,
        format!(
            "nothing answers on the egress proxy socket {} ({e}): the proxy is down",
            socket.display()
        ),
        "start the egress proxy, or run without network access",
    )
}

impl Sandbox {
    fn start(
        spec: SandboxSpec,
        secret_count: usize,
        one_shot: bool,
        fault: Option<crate::native::wire::SimulatedFault>,
        uid_range: (u32, u32),
        state_dir: PathBuf,
        host: &Channel,
    ) -> Result<Self> {
        if let Some(fault) = fault {
            fault::simulate(fault)
                .map_err(|e| Error::Launcher(format!("cannot simulate {fault:?}: {e}")))?;
        }
        spec.validate()?;
        let mut degraded = Vec::new();
        let root = nix::unistd::geteuid().is_root();
        let (identity, uid_lease) = if root {
            let lease = ids::allocate_uid(uid_range.0, uid_range.1, &state_dir)?;
            let identity = Identity::Root {
                uid: lease.uid,
                gid: lease.uid,
                owner_uid: nix::unistd::geteuid().as_raw(),
                owner_gid: nix::unistd::getegid().as_raw(),
                user_namespace: true,
            };
            (identity, Some(lease))
        } else {
            let identity = Identity::User {
                uid: nix::unistd::geteuid().as_raw(),
                gid: nix::unistd::getegid().as_raw(),
            };
            (identity, None)
        };
        if let NetworkMode::Proxy(proxy) = &spec.network {
            UnixStream::connect(&proxy.socket).map_err(|e| proxy_down(&proxy.socket, &e))?;
        }
        let writable_dirs: Vec<PathBuf> = spec
            .workspace
            .iter()
            .chain(&spec.read_write)
            .map(|p| crate::native::plan::normalise(p))
            .filter(|p| p.is_dir())
            .collect();
        let (protected, placeholders) = protect::prepare(&writable_dirs, &protect::home_dirs())?;
        let mut plan = Plan::resolve(spec, identity, protected)?;
        plan.secret_count = secret_count;
        // The descriptors of a one-shot command, kept open until init has inherited them.
        let mut first_fds: Vec<OwnedFd> = Vec::new();
        if secret_count == 0 {
            // Nothing to relay later: take the end marker now.
            match host.recv::<HostMsg>() {
                Ok(Some(r)) if matches!(r.msg, HostMsg::SecretsDone) => {}
                _ => return Err(Error::Launcher("the host sent no end of secrets".into())),
            }
            if one_shot {
                // The command travels with the specification: init starts it at once.
                let r = host
                    .expect::<HostMsg>("sending the command")
                    .map_err(|e| Error::Launcher(e.to_string()))?;
                let HostMsg::Exec { exec, fds: which } = r.msg else {
                    return Err(Error::Launcher("a one-shot run without a command".into()));
                };
                exec.validate()?;
                plan.first_exec = Some(FirstExec {
                    exec: *exec,
                    which,
                    fds: r.fds.iter().map(AsRawFd::as_raw_fd).collect(),
                });
                first_fds = r.fds;
            }
        }

        let run_id = format!(
            "{}{}-{}",
            plan.spec
                .owner
                .as_ref()
                .map(|o| format!("{o}-"))
                .unwrap_or_default(),
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let cgroup = match Cgroup::create(&run_id, &plan.spec.limits) {
            Ok(cg) => Some(cg),
            Err(reason) if plan.spec.may_degrade(SandboxLayer::Cgroups) => {
                degraded.push(Degraded {
                    layer: SandboxLayer::Cgroups,
                    reason: format!("{reason}; RLIMIT_NPROC and RLIMIT_AS stand in for the pids and memory limits"),
                });
                None
            }
            Err(reason) => {
                return Err(Error::layer(
                    Layer::Cgroups,
                    reason,
                    "run as root, or on a cgroup v2 host inside a delegated cgroup (`systemd-run --user --scope -p Delegate=yes aegisclaw …`)",
                ));
            }
        };
        let mut sandbox_guard = CgroupGuard(cgroup);

        let idmap = match plan.identity {
            Identity::Root {
                uid,
                gid,
                owner_uid,
                owner_gid,
                ..
            } if plan.grants.iter().any(|g| g.idmap) => {
                match ids::idmap_userns((owner_uid, owner_gid), (uid, gid)) {
                    Ok(ns) if ids::is_userns(&ns) => Some(ns),
                    Ok(_) | Err(_) if plan.spec.may_degrade(SandboxLayer::Idmap) => {
                        degraded.push(Degraded {
                            layer: SandboxLayer::Idmap,
                            reason: "cannot create the user namespace of the idmapped mounts; files the sandbox creates belong to its own uid".into(),
                        });
                        for g in &mut plan.grants {
                            g.idmap = false;
                        }
                        None
                    }
                    Ok(_) => {
                        return Err(Error::layer(
                            Layer::Idmap,
                            "the idmap namespace is not a user namespace",
                            "report this bug",
                        ));
                    }
                    Err(e) => {
                        // No user namespaces at all is the usual reason; name the root cause.
                        let layer = if matches!(
                            e.raw_os_error(),
                            Some(libc::ENOSPC | libc::EPERM | libc::EUSERS)
                        ) {
                            Layer::UserNamespace
                        } else {
                            Layer::Idmap
                        };
                        return Err(Error::layer(
                            layer,
                            format!("cannot create the user namespace of the idmapped mounts: {e}"),
                            "allow user namespaces (sysctl user.max_user_namespaces=15000)",
                        ));
                    }
                }
            }
            _ => None,
        };

        let (chan, init_end) = Channel::pair()
            .map_err(|e| Error::Launcher(format!("cannot create a socket pair: {e}")))?;
        let mut flags = libc::CLONE_NEWNS
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWUTS;
        let user_flow = matches!(plan.identity, Identity::User { .. });
        if user_flow {
            flags |= libc::CLONE_NEWUSER;
        }
        // SAFETY: the launcher is single-threaded (a fresh exec that starts no thread).
        let pid = match unsafe { sys::clone_fork(flags) } {
            Ok(0) => {
                drop(chan);
                init::run(InitArgs {
                    plan,
                    chan: init_end,
                    idmap,
                    cgroups: sandbox_guard.0.is_some(),
                })
            }
            Ok(pid) => Pid::from_raw(pid),
            Err(e) => {
                let (layer, fix) = if user_flow
                    && matches!(
                        e.raw_os_error(),
                        Some(libc::EPERM | libc::ENOSPC | libc::EINVAL | libc::EUSERS)
                    ) {
                    (
                        Layer::UserNamespace,
                        "allow unprivileged user namespaces (sysctl user.max_user_namespaces=15000 and, on Debian/Ubuntu, kernel.unprivileged_userns_clone=1 / kernel.apparmor_restrict_unprivileged_userns=0), or run as root",
                    )
                } else {
                    (
                        Layer::Namespaces,
                        "use a kernel with mount, pid, network, ipc and uts namespaces",
                    )
                };
                return Err(Error::layer(
                    layer,
                    format!("cannot create the sandbox's namespaces: {e}"),
                    fix,
                ));
            }
        };
        drop(init_end);
        drop(idmap);
        drop(first_fds);
        let init_fd = sys::pidfd_open(pid.as_raw()).ok();
        let mut sandbox = Self {
            spec: plan.spec.clone(),
            init: Some(pid),
            init_fd,
            chan,
            notifier: None,
            cgroup: sandbox_guard.0.take(),
            degraded,
            running: None,
            destroy_requested: false,
            one_shot: false,
            _placeholders: placeholders,
            _uid: uid_lease,
        };
        match sandbox.bring_up(pid, &plan.identity, host) {
            Ok(()) => {
                if let Some(first) = &plan.first_exec {
                    // Init starts it right away; its clock starts now.
                    sandbox.running = Some(sandbox.running_for(first.exec.timeout));
                }
                Ok(sandbox)
            }
            Err(e) => {
                sandbox.teardown();
                Err(e)
            }
        }
    }

    /// The bookkeeping of a command starting now.
    fn running_for(&self, timeout: Option<Duration>) -> Running {
        let limit = self.spec.limits.timeout;
        let timeout = timeout.map_or(limit, |t| t.min(limit));
        let now = Instant::now();
        Running {
            started: now,
            deadline: now + timeout,
            timed_out: false,
            counters: self
                .cgroup
                .as_ref()
                .map(Cgroup::counters)
                .unwrap_or_default(),
            kill_sent: None,
        }
    }

    /// Places init in the cgroup, lets it go, and answers its set-up requests until it is ready.
    fn bring_up(&mut self, pid: Pid, identity: &Identity, host: &Channel) -> Result<()> {
        let lost = |e: io::Error| {
            Error::Launcher(format!("lost the sandbox's init while setting up: {e}"))
        };
        if let Some(cg) = &self.cgroup {
            cg.add(pid.as_raw()).map_err(|e| {
                Error::layer(
                    Layer::Cgroups,
                    format!("cannot move the sandbox into its cgroup: {e}"),
                    "check the cgroup hierarchy's permissions",
                )
            })?;
        }
        self.chan.send(&ToInit::Go, &[], &[]).map_err(lost)?;
        loop {
            let Some(r) = self.chan.recv::<FromInit>().map_err(lost)? else {
                return Err(Error::Launcher(
                    "the sandbox's init died while setting up".into(),
                ));
            };
            match r.msg {
                FromInit::WantSecrets => loop {
                    let m = host.expect::<HostMsg>("sending secrets").map_err(lost)?;
                    match m.msg {
                        HostMsg::Secret { name } => {
                            self.chan
                                .send(&ToInit::Secret { name }, &m.payload, &[])
                                .map_err(lost)?;
                        }
                        HostMsg::SecretsDone => {
                            self.chan
                                .send(&ToInit::SecretsDone, &[], &[])
                                .map_err(lost)?;
                            break;
                        }
                        other => {
                            return Err(Error::Launcher(format!(
                                "unexpected message while sending secrets: {other:?}"
                            )));
                        }
                    }
                },
                FromInit::WriteMaps => {
                    let Identity::Root { uid, gid, .. } = identity else {
                        return Err(Error::Launcher(
                            "init asked for maps in a user-namespace flow".into(),
                        ));
                    };
                    ids::write_maps(&pid.to_string(), INSIDE_ID, *uid, *gid).map_err(|e| {
                        Error::layer(
                            Layer::UserNamespace,
                            format!("cannot write the sandbox's uid/gid maps: {e}"),
                            "check /proc/sys/user/max_user_namespaces",
                        )
                    })?;
                    self.chan
                        .send(&ToInit::MapsWritten, &[], &[])
                        .map_err(lost)?;
                }
                FromInit::Listener => {
                    let fd = r.fds.into_iter().next().ok_or_else(|| {
                        Error::Launcher("the seccomp listener did not arrive".into())
                    })?;
                    self.notifier = Some(Notifier::new(fd));
                }
                FromInit::Ready { degraded } => {
                    self.degraded.extend(degraded);
                    return Ok(());
                }
                FromInit::Failed(e) => return Err(e.into()),
                other => {
                    return Err(Error::Launcher(format!(
                        "unexpected message from init while setting up: {other:?}"
                    )));
                }
            }
        }
    }

    /// The event loop: relays the host's commands and init's answers, serves the seccomp
    /// listener, enforces the timeout. Returns when the sandbox should go away.
    fn supervise(&mut self, host: &Channel, signals: &SignalFd) {
        loop {
            let timeout = self.next_timeout();
            let mut fds = vec![
                PollFd::new(host.as_fd(), PollFlags::POLLIN),
                PollFd::new(signals.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.chan.as_fd(), PollFlags::POLLIN),
            ];
            let init_fd = self.init_fd.as_ref().map(|f| f.as_fd());
            let notify_fd = self.notifier.as_ref().map(|n| n.fd().as_fd());
            let init_at = init_fd.map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                fds.len() - 1
            });
            let notify_at = notify_fd.map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                fds.len() - 1
            });
            match poll(&mut fds, timeout) {
                Ok(_) => {}
                Err(nix::Error::EINTR) => continue,
                Err(_) => return,
            }
            let revents = |i: usize| fds[i].revents().unwrap_or(PollFlags::empty());
            let (host_ev, sig_ev, chan_ev) = (revents(0), revents(1), revents(2));
            let init_ev = init_at.map(revents).unwrap_or(PollFlags::empty());
            let notify_ev = notify_at.map(revents).unwrap_or(PollFlags::empty());
            drop(fds);

            if notify_ev.contains(PollFlags::POLLIN) {
                self.drain_notifications();
            } else if !notify_ev.is_empty() {
                // Every filter user is gone.
                self.drain_notifications();
                self.notifier = None;
            }
            if !chan_ev.is_empty() {
                match self.chan.recv::<FromInit>() {
                    Ok(Some(r)) => {
                        let exited = matches!(r.msg, FromInit::Exited { .. });
                        self.on_init(r.msg, host);
                        if exited && self.one_shot {
                            self.destroy_requested = true;
                            return;
                        }
                    }
                    _ => self.init_gone(host),
                }
            }
            if !init_ev.is_empty() {
                self.init_gone(host);
                if self.one_shot {
                    self.destroy_requested = true;
                    return;
                }
            }
            if !sig_ev.is_empty() {
                return;
            }
            if !host_ev.is_empty() {
                match host.recv::<HostMsg>() {
                    Ok(Some(r)) => {
                        if self.on_host(r.msg, r.fds, host) {
                            return;
                        }
                    }
                    // The host is gone (it exited or was killed): nothing may outlive it.
                    _ => return,
                }
            }
            self.check_deadline();
        }
    }

    fn next_timeout(&self) -> PollTimeout {
        let Some(running) = &self.running else {
            return PollTimeout::NONE;
        };
        let until = match running.kill_sent {
            Some(sent) => sent + KILL_GRACE,
            None => running.deadline,
        };
        let ms = until.saturating_duration_since(Instant::now()).as_millis() + 1;
        PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::MAX)
    }

    fn check_deadline(&mut self) {
        let now = Instant::now();
        let Some(running) = &mut self.running else {
            return;
        };
        match running.kill_sent {
            None if now >= running.deadline => {
                running.timed_out = true;
                running.kill_sent = Some(now);
                if self.chan.send(&ToInit::KillAll, &[], &[]).is_err() {
                    self.kill_init();
                }
            }
            Some(sent) if now >= sent + KILL_GRACE => self.kill_init(),
            _ => {}
        }
    }

    /// Answers every pending seccomp notification (never blocks).
    fn drain_notifications(&mut self) {
        let Some(notifier) = &mut self.notifier else {
            return;
        };
        loop {
            let mut pending = [PollFd::new(notifier.fd().as_fd(), PollFlags::POLLIN)];
            let ready = matches!(poll(&mut pending, PollTimeout::ZERO), Ok(n) if n > 0)
                && pending[0]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLIN));
            if !ready || notifier.handle().is_err() {
                break;
            }
        }
    }

    /// Handles one host message; `true` ends supervision.
    fn on_host(&mut self, msg: HostMsg, fds: Vec<OwnedFd>, host: &Channel) -> bool {
        match msg {
            HostMsg::Exec { exec, fds: which } => {
                let refuse = |why: Error| {
                    host.send(&LauncherMsg::ExecFailed(why.to_wire()), &[], &[])
                        .is_err()
                };
                if self.running.is_some() {
                    return refuse(Error::Launcher(
                        "a command is already running in this sandbox".into(),
                    ));
                }
                if self.init.is_none() {
                    return refuse(Error::SessionEnded);
                }
                if let Err(e) = exec.validate() {
                    return refuse(e);
                }
                self.running = Some(self.running_for(exec.timeout));
                let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(AsFd::as_fd).collect();
                if self
                    .chan
                    .send(&ToInit::Exec { exec, fds: which }, &[], &borrowed)
                    .is_err()
                {
                    self.running = None;
                    return refuse(Error::SessionEnded);
                }
                false
            }
            HostMsg::Kill => {
                self.kill_init();
                false
            }
            HostMsg::Destroy => {
                self.destroy_requested = true;
                true
            }
            HostMsg::Setup { .. } | HostMsg::Secret { .. } | HostMsg::SecretsDone => false,
        }
    }

    fn on_init(&mut self, msg: FromInit, host: &Channel) {
        let reply = match msg {
            FromInit::Started => LauncherMsg::Started,
            FromInit::ExecFailed(e) => {
                self.running = None;
                LauncherMsg::ExecFailed(e)
            }
            FromInit::Exited { status } => LauncherMsg::Exited(self.finish(status)),
            _ => return,
        };
        let _ = host.send(&reply, &[], &[]);
    }

    /// The command's report once it ended with `status`.
    fn finish(&mut self, status: ExitStatus) -> ExecReport {
        self.drain_notifications();
        let running = self.running.take();
        let mut denials: Vec<Denial> = self
            .notifier
            .as_mut()
            .map(Notifier::take)
            .unwrap_or_default();
        let limits = &self.spec.limits;
        if let (Some(cg), Some(r)) = (&self.cgroup, &running) {
            denials.extend(cg.denials_since(r.counters, limits));
        }
        match status {
            ExitStatus::Signaled(s) if s == libc::SIGXCPU => denials.push(Denial::Limit {
                limit: "cpu_time".into(),
                detail: format!("the process used its {:?} of CPU time", limits.cpu_time),
            }),
            ExitStatus::Signaled(s) if s == libc::SIGXFSZ => denials.push(Denial::Limit {
                limit: "file_size".into(),
                detail: format!("a file grew past the limit of {}", limits.file_size),
            }),
            _ => {}
        }
        let (duration, timed_out) = match &running {
            Some(r) => (r.started.elapsed(), r.timed_out),
            None => (Duration::ZERO, false),
        };
        if timed_out {
            denials.push(Denial::Timeout { after: duration });
        }
        ExecReport {
            status,
            duration,
            timed_out,
            denials,
        }
    }

    /// Init exited (killed, or the namespace was torn down): every process is gone.
    fn init_gone(&mut self, host: &Channel) {
        if let Some(pid) = self.init.take() {
            let _ = waitpid(pid, None);
        }
        self.init_fd = None;
        if self.running.is_some() {
            let report = self.finish(ExitStatus::Signaled(libc::SIGKILL));
            let _ = host.send(&LauncherMsg::Exited(report), &[], &[]);
        }
    }

    fn kill_init(&mut self) {
        if let Some(pid) = self.init {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        }
    }

    /// Kills everything and removes every trace: init (and with it the whole pid namespace),
    /// the cgroup, the placeholders, the uid lease.
    fn teardown(&mut self) {
        self.kill_init();
        if let Some(pid) = self.init.take() {
            loop {
                match waitpid(pid, None) {
                    Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        if let Some(cg) = self.cgroup.take() {
            if !cg.is_empty() {
                cg.kill_all();
            }
            cg.remove();
        }
        self._placeholders.release();
    }
}

/// Removes the cgroup if set-up fails before the sandbox owns it.
struct CgroupGuard(Option<Cgroup>);

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if let Some(cg) = self.0.take() {
            cg.remove();
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.teardown();
    }
}
