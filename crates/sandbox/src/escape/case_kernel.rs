//! E16–E21: mounts and namespaces, privilege escalation, kernel-surface and foreign-architecture
//! system calls, /proc and /sys, devices and terminal injection.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::oracle::{Snapshot, token};
use super::{Ctx, is_root};
use crate::spec::Stdio;

pub(super) fn e16_mounts(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let marker = format!("aegisclaw-e16-{}", &token()[..12]);
    let ws = ctx.mkdir("ws")?;
    std::fs::create_dir_all(ws.join(".git/hooks")).map_err(|e| e.to_string())?;
    std::fs::write(ws.join(".git/config"), format!("[core]\n# {}\n", token()))
        .map_err(|e| e.to_string())?;
    let mut snapshot = Snapshot::default();
    snapshot.file(ws.join(".git/config"));
    snapshot.dir(ws.join(".git/hooks"));
    let config = ws.join(".git/config");
    let ops = vec![
        "mount=tmpfs>/tmp".to_string(),
        "remount-rw=/".into(),
        "remount-rw=/usr".into(),
        format!("umount={}", config.display()),
        format!("umount={}", ws.join(".git/hooks").display()),
        "pivot=/tmp".into(),
        "unshare=user+mnt".into(),
        "unshare=user".into(),
        "clone-ns".into(),
        "setns=/proc/1/ns/mnt".into(),
        "setns=/proc/1/ns/user".into(),
        "setns=/proc/self/ns/mnt".into(),
        "setns=/proc/self/ns/user".into(),
        "fsopen=tmpfs".into(),
        format!("open_tree={}", ws.display()),
        format!("exec=unshare -Urm sh -c umount\\ {}", config.display()),
        format!("append={}", config.display()),
        format!("create={}", ws.join(".git/hooks/pre-commit").display()),
        format!("create=/usr/{marker}"),
        format!("create=/{marker}"),
    ];
    let mut spec = ctx.spec();
    spec.workspace = Some(ws);
    let probed = ctx.probe(spec, &ops)?;
    ctx.none(
        "protected files unchanged",
        snapshot.changes(),
        ".git/config and .git/hooks unchanged",
    );
    let on_host: Vec<String> = [format!("/usr/{marker}"), format!("/{marker}")]
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .inspect(|p| {
            let _ = std::fs::remove_file(p);
        })
        .collect();
    ctx.none(
        "nothing written to the host's / or /usr",
        on_host,
        "no marker on the host",
    );
    for op in [
        "mount",
        "remount-rw",
        "umount",
        "pivot",
        "unshare",
        "clone-ns",
        "setns",
        "fsopen",
        "open_tree",
    ] {
        ctx.all_failed(&probed, op, &format!("{op} refused"));
    }
    ctx.seccomp_saw(
        &probed,
        &[
            "mount",
            "umount2",
            "pivot_root",
            "unshare",
            "clone",
            "setns",
            "fsopen",
            "open_tree",
        ],
    );
    Ok(())
}

