//! Process attacks: environment and descriptor dumps, ptrace and memory reads, signals,
//! daemons that try to outlive the sandbox, fork and memory bombs, CPU spin.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::{check, emit, os_err};

pub(super) fn run(op: &str, value: &str) -> bool {
    match op {
        "env" => emit(
            op,
            value,
            Ok(std::env::vars_os()
                .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
                .collect::<Vec<_>>()
                .join("\n")),
        ),
        "environ" => emit(op, value, read_all(value)),
        "pids" => emit(op, value, Ok(pids())),
        "fds" => fds(),
        "ptrace" => {
            let pid = value.parse().unwrap_or(1);
            // SAFETY: PTRACE_ATTACH with integer arguments.
            let ret = unsafe { libc::ptrace(libc::PTRACE_ATTACH, pid, 0, 0) };
            emit(op, value, check(ret, |_| "attached".into()));
        }
        "vmread" => emit(op, value, vm_read(value.parse().unwrap_or(1))),
        "kill" => {
            let (pid, sig) = value.split_once('>').unwrap_or((value, "9"));
            // SAFETY: kill(2) with integer arguments.
            let ret = unsafe {
                libc::kill(
                    pid.parse().unwrap_or(1),
                    sig.parse().unwrap_or(libc::SIGKILL),
                )
            };
            emit(op, value, check(i64::from(ret), |_| "signal sent".into()));
        }
        "killall" => {
            // SAFETY: kill(2) with integer arguments; -1 reaches every process we may signal
            // (never ourselves, never our namespace's init).
            let ret = unsafe { libc::kill(-1, libc::SIGKILL) };
            emit(op, value, check(i64::from(ret), |_| "kill(-1) sent".into()));
        }
        "tag" => {}
        "idle" => std::thread::sleep(Duration::from_secs(value.parse().unwrap_or(60))),
        "daemon" => daemon(value),
        "spin" => {
            let end = Instant::now() + Duration::from_secs(value.parse().unwrap_or(60));
            let mut x: u64 = 0;
            while Instant::now() < end {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            emit(op, value, Ok(format!("spun {x}")));
        }
        "forkbomb" => forkbomb(value.parse().unwrap_or(10)),
        "membomb" => membomb(value.parse().unwrap_or(1024)),
        "victim" => victim(value),
        "bench-getppid" => emit(
            op,
            value,
            Ok(format!(
                "{:.1}",
                bench_getppid(value.parse().unwrap_or(100_000))
            )),
        ),
        "bench-open" => emit(
            op,
            value,
            Ok(format!(
                "{:.1}",
                bench_open(value.parse().unwrap_or(100_000))
            )),
        ),
        "bench-spawn" => emit(
            op,
            value,
            Ok(format!("{:.1}", bench_spawn(value.parse().unwrap_or(100)))),
        ),
        _ => return false,
    }
    true
}

fn read_all(path: &str) -> Result<String, String> {
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&buf).replace('\0', "\n"))
}

fn pids() -> String {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.chars().all(|c| c.is_ascii_digit()) {
                let cmd = read_all(&format!("/proc/{name}/cmdline")).unwrap_or_default();
                let env =
                    read_all(&format!("/proc/{name}/environ")).unwrap_or_else(|e| format!("<{e}>"));
                out.push(format!(
                    "{name}: {} | env: {}",
                    cmd.replace('\n', " "),
                    env.replace('\n', " ")
                ));
            }
        }
    }
    out.join("\n")
}

/// Lists our descriptors, reads what is readable and writes to what is writable.
fn fds() {
    let listed: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    emit("fds", "/proc/self/fd", Ok(listed.join(",")));
    for fd in 3..1024 {
        // SAFETY: F_GETFD on an integer descriptor only queries it.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            continue;
        }
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut buf = [0u8; 4096];
        // SAFETY: reading into a stack buffer of the size passed.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        let n = if n < 0 {
            // SAFETY: as above; pipes and sockets do not support pread.
            unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) }
        } else {
            n
        };
        let data = if n > 0 {
            String::from_utf8_lossy(&buf[..n as usize]).into_owned()
        } else {
            String::new()
        };
        let msg = b"aegisclaw-probe-fd\n";
        // SAFETY: writing a static buffer to the descriptor.
        let w = unsafe { libc::write(fd, msg.as_ptr().cast(), msg.len()) };
        emit(
            "fd",
            &fd.to_string(),
            Ok(format!("{target} read={data:?} wrote={w}")),
        );
    }
}

fn vm_read(pid: i32) -> Result<String, String> {
    let mut buf = [0u8; 64];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: 0x400000 as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: the local iovec points at our stack buffer; the remote one is only read by the
    // kernel from the other process (and fails when not permitted).
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    check(n as i64, |n| format!("read {n} bytes"))
}

