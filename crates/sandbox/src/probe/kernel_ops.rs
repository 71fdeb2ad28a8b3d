//! Kernel attacks: mount and namespace games, capabilities, kernel-surface system calls,
//! foreign-architecture system calls, /proc and /sys writes, devices, terminal injection, and
//! what the sandbox tells about the host.

use std::ffi::CString;
use std::io::Write;

use super::{check, emit, os_err};

fn c(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

pub(super) fn run(op: &str, value: &str) -> bool {
    match op {
        "syscall" => emit(op, value, kernel_surface(value)),
        "mount" => {
            // `TYPE>TARGET`
            let (fstype, target) = value.split_once('>').unwrap_or(("tmpfs", value));
            let (f, t) = (c(fstype), c(target));
            // SAFETY: valid NUL-terminated strings; null data.
            let ret =
                unsafe { libc::mount(f.as_ptr(), t.as_ptr(), f.as_ptr(), 0, std::ptr::null()) };
            emit(op, value, check(i64::from(ret), |_| "mounted".into()));
        }
        "remount-rw" => {
            let t = c(value);
            // SAFETY: valid NUL-terminated string; null source, type and data.
            let ret = unsafe {
                libc::mount(
                    std::ptr::null(),
                    t.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REMOUNT | libc::MS_BIND,
                    std::ptr::null(),
                )
            };
            emit(
                op,
                value,
                check(i64::from(ret), |_| "remounted read-write".into()),
            );
        }
        "umount" => {
            let t = c(value);
            // SAFETY: valid NUL-terminated string.
            let ret = unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) };
            emit(op, value, check(i64::from(ret), |_| "unmounted".into()));
        }
        "pivot" => {
            let (n, o) = (c(value), c(value));
            // SAFETY: valid NUL-terminated strings.
            let ret = unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) };
            emit(op, value, check(ret, |_| "pivoted".into()));
        }
        "unshare" => {
            let flags = match value {
                "user" => libc::CLONE_NEWUSER,
                "mnt" => libc::CLONE_NEWNS,
                "user+mnt" => libc::CLONE_NEWUSER | libc::CLONE_NEWNS,
                "net" => libc::CLONE_NEWNET,
                "pid" => libc::CLONE_NEWPID,
                _ => libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID,
            };
            // SAFETY: unshare(2) with integer flags.
            let ret = unsafe { libc::unshare(flags) };
            emit(op, value, check(i64::from(ret), |_| "unshared".into()));
        }
        "clone-ns" => {
            // SAFETY: a raw fork-like clone with namespace flags; the child exits at once.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_clone,
                    (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong,
                    0usize,
                    0usize,
                    0usize,
                    0usize,
                )
            };
            if ret == 0 {
                // SAFETY: leaving the child immediately.
                unsafe { libc::_exit(0) };
            }
            emit(
                op,
                value,
                check(ret, |_| "cloned into a new user namespace".into()),
            );
        }
        "setns" => {
            let ret = std::fs::File::open(value)
                .map_err(|e| e.to_string())
                .and_then(|f| {
                    use std::os::fd::AsRawFd;
                    // SAFETY: setns(2) on an open descriptor.
                    check(i64::from(unsafe { libc::setns(f.as_raw_fd(), 0) }), |_| {
                        "joined".into()
                    })
                });
            emit(op, value, ret);
        }
        "fsopen" => {
            let t = c(value);
            // SAFETY: a valid NUL-terminated string.
            let ret = unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), 0) };
            emit(
                op,
                value,
                check(ret, |_| "filesystem context opened".into()),
            );
        }
        "open_tree" => {
            let t = c(value);
            // SAFETY: a valid NUL-terminated string.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_open_tree,
                    libc::AT_FDCWD,
                    t.as_ptr(),
                    libc::OPEN_TREE_CLONE,
                )
            };
            emit(op, value, check(ret, |_| "tree cloned".into()));
        }
        "status" => emit(
            op,
            value,
            std::fs::read_to_string("/proc/self/status")
                .map(|s| {
                    s.lines()
                        .filter(|l| {
                            ["Cap", "NoNewPrivs", "Seccomp", "Uid", "Gid"]
                                .iter()
                                .any(|k| l.starts_with(k))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .map_err(|e| e.to_string()),
        ),
        "capget" => emit(op, value, capget()),
        "int80" => emit(op, value, foreign(value, true)),
        "x32" => emit(op, value, foreign(value, false)),
        "write" => {
            // `PATH>TEXT`
            let (path, text) = value.split_once('>').unwrap_or((value, "x"));
            emit(
                op,
                value,
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|mut f| f.write_all(text.as_bytes()))
                    .map(|()| "written".into())
                    .map_err(|e| e.to_string()),
            );
        }
        "open" => emit(
            op,
            value,
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(value)
                .or_else(|_| std::fs::File::open(value))
                .map(|_| "opened".into())
                .map_err(|e| e.to_string()),
        ),
        "mknod" => {
            let t = c(value);
            // SAFETY: a valid NUL-terminated string; makedev of /dev/mem (1, 1).
            let ret =
                unsafe { libc::mknod(t.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 1)) };
            emit(
                op,
                value,
                check(i64::from(ret), |_| "device node created".into()),
            );
        }
        "tiocsti" => {
            let fd: i32 = value.parse().unwrap_or(0);
            let mut injected = 0;
            for b in b"echo pwned\n" {
                // SAFETY: TIOCSTI reads one byte from the pointer passed.
                if unsafe { libc::ioctl(fd, libc::TIOCSTI, b as *const u8) } == 0 {
                    injected += 1;
                }
            }
            emit(
                op,
                value,
                if injected > 0 {
                    Ok(format!("injected {injected} bytes"))
                } else {
                    Err(os_err())
                },
            );
        }
        "info" => info(),
        _ => return false,
    }
    true
}