pub(super) fn e17_privileges(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let ws = ctx.mkdir("ws")?;
    let shell = ["/usr/bin/bash", "/bin/bash", "/usr/bin/sh", "/bin/sh"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("no shell to copy")?;
    let copy = ws.join("suid-shell");
    let ops = vec![
        "capget".to_string(),
        "status".into(),
        format!("suid={shell}>{}", copy.display()),
        "exec=sudo -n true".into(),
        "exec=su -c true root".into(),
        "exec=setpriv --reuid=0 true".into(),
    ];
    let mut spec = ctx.spec();
    spec.workspace = Some(ws.clone());
    let probed = ctx.probe(spec, &ops)?;
    let setid: Vec<String> = [copy, ws.join("suid-shell-created")]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| (p.clone(), m)))
        .filter(|(_, m)| m.mode() & 0o6000 != 0)
        .map(|(p, m)| {
            format!(
                "{} has mode {:o} (owner {}) on the host",
                p.display(),
                m.mode(),
                m.uid()
            )
        })
        .collect();
    ctx.none(
        "no set-uid or set-gid file left on the host",
        setid,
        "checked the copy and the created file",
    );
    let caps = probed
        .op("capget")
        .next()
        .map(|l| l.out.clone())
        .unwrap_or_default();
    ctx.check(
        "capabilities are all zero (capget)",
        caps.contains("effective=000000000 permitted=000000000 inheritable=000000000"),
        caps,
    );
    let status = probed
        .op("status")
        .next()
        .map(|l| l.out.clone())
        .unwrap_or_default();
    let all_zero = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
        .iter()
        .all(|k| status.contains(&format!("{k}:\t0000000000000000")));
    let flags = status.contains("NoNewPrivs:\t1") && status.contains("Seccomp:\t2");
    ctx.check(
        "/proc/self/status: no capabilities, NoNewPrivs 1, Seccomp 2",
        all_zero && flags,
        status,
    );
    let ran = probed.op("suid-exec").next().map(|l| (l.ok, l.out.clone()));
    let escalated = matches!(&ran, Some((true, out)) if out.split_whitespace().any(|id| id == "0"));
    ctx.check(
        "the set-uid copy does not run as root",
        !escalated,
        format!("{ran:?}"),
    );
    let sudo: Vec<String> = probed
        .op("exec")
        .filter(|l| l.ok && l.out.starts_with("exit status: 0"))
        .map(|l| format!("{} succeeded", l.arg))
        .collect();
    ctx.none("sudo, su and setpriv to root fail", sudo, "all refused");
    if !probed.degraded_seccomp() {
        let chmod_denied = probed
            .denied_syscalls()
            .iter()
            .any(|s| s.starts_with("fchmod") || s == "chmod" || s == "openat");
        ctx.check(
            "the set-uid bit was refused by seccomp (launcher's record)",
            chmod_denied,
            format!("{:?}", probed.denied_syscalls()),
        );
    }
    Ok(())
}

const KERNEL_SURFACE: &[&str] = &[
    "io_uring_setup",
    "io_uring_enter",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "name_to_handle_at",
    "pidfd_getfd",
    "acct",
    "swapon",
    "reboot",
    "syslog",
    "settimeofday",
    "sethostname",
    "memfd_create",
];

pub(super) fn e18_kernel_surface(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let ops: Vec<String> = KERNEL_SURFACE
        .iter()
        .map(|s| format!("syscall={s}"))
        .collect();
    let probed = ctx.probe(ctx.spec(), &ops)?;
    let wrong: Vec<String> = probed
        .op("syscall")
        .filter(|l| {
            l.ok || !(l.out.contains("Operation not permitted")
                || l.out.contains("Function not implemented"))
        })
        .map(|l| format!("{}: {}", l.arg, l.out))
        .collect();
    ctx.none(
        "every call failed with EPERM or ENOSYS",
        wrong,
        format!("{} calls", KERNEL_SURFACE.len()),
    );
    ctx.seccomp_saw(&probed, KERNEL_SURFACE);
    Ok(())
}

pub(super) fn e19_arch(ctx: &mut Ctx<'_>) -> Result<(), String> {
    if !cfg!(target_arch = "x86_64") {
        ctx.check(
            "foreign-architecture calls",
            true,
            "only x86_64 has i386 and x32 entry points",
        );
        return Ok(());
    }
    let ws = ctx.mkdir("ws")?;
    let (i386, x32) = (ws.join("int80-marker"), ws.join("x32-marker"));
    let ops = vec![
        format!("int80={}", i386.display()),
        format!("x32={}", x32.display()),
    ];
    let mut spec = ctx.spec();
    spec.workspace = Some(ws);
    let probed = ctx.probe(spec, &ops)?;
    let made: Vec<String> = [&i386, &x32]
        .iter()
        .filter(|p| p.exists())
        .map(|p| format!("{} was created", p.display()))
        .collect();
    ctx.none(
        "no foreign-architecture mkdir reached the filesystem",
        made,
        "no marker directory on the host",
    );
    let not_killed: Vec<String> = probed
        .lines
        .iter()
        .filter(|l| l.op == "int80" || l.op == "x32")
        .filter(|l| {
            !l.out
                .contains(&format!("killed by signal {}", libc::SIGSYS))
        })
        .map(|l| format!("{}: {}", l.op, l.out))
        .collect();
    if probed.degraded_seccomp() {
        ctx.check(
            "the calling process was killed",
            true,
            "seccomp degraded by opt-in; not checked",
        );
    } else {
        ctx.none(
            "the calling process was killed (SIGSYS)",
            not_killed,
            "both killed by SIGSYS",
        );
    }
    Ok(())
}

