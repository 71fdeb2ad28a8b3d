//! Identities: allocating a dedicated host uid per run (root launcher), writing uid/gid maps,
//! and the user namespace behind idmapped mounts.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Layer, Result};
use crate::native::sys;

/// A host uid (and gid of the same number) reserved for one run by an exclusive lock file,
/// removed again when the lease ends.
#[derive(Debug)]
pub(crate) struct UidLease {
    pub(crate) uid: u32,
    path: PathBuf,
    lock: Flock<File>,
}

impl Drop for UidLease {
    fn drop(&mut self) {
        // Still holding the lock: whoever opened this file meanwhile finds it unlinked after
        // locking it, and tries again with a new one.
        if same_inode(&self.path, &self.lock) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn same_inode(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Reserves a uid from `start .. start + count` under `state_dir` (root only). The lock dies
/// with the launcher, so a crashed run frees its uid; every process that ran under it is dead
/// by then (they all live in the run's pid namespace).
pub(crate) fn allocate_uid(start: u32, count: u32, state_dir: &Path) -> Result<UidLease> {
    let dir = state_dir.join("uids");
    let fail = |why: String| {
        Error::layer(
            Layer::Identity,
            why,
            format!(
                "make {} a writable root-owned directory, or widen sandbox.uid_range",
                dir.display()
            ),
        )
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    // Lowest free uid first.
    for i in 0..count.min(4096) {
        let uid = start + i;
        let path: PathBuf = dir.join(uid.to_string());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| fail(format!("cannot open {}: {e}", path.display())))?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            // The previous holder may have removed the file between our open and our lock.
            Ok(lock) if same_inode(&path, &lock) => return Ok(UidLease { uid, path, lock }),
            Ok(_) | Err((_, nix::Error::EWOULDBLOCK)) => continue,
            Err((_, e)) => return Err(fail(format!("cannot lock {}: {e}", path.display()))),
        }
    }
    Err(fail(format!(
        "every uid of {start}..{} is in use by a running sandbox",
        start + count
    )))
}

/// Writes the uid and gid maps of the process `pid` (`"inside outside 1"` each) and denies
/// `setgroups` there.
pub(crate) fn write_maps(pid: &str, inside: u32, uid: u32, gid: u32) -> io::Result<()> {
    let proc = PathBuf::from("/proc").join(pid);
    sys::write_file(&proc.join("setgroups"), "deny")?;
    sys::write_file(&proc.join("uid_map"), &format!("{inside} {uid} 1\n"))?;
    sys::write_file(&proc.join("gid_map"), &format!("{inside} {gid} 1\n"))
}

/// A user namespace whose maps carry the invoking user's files onto the sandbox uid: on an
/// idmapped mount made with it, a file owned by `owner` on disk appears as owned by `sandbox`,
/// and files `sandbox` creates are stored as owned by `owner`.
pub(crate) fn idmap_userns(owner: (u32, u32), sandbox: (u32, u32)) -> io::Result<OwnedFd> {
    let (reader, writer) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    // SAFETY: the launcher is single-threaded; the child only blocks on a read and exits.
    let pid = unsafe { sys::clone_fork(libc::CLONE_NEWUSER) }?;
    if pid == 0 {
        drop(writer);
        let mut byte = [0u8; 1];
        let _ = File::from(reader).read(&mut byte);
        // SAFETY: _exit ends the child immediately without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    drop(reader);
    let result = (|| {
        let proc = PathBuf::from("/proc").join(pid.to_string());
        sys::write_file(
            &proc.join("uid_map"),
            &format!("{} {} 1\n", owner.0, sandbox.0),
        )?;
        sys::write_file(
            &proc.join("gid_map"),
            &format!("{} {} 1\n", owner.1, sandbox.1),
        )?;
        let ns = std::fs::File::open(proc.join("ns/user"))?;
        Ok(OwnedFd::from(ns))
    })();
    drop(writer);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    result
}

/// Whether the descriptor refers to a user namespace (a sanity check on inherited fds).
pub(crate) fn is_userns(fd: &OwnedFd) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map(|l| l.to_string_lossy().starts_with("user:"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_exclusive_while_held() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let a = allocate_uid(3_000_000_000, 2, dir.path()).unwrap();
        let b = allocate_uid(3_000_000_000, 2, dir.path()).unwrap();
        assert_ne!(a.uid, b.uid);
        let e = allocate_uid(3_000_000_000, 2, dir.path()).unwrap_err();
        assert!(e.to_string().contains("in use"), "{e}");
        let freed = a.uid;
        drop(a);
        assert!(
            !dir.path().join("uids").join(freed.to_string()).exists(),
            "the lock file is removed"
        );
        assert_eq!(
            allocate_uid(3_000_000_000, 2, dir.path()).unwrap().uid,
            freed
        );
        drop(b);
        assert_eq!(
            std::fs::read_dir(dir.path().join("uids")).unwrap().count(),
            0
        );
    }
}