fn capget() -> Result<String, String> {
    let mut header = [0x2008_0522u32, 0]; // _LINUX_CAPABILITY_VERSION_3, this process
    let mut data = [0u32; 6];
    // SAFETY: capget fills two __user_cap_data_struct (6 u32) for version 3.
    let ret = unsafe { libc::syscall(libc::SYS_capget, header.as_mut_ptr(), data.as_mut_ptr()) };
    check(ret, |_| {
        format!(
            "effective={:x}{:08x} permitted={:x}{:08x} inheritable={:x}{:08x}",
            data[3], data[0], data[4], data[1], data[5], data[2]
        )
    })
}

/// Calls each kernel-surface system call with harmless arguments.
fn kernel_surface(name: &str) -> Result<String, String> {
    let nr = match name {
        "io_uring_setup" => libc::SYS_io_uring_setup,
        "bpf" => libc::SYS_bpf,
        "perf_event_open" => libc::SYS_perf_event_open,
        "userfaultfd" => libc::SYS_userfaultfd,
        "keyctl" => libc::SYS_keyctl,
        "add_key" => libc::SYS_add_key,
        "request_key" => libc::SYS_request_key,
        "kexec_load" => libc::SYS_kexec_load,
        "init_module" => libc::SYS_init_module,
        "finit_module" => libc::SYS_finit_module,
        "delete_module" => libc::SYS_delete_module,
        "open_by_handle_at" => libc::SYS_open_by_handle_at,
        "name_to_handle_at" => libc::SYS_name_to_handle_at,
        "ptrace" => libc::SYS_ptrace,
        "process_vm_readv" => libc::SYS_process_vm_readv,
        "pidfd_getfd" => libc::SYS_pidfd_getfd,
        "setns" => libc::SYS_setns,
        "acct" => libc::SYS_acct,
        "swapon" => libc::SYS_swapon,
        "reboot" => libc::SYS_reboot,
        "syslog" => libc::SYS_syslog,
        "settimeofday" => libc::SYS_settimeofday,
        "sethostname" => libc::SYS_sethostname,
        "memfd_create" => libc::SYS_memfd_create,
        "io_uring_enter" => libc::SYS_io_uring_enter,
        _ => return Err(format!("unknown system call {name}")),
    };
    let buf = [0u8; 256];
    // SAFETY: every argument is zero or points at a zeroed stack buffer; a permitted call
    // fails with EFAULT/EINVAL at worst.
    let ret = unsafe { libc::syscall(nr, 0usize, 0usize, buf.as_ptr(), 0usize, 0usize, 0usize) };
    check(ret, |r| format!("returned {r}"))
}

