//! E12–E15 and E25–E27: descriptors, other processes' memory and environment, signals,
//! processes that try to outlive the sandbox, persistence, and sandboxes attacking each other.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::oracle::{CanaryProcess, processes_with, token};
use super::{CANARY_ENV, Ctx, user_home};
use crate::backend::Backend;
use crate::spec::{ExecStdio, SecretFile};

/// Waits up to `limit` for `cond`.
fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

fn pid_of(marker: &str) -> Option<u32> {
    processes_with(marker)
        .first()?
        .split(':')
        .next()?
        .parse()
        .ok()
}

pub(super) fn e12_fds(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let secret = token();
    let file = ctx.dir.join("leaked.txt");
    std::fs::write(&file, format!("leaked {secret}\n")).map_err(|e| e.to_string())?;
    let c_path = std::ffi::CString::new(file.display().to_string()).map_err(|e| e.to_string())?;
    // Deliberately without O_CLOEXEC: a careless runtime leaks descriptors like this one.
    // SAFETY: open(2) of a valid path; the descriptor is owned right below.
    let raw = unsafe { libc::open(c_path.as_ptr(), libc::O_RDONLY) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    // SAFETY: we own the descriptor just opened.
    let leaked_file = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut pair = [0; 2];
    // SAFETY: socketpair fills two descriptors (no CLOEXEC, on purpose).
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, pair.as_mut_ptr()) } < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    // SAFETY: both descriptors are ours.
    let (ours, leaked_socket) =
        unsafe { (OwnedFd::from_raw_fd(pair[0]), OwnedFd::from_raw_fd(pair[1])) };
    let probed = ctx.probe(ctx.spec(), &["fds".to_string()]);
    drop(leaked_file);
    drop(leaked_socket);
    let probed = probed?;
    ctx.not_leaked(&probed, &[("the leaked file's content", &secret)]);
    let mut buf = [0u8; 64];
    // SAFETY: non-blocking receive into a stack buffer.
    let n = unsafe {
        libc::recv(
            ours.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    ctx.check(
        "the leaked socket's peer received nothing",
        n <= 0,
        format!("recv returned {n}"),
    );
    let extra: Vec<String> = probed
        .op("fd")
        .map(|l| format!("fd {} open: {}", l.arg, l.out))
        .collect();
    ctx.none(
        "only stdin, stdout and stderr are open inside",
        extra,
        "no descriptor above 2",
    );
    Ok(())
}

pub(super) fn e13_ptrace(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let (host_token, sibling_token) = (token(), token());
    let marker = format!("aegisclaw-e13-{}", &token()[..12]);
    let mut canary =
        CanaryProcess::start(&ctx.opts.probe, &marker, &host_token).map_err(|e| e.to_string())?;
    let sibling_marker = format!("{marker}-sibling");
    let mut session = ctx
        .opts
        .backend
        .prepare(ctx.spec())
        .map_err(|e| e.to_string())?;
    let exec = ctx
        .probe_exec(&[format!("tag={sibling_marker}"), "idle=60".into()])
        .env("AEGISCLAW_CANARY_TOKEN", sibling_token.clone());
    let running = session
        .exec(&exec, ExecStdio::default())
        .map_err(|e| e.to_string())?;
    let killer = running.killer();
    let sibling = wait_for(Duration::from_secs(5), || pid_of(&sibling_marker).is_some())
        .then(|| pid_of(&sibling_marker))
        .flatten();
    let mut ops = vec![
        "ptrace=1".to_string(),
        "vmread=1".into(),
        "environ=/proc/1/environ".into(),
        "read=/proc/1/mem".into(),
    ];
    let mut pids = vec![canary.pid()];
    pids.extend(sibling);
    for pid in &pids {
        ops.extend([
            format!("ptrace={pid}"),
            format!("vmread={pid}"),
            format!("environ=/proc/{pid}/environ"),
            format!("read=/proc/{pid}/cmdline"),
        ]);
    }
    ops.push("pids".into());
    let probed = ctx.probe(ctx.spec(), &ops);
    let sibling_alive = pid_of(&sibling_marker).is_some();
    let sibling_traced = sibling
        .and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("TracerPid:"))
                .map(|t| t.trim() != "0")
        })
        .unwrap_or(false);
    let _ = killer.kill();
    let _ = running.wait();
    let _ = session.destroy();
    let probed = probed?;
    ctx.check(
        "the sibling sandbox was running",
        sibling.is_some(),
        format!("host pid {sibling:?}"),
    );
    ctx.not_leaked(
        &probed,
        &[
            ("the host process's environment", &host_token),
            ("the sibling sandbox's environment", &sibling_token),
        ],
    );
    ctx.none(
        "the host canary process survived untraced",
        canary.intact().err().into_iter().collect(),
        format!("pid {} alive, TracerPid 0", canary.pid()),
    );
    ctx.check(
        "the sibling survived untraced",
        sibling_alive && !sibling_traced,
        "alive, TracerPid 0",
    );
    let visible: Vec<String> = probed
        .op("pids")
        .flat_map(|l| l.out.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.contains(&marker))
        .collect();
    ctx.none(
        "host processes are not visible",
        visible,
        "only the sandbox's own pids in /proc",
    );
    ctx.seccomp_saw(&probed, &["ptrace", "process_vm_readv"]);
    Ok(())
}

