//! Thin wrappers over the system calls no maintained crate wraps for us: the new mount API
//! (`open_tree`, `move_mount`, `mount_setattr`), a fork-like `clone` with namespace flags,
//! `pidfd_open`, `close_range` and `seccomp(2)` with a listener.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub(crate) fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(ret: libc::c_long) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(check(ret)?)
        .map_err(|_| io::Error::other("the kernel returned an out-of-range file descriptor"))?;
    // SAFETY: the syscall succeeded and returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `open_tree(dirfd, path, flags)`: with `OPEN_TREE_CLONE`, a detached copy of the mount at
/// `path` (recursive with `AT_RECURSIVE`).
pub(crate) fn open_tree(
    dirfd: Option<BorrowedFd<'_>>,
    path: &Path,
    flags: u32,
) -> io::Result<OwnedFd> {
    let c_path = cstring(path)?;
    let dirfd = dirfd.map_or(libc::AT_FDCWD, |fd| fd.as_raw_fd());
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
    owned(unsafe { libc::syscall(libc::SYS_open_tree, dirfd, c_path.as_ptr(), flags) })
}

/// `open_tree` of an already-open file (`AT_EMPTY_PATH`).
pub(crate) fn open_tree_fd(fd: BorrowedFd<'_>, flags: u32) -> io::Result<OwnedFd> {
    // SAFETY: an empty NUL-terminated path with AT_EMPTY_PATH refers to `fd` itself.
    owned(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags | libc::AT_EMPTY_PATH as u32,
        )
    })
}

/// Attaches the detached mount `from` at `to` (a path, or the file `to_fd` refers to).
pub(crate) fn move_mount(
    from: BorrowedFd<'_>,
    to_dir: Option<BorrowedFd<'_>>,
    to: &Path,
) -> io::Result<()> {
    let c_to = cstring(to)?;
    let (to_dirfd, flags) = match to_dir {
        Some(fd) if to.as_os_str().is_empty() => (
            fd.as_raw_fd(),
            libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
        ),
        Some(fd) => (fd.as_raw_fd(), libc::MOVE_MOUNT_F_EMPTY_PATH),
        None => (libc::AT_FDCWD, libc::MOVE_MOUNT_F_EMPTY_PATH),
    };
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to_dirfd,
            c_to.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// Sets and clears mount attributes (`MOUNT_ATTR_*`) of the mount `fd` refers to; `userns`
/// with `MOUNT_ATTR_IDMAP` makes it an idmapped mount.
pub(crate) fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clear: u64,
    userns: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let mut attr = libc::mount_attr {
        attr_set: set,
        attr_clr: clear,
        propagation: 0,
        userns_fd: userns.map_or(0, |fd| fd.as_raw_fd() as u64),
    };
    let flags = libc::AT_EMPTY_PATH as libc::c_uint
        | if recursive {
            libc::AT_RECURSIVE as libc::c_uint
        } else {
            0
        };
    // SAFETY: attr is a valid mount_attr of the size passed; the path is empty with AT_EMPTY_PATH.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut attr as *mut libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    })
    .map(drop)
}

/// Forks with `flags` (namespace flags) and `SIGCHLD` as the exit signal. Returns 0 in the child
/// and the child's pid in the parent.
///
/// # Safety
/// The caller must be single-threaded: the child continues on a copy of the caller's memory
/// with only the calling thread, exactly like `fork(2)`.
pub(crate) unsafe fn clone_fork(flags: libc::c_int) -> io::Result<libc::pid_t> {
    // SAFETY: with a NULL stack the raw clone behaves like fork; the caller guarantees that no
    // other thread exists whose locks the child could inherit.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    check(ret).and_then(|pid| {
        libc::pid_t::try_from(pid)
            .map_err(|_| io::Error::other("clone returned an out-of-range pid"))
    })
}

/// A pidfd for `pid` (readable when the process exits).
pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments.
    owned(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })
}

/// Closes the descriptors `first..=last`.
///
/// # Safety
/// No Rust object that owns one of those descriptors may be used (or dropped) afterwards.
pub(crate) unsafe fn close_range(first: u32, last: u32) -> io::Result<()> {
    // SAFETY: plain integer arguments; the caller guarantees no owner of those descriptors is
    // used again.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) }).map(drop)
}

/// Closes every descriptor from `first` upwards.
///
/// # Safety
/// No Rust object that owns one of those descriptors may be used (or dropped) afterwards.
pub(crate) unsafe fn close_from(first: u32) -> io::Result<()> {
    // SAFETY: plain integer arguments; the caller guarantees no owner of those descriptors is
    // used again.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) }).map(drop)
}

/// Installs a classic-BPF seccomp filter. With `SECCOMP_FILTER_FLAG_NEW_LISTENER` in `flags`
/// the notification listener is returned.
pub(crate) fn seccomp_filter(
    flags: libc::c_ulong,
    program: &[libc::sock_filter],
) -> io::Result<Option<OwnedFd>> {
    let prog = libc::sock_fprog {
        len: u16::try_from(program.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seccomp program too long"))?,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: prog points at `program`, which outlives the call; the kernel copies it.
    let ret = check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    })?;
    if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        owned(ret).map(Some)
    } else {
        Ok(None)
    }
}

/// `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`: opens `path`
/// below `dir` without following any symbolic link on the way.
pub(crate) fn open_beneath(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    let c_path = cstring(path)?;
    let mut how: libc::open_how = unsafe_zeroed_open_how();
    how.flags = (flags | libc::O_CLOEXEC | libc::O_NOFOLLOW) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: c_path and how are valid for the duration of the call and `how` has the size passed.
    owned(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    })
}

fn unsafe_zeroed_open_how() -> libc::open_how {
    // SAFETY: open_how is a plain struct of integers; all-zero is its documented default.
    unsafe { std::mem::zeroed() }
}

/// The calling process's last OS error as an `io::Error` (for wrappers around libc calls that
/// return -1).
pub(crate) fn check_int(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Writes all of `data` to the file at `path` (procfs and cgroupfs files take one write).
pub(crate) fn write_file(path: &Path, data: &str) -> io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(data.as_bytes())
}