pub(super) fn e20_proc_sys(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let mut snapshot = Snapshot::default();
    snapshot.file("/proc/sys/kernel/core_pattern");
    let mut ops = vec![
        "write=/proc/sys/kernel/core_pattern>|/tmp/pwn".to_string(),
        "write=/proc/sysrq-trigger>h".into(),
        "write=/proc/sys/kernel/modprobe>/tmp/pwn".into(),
    ];
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        for file in ["release_agent", "notify_on_release"] {
            let path = hierarchy.path().join(file);
            if path.exists() {
                snapshot.file(&path);
                ops.push(format!("write={}>/tmp/pwn", path.display()));
            }
        }
    }
    ops.extend([
        "mount=cgroup>/tmp".to_string(),
        "read=/proc/kcore".into(),
        "read=/proc/kallsyms".into(),
        "read=/sys/kernel/notes".into(),
    ]);
    let probed = ctx.probe(ctx.spec(), &ops)?;
    ctx.none(
        "host /proc/sys and cgroup release agents unchanged",
        snapshot.changes(),
        "core_pattern, release_agent, notify_on_release unchanged",
    );
    ctx.all_failed(
        &probed,
        "write",
        "every write to /proc/sys, /proc/sysrq-trigger and /sys refused",
    );
    // Kernel addresses: whatever the host can see of /proc/kallsyms must not show inside.
    let host_addrs: Vec<String> = std::fs::read_to_string("/proc/kallsyms")
        .unwrap_or_default()
        .lines()
        .take(2000)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|a| a.chars().any(|c| c != '0'))
        .map(str::to_string)
        .collect();
    let leaked = host_addrs
        .iter()
        .filter(|a| probed.raw.contains(a.as_str()))
        .count();
    let inside_nonzero = probed
        .op("read")
        .filter(|l| l.arg == "/proc/kallsyms" && l.ok)
        .flat_map(|l| l.out.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|a| a.chars().any(|c| c != '0'))
        })
        .count();
    ctx.check(
        "no kernel address is readable",
        leaked == 0 && inside_nonzero == 0,
        format!("{leaked} host address(es) seen, {inside_nonzero} non-zero address line(s) inside"),
    );
    let kcore = probed
        .op("read")
        .any(|l| l.arg == "/proc/kcore" && l.ok && !l.out.is_empty());
    ctx.check("/proc/kcore is not readable", !kcore, "empty or refused");
    Ok(())
}

pub(super) fn e21_devices(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let pty =
        nix::pty::openpty(None, None).map_err(|e| format!("cannot open a pseudo-terminal: {e}"))?;
    let (master, slave): (OwnedFd, OwnedFd) = (pty.master, pty.slave);
    if let Ok(mut t) = nix::sys::termios::tcgetattr(&slave) {
        nix::sys::termios::cfmakeraw(&mut t);
        let _ = nix::sys::termios::tcsetattr(&slave, nix::sys::termios::SetArg::TCSANOW, &t);
    }
    let theirs = slave.try_clone().map_err(|e| e.to_string())?;
    let mut ops: Vec<String> = [
        "/dev/kvm",
        "/dev/mem",
        "/dev/kmem",
        "/dev/port",
        "/dev/vda",
        "/dev/sda",
        "/dev/nvme0n1",
        "/dev/tty",
        "/dev/console",
        "/dev/tty0",
        "/dev/ttyS0",
        "/dev/kmsg",
        "/dev/fuse",
        "/dev/net/tun",
        "/dev/userfaultfd",
        "/dev/loop-control",
        "/dev/vsock",
    ]
    .iter()
    .map(|d| format!("open={d}"))
    .collect();
    ops.push("mknod=/tmp/mem".into());
    ops.push("tiocsti=0".into());
    let probed = ctx.probe_with(ctx.spec(), &ops, Stdio::Fd(theirs))?;
    // Anything injected would wait in the terminal's input queue.
    nix::fcntl::fcntl(
        &slave,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 256];
    // SAFETY: a non-blocking read into a stack buffer.
    let n = unsafe { libc::read(slave.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    drop(master);
    ctx.check(
        "nothing was injected into the terminal (TIOCSTI)",
        n <= 0,
        format!("read {n} byte(s) from the terminal's input"),
    );
    ctx.all_failed(&probed, "open", "no host device could be opened");
    ctx.all_failed(&probed, "mknod", "no device node could be created");
    ctx.seccomp_saw(&probed, &["ioctl"]);
    let _ = is_root();
    Ok(())
}