pub(super) fn e14_env(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let runtime = std::env::var(CANARY_ENV).ok().filter(|v| !v.is_empty());
    ctx.check(
        "the runtime's environment holds a canary secret",
        runtime.is_some(),
        format!("{CANARY_ENV} is set in the runtime (plant_runtime_canary)"),
    );
    let file_secret = token();
    let mut spec = ctx.spec();
    spec.secrets
        .push(SecretFile::new("E14_TOKEN", file_secret.clone()));
    let ops = [
        "env",
        "environ=/proc/self/environ",
        "environ=/proc/1/environ",
        "pids",
        "read=/run/secrets/E14_TOKEN",
        "stat=/run/secrets/E14_TOKEN",
        "create=/run/secrets/E14_EXTRA",
    ]
    .map(String::from);
    let probed = ctx.probe(spec, &ops)?;
    let env_text: String = probed
        .lines
        .iter()
        .filter(|l| matches!(l.op.as_str(), "env" | "environ" | "pids"))
        .map(|l| l.out.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut leaks = Vec::new();
    if let Some(r) = &runtime
        && env_text.contains(r.as_str())
    {
        leaks.push("the runtime's canary is in the sandbox's environment".to_string());
    }
    if env_text.contains(&file_secret) {
        leaks.push("the secret file's value is in an environment".to_string());
    }
    if probed.raw.contains(CANARY_ENV) {
        leaks.push(format!("{CANARY_ENV} is set inside"));
    }
    ctx.none(
        "no secret in any environment inside",
        leaks,
        "env, /proc/self/environ, /proc/*/environ clean",
    );
    let delivered = probed.op("read").any(|l| l.ok && l.out == file_secret);
    ctx.check(
        "control: the secret arrives as /run/secrets/E14_TOKEN",
        delivered,
        "read back inside",
    );
    let mode = probed
        .op("stat")
        .next()
        .map(|l| l.out.clone())
        .unwrap_or_default();
    ctx.check(
        "the secret file is mode 0400",
        mode.starts_with("mode 100400"),
        mode,
    );
    ctx.all_failed(&probed, "create", "/run/secrets is read-only");
    Ok(())
}

pub(super) fn e15_signals(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let marker = format!("aegisclaw-e15-{}", &token()[..12]);
    let mut canary =
        CanaryProcess::start(&ctx.opts.probe, &marker, "x").map_err(|e| e.to_string())?;
    let pid = canary.pid();
    let ops = [
        format!("kill={pid}>9"),
        format!("kill={pid}>15"),
        "kill=1>9".into(),
        "killall".into(),
    ];
    let probed = ctx.probe(ctx.spec(), &ops)?;
    std::thread::sleep(Duration::from_millis(50));
    ctx.none(
        "the host canary process survived",
        canary.intact().err().into_iter().collect(),
        format!("pid {pid} alive"),
    );
    let reached: Vec<String> = probed
        .op("kill")
        .filter(|l| l.ok && l.arg.starts_with(&format!("{pid}>")))
        .map(|l| format!("kill {}: {}", l.arg, l.out))
        .collect();
    ctx.none(
        "no signal reached the host process",
        reached,
        "kill() of its pid failed (not visible)",
    );
    Ok(())
}

pub(super) fn e25_orphans(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let marker = format!("aegisclaw-e25-{}", &token()[..12]);
    let mut spec = ctx.spec();
    spec.limits.timeout = Duration::from_secs(2);
    let probed = ctx.probe(spec, &[format!("daemon={marker}"), "spin=60".into()])?;
    ctx.check(
        "the timeout fired",
        probed.report.exec.timed_out,
        format!("{:?}", probed.report.exec.status),
    );
    let left = processes_with(&marker);
    ctx.none(
        "nothing survived the timeout",
        left,
        "no daemon left on the host",
    );

    // Parent death: kill the launcher of a running session; its sandbox must die with it.
    let marker2 = format!("{marker}-parent");
    let mut session = ctx
        .opts
        .backend
        .prepare(ctx.spec())
        .map_err(|e| e.to_string())?;
    let exec = ctx.probe_exec(&[
        format!("daemon={marker2}"),
        format!("tag={marker2}"),
        "idle=60".into(),
    ]);
    let running = session
        .exec(&exec, ExecStdio::default())
        .map_err(|e| e.to_string())?;
    let started = wait_for(Duration::from_secs(5), || {
        processes_with(&marker2).len() >= 2
    });
    let launcher = pid_of(&marker2).and_then(parent).and_then(parent);
    if let Some(l) = launcher {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(l as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let gone = wait_for(Duration::from_secs(5), || {
        processes_with(&marker2).is_empty()
    });
    drop(running);
    drop(session);
    ctx.check(
        "the daemon and the command were running",
        started,
        format!("launcher pid {launcher:?}"),
    );
    ctx.check(
        "killing the launcher kills every process of its sandbox",
        gone,
        if gone {
            "all gone".into()
        } else {
            processes_with(&marker2).join("; ")
        },
    );
    Ok(())
}

fn parent(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

pub(super) fn e26_persistence(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let marker = format!("aegisclaw-e26-{}", &token()[..12]);
    let ws = ctx.mkdir("ws")?;
    let mut host_paths = vec![
        format!("/etc/cron.d/{marker}"),
        format!("/var/spool/cron/crontabs/{marker}"),
    ];
    if let Some(home) = user_home() {
        host_paths.push(
            home.join(format!(".config/systemd/user/{marker}.service"))
                .display()
                .to_string(),
        );
        host_paths.push(
            home.join(format!(".config/autostart/{marker}.desktop"))
                .display()
                .to_string(),
        );
    }
    let mut ops = vec![
        "mkdir=/home/sandbox/.config/systemd/user".to_string(),
        format!("create=/home/sandbox/.config/systemd/user/{marker}.service"),
        "create=/home/sandbox/.bashrc".into(),
        format!("append={}", ws.join(".bashrc").display()),
    ];
    ops.extend(host_paths.iter().map(|p| format!("create={p}")));
    ops.push(format!("daemon={marker}"));
    let mut spec = ctx.spec();
    spec.workspace = Some(ws.clone());
    // In a session: the background process must be seen alive, then gone with the session.
    let mut session = ctx.opts.backend.prepare(spec).map_err(|e| e.to_string())?;
    let report = session
        .exec(&ctx.probe_exec(&ops), ExecStdio::default())
        .and_then(crate::backend::Execution::wait)
        .map_err(|e| e.to_string());
    let lingered = wait_for(Duration::from_secs(5), || {
        !processes_with(&marker).is_empty()
    });
    let _ = session.destroy();
    report?;
    ctx.check(
        "the background process outlived its command while the session lived",
        lingered,
        "seen on the host",
    );
    let created: Vec<String> = host_paths
        .iter()
        .filter(|p| std::path::Path::new(p).exists())
        .map(|p| format!("{p} exists on the host"))
        .collect();
    for p in &host_paths {
        let _ = std::fs::remove_file(p);
    }
    ctx.none(
        "no start-up hook written outside the sandbox",
        created,
        format!("{} places checked", host_paths.len()),
    );
    let rc = ws.join(".bashrc");
    ctx.check(
        "no shell rc file left in the workspace",
        !rc.exists(),
        rc.display().to_string(),
    );
    ctx.none(
        "no process survived the run",
        processes_with(&marker),
        "none",
    );
    let mut spec = ctx.spec();
    spec.workspace = Some(ws);
    let second = ctx.probe(
        spec,
        &[
            format!("read=/home/sandbox/.config/systemd/user/{marker}.service"),
            "read=/home/sandbox/.bashrc".into(),
        ],
    )?;
    ctx.all_failed(&second, "read", "the next sandbox starts clean");
    Ok(())
}

pub(super) fn e27_cross_sandbox(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let secret = token();
    let tag = &token()[..12];
    let marker = format!("aegisclaw-e27-{tag}");
    let name = format!("aegisclaw-e27-abstract-{tag}");
    let ws_a = ctx.mkdir("ws-a")?;
    let accepts = ws_a.join("accepts");
    let mut spec_a = ctx.spec();
    spec_a.workspace = Some(ws_a);
    let mut session = ctx
        .opts
        .backend
        .prepare(spec_a)
        .map_err(|e| e.to_string())?;
    let exec = ctx
        .probe_exec(&[
            format!("tag={marker}"),
            format!("create=/tmp/{marker}"),
            format!("victim={name}>{}", accepts.display()),
        ])
        .env("AEGISCLAW_CANARY_TOKEN", secret.clone());
    let running = session
        .exec(&exec, ExecStdio::default())
        .map_err(|e| e.to_string())?;
    let killer = running.killer();
    let listening = wait_for(Duration::from_secs(5), || accepts.exists());
    let ops = [
        format!("abstract={name}"),
        format!("read=/tmp/{marker}"),
        "pids".into(),
        "kill=2>9".into(),
    ];
    let probed = ctx.probe(ctx.spec(), &ops);
    let victim_alive = !processes_with(&marker).is_empty();
    let _ = killer.kill();
    let _ = running.wait();
    let _ = session.destroy();
    let probed = probed?;
    ctx.check(
        "the other sandbox was listening",
        listening,
        accepts.display().to_string(),
    );
    let mut count = String::new();
    let _ = std::fs::File::open(&accepts).and_then(|mut f| f.read_to_string(&mut count));
    ctx.check(
        "its abstract socket accepted nothing",
        count.trim() == "0",
        format!("accept count {:?}", count.trim()),
    );
    ctx.not_leaked(&probed, &[("the other sandbox's environment", &secret)]);
    ctx.all_failed(&probed, "read", "its /tmp is invisible");
    ctx.check(
        "it survived",
        victim_alive,
        "still running after the attack",
    );
    Ok(())
}