/// Runs `mkdir(path)` through the i386 `int 0x80` gate or with an x32 number, in a child
/// (which the filter kills). Reports how the child ended.
fn foreign(path: &str, int80: bool) -> Result<String, String> {
    // The i386 ABI passes 32-bit pointers: put the path in the low 4 GiB.
    // SAFETY: an anonymous private mapping; MAP_32BIT places it below 2 GiB.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return Err(os_err());
    }
    let bytes = path.as_bytes();
    let len = bytes.len().min(4000);
    // SAFETY: the mapping is 4096 writable bytes; we copy at most 4000 and a NUL.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), page.cast::<u8>(), len);
        *page.cast::<u8>().add(len) = 0;
    }
    // SAFETY: the child makes one raw system call and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a raw system call on a valid low-memory string; the process exits right after.
        unsafe {
            let ret: i64;
            if int80 {
                // i386 mkdir is 39.
                // rbx belongs to LLVM: swap the argument in and out around the gate.
                std::arch::asm!(
                    "xchg {arg}, rbx",
                    "int 0x80",
                    "xchg {arg}, rbx",
                    arg = inout(reg) page as u64 => _,
                    inlateout("rax") 39i64 => ret,
                    in("rcx") 0o755u64,
                );
            } else {
                // x32 mkdir: 83 with the x32 bit.
                std::arch::asm!("syscall", inlateout("rax") (83i64 | 0x4000_0000) => ret, in("rdi") page as u64, in("rsi") 0o755u64, lateout("rcx") _, lateout("r11") _);
            }
            libc::_exit(if ret == 0 { 0 } else { 10 });
        }
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: leaving the child.
        unsafe {
            let _ = int80;
            libc::_exit(20)
        }
    }
    if pid < 0 {
        return Err(os_err());
    }
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        Err(format!("killed by signal {}", libc::WTERMSIG(status)))
    } else {
        match libc::WEXITSTATUS(status) {
            0 => Ok("the system call succeeded".into()),
            10 => Err("the system call failed".into()),
            other => Err(format!("not attempted (exit {other})")),
        }
    }
}

/// What the sandbox shows of the host.
fn info() {
    let mut uts: libc::utsname = unsafe_zeroed();
    // SAFETY: uname fills the struct.
    unsafe { libc::uname(&mut uts) };
    let field = |f: &[libc::c_char]| {
        // SAFETY: uname NUL-terminates every field.
        unsafe { std::ffi::CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    emit("hostname", "", Ok(field(&uts.nodename)));
    emit(
        "uname",
        "",
        Ok(format!(
            "{} {} {}",
            field(&uts.sysname),
            field(&uts.release),
            field(&uts.machine)
        )),
    );
    for path in [
        "/proc/self/mountinfo",
        "/etc/passwd",
        "/etc/group",
        "/etc/hosts",
        "/proc/cmdline",
        "/proc/version",
    ] {
        emit(
            "read",
            path,
            std::fs::read_to_string(path).map_err(|e| e.to_string()),
        );
    }
}

fn unsafe_zeroed() -> libc::utsname {
    // SAFETY: utsname is plain data.
    unsafe { std::mem::zeroed() }
}