/// Detaches a grandchild in its own session that ignores SIGHUP and idles, carrying `marker`
/// in its command line (what the host scans for).
fn daemon(marker: &str) {
    let exe = std::env::current_exe().unwrap_or_default();
    // SAFETY: the probe is single-threaded; the children only call async-signal-safe functions
    // before exec or _exit.
    match unsafe { libc::fork() } {
        0 => {
            // SAFETY: as above.
            unsafe {
                libc::setsid();
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                if libc::fork() != 0 {
                    libc::_exit(0);
                }
            }
            let err = std::os::unix::process::CommandExt::exec(
                std::process::Command::new(exe)
                    .arg(crate::internal::PROBE_ARG)
                    .arg(format!("tag={marker}"))
                    .arg("idle=600")
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null()),
            );
            let _ = err;
            // SAFETY: leaving the forked child without running destructors.
            unsafe { libc::_exit(1) }
        }
        -1 => emit("daemon", marker, Err(os_err())),
        child => {
            let mut status = 0;
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(child, &mut status, 0) };
            emit("daemon", marker, Ok("detached".into()));
        }
    }
}

/// Forks children that idle until the kernel refuses a fork, `seconds` long.
fn forkbomb(seconds: u64) {
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut made = 0u32;
    let mut refused = String::new();
    while Instant::now() < end {
        // SAFETY: the child only sleeps and exits.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: as above.
                unsafe {
                    libc::sleep(600);
                    libc::_exit(0);
                }
            }
            -1 => {
                refused = os_err();
                break;
            }
            _ => made += 1,
        }
    }
    emit(
        "forkbomb",
        &seconds.to_string(),
        Ok(format!("forked {made}, then: {refused}")),
    );
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
}

/// Allocates and touches memory 8 MiB at a time, up to `mib`.
fn membomb(mib: usize) {
    let mut held: Vec<Vec<u8>> = Vec::new();
    for i in 0..mib / 8 {
        let mut chunk = Vec::new();
        if chunk.try_reserve_exact(8 << 20).is_err() {
            emit(
                "membomb",
                &mib.to_string(),
                Err(format!("allocation failed after {} MiB", i * 8)),
            );
            return;
        }
        chunk.resize(8 << 20, 0xa5);
        held.push(chunk);
        if i % 8 == 0 {
            emit(
                "membomb-progress",
                &mib.to_string(),
                Ok(format!("{} MiB", (i + 1) * 8)),
            );
        }
    }
    emit(
        "membomb",
        &mib.to_string(),
        Ok(format!("held {} MiB", held.len() * 8)),
    );
}

/// `NAME>FILE`: listens on abstract socket NAME and records every accepted connection's count in
/// FILE, for 60 seconds (the other sandbox of E27 tries to connect).
fn victim(value: &str) {
    use std::os::linux::net::SocketAddrExt;
    let (name, file) = value.split_once('>').unwrap_or((value, "/tmp/victim"));
    let listener = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|a| std::os::unix::net::UnixListener::bind_addr(&a));
    let listener = match listener {
        Ok(l) => l,
        Err(e) => {
            emit("victim", value, Err(e.to_string()));
            return;
        }
    };
    let _ = listener.set_nonblocking(true);
    let _ = std::fs::write(file, "0\n");
    emit("victim", value, Ok("listening".into()));
    let mut count = 0u32;
    let end = Instant::now() + Duration::from_secs(60);
    while Instant::now() < end {
        if listener.accept().is_ok() {
            count += 1;
            if let Ok(mut f) = std::fs::File::create(file) {
                let _ = writeln!(f, "{count}");
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Nanoseconds per `getppid()` (a call the seccomp filter's cache allows without running it).
pub(crate) fn bench_getppid(n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        // SAFETY: getppid has no arguments and cannot fail.
        std::hint::black_box(unsafe { libc::syscall(libc::SYS_getppid) });
    }
    start.elapsed().as_nanos() as f64 / f64::from(n.max(1))
}

/// Nanoseconds per `openat("/dev/null") + close` (the filter inspects openat's flags; Landlock
/// checks the path).
pub(crate) fn bench_open(n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        // SAFETY: a valid NUL-terminated path; the descriptor is closed at once.
        unsafe {
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            libc::close(fd);
        }
    }
    start.elapsed().as_nanos() as f64 / f64::from(n.max(1))
}

/// Microseconds per fork + exec + wait of `/bin/true`.
pub(crate) fn bench_spawn(n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let _ = std::process::Command::new("/bin/true").status();
    }
    start.elapsed().as_micros() as f64 / f64::from(n.max(1))
}
