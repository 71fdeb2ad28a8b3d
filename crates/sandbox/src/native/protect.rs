//! Protected paths inside writable grants: `.git/hooks`, `.git/config`, AegisClaw's and editors'
//! configuration directories and shell rc files stay read-only, because code the user runs
//! later on the host (git hooks, editor tasks, shell start-up) would otherwise execute what the
//! sandbox wrote there.
//!
//! A protected path that exists is mounted read-only over itself. One that is missing is
//! created as an empty placeholder first (a mount needs something to cover), marked with the
//! `user.aegisclaw.placeholder` extended attribute and held with a shared `flock` for the run;
//! the last run using a placeholder removes it. A protected path that is a symbolic link refuses
//! the run: following it could expose or change a file outside the grant.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Layer, Result};
use crate::native::plan::Protected;
use crate::native::sys;

/// Marks a placeholder we created (so that we never remove a file of the user's).
const MARKER: &std::ffi::CStr = c"user.aegisclaw.placeholder";

/// Directories protected at the root of every writable grant (placeholders when missing).
const DIRS: &[&str] = &[".aegisclaw", ".vscode", ".idea"];
/// Shell start-up files: protected when present; placeholders only in home directories.
const RC_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".envrc",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
}

/// The placeholders a run holds; removed on drop when no other run still uses them.
#[derive(Debug, Default)]
pub(crate) struct Placeholders {
    held: Vec<Held>,
}

#[derive(Debug)]
struct Held {
    root: OwnedFd,
    name: PathBuf,
    lock: Flock<OwnedFd>,
}

/// Prepares the protected entries of each writable directory grant.
pub(crate) fn prepare(
    roots: &[PathBuf],
    home_dirs: &[PathBuf],
) -> Result<(Vec<Protected>, Placeholders)> {
    let mut protected = Vec::new();
    let mut placeholders = Placeholders::default();
    for root in roots {
        let root_fd = nix::fcntl::open(
            root.as_path(),
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| fail(root, &format!("cannot open it: {e}")))?;
        let mut add = |rel: &str, kind: Kind, create: bool| -> Result<()> {
            let rel = PathBuf::from(rel);
            let here = root.join(&rel);
            match existing(&root_fd, &rel) {
                // A placeholder of a concurrent run: hold it too, so that its end cannot
                // remove what this run's mount covers.
                Ok(Some(_)) if is_placeholder(&root_fd, &rel) => placeholders.held.push(
                    ensure(&root_fd, &rel, kind)
                        .map_err(|e| fail(&here, &format!("cannot hold the placeholder: {e}")))?,
                ),
                Ok(Some(_)) => {}
                Ok(None) if create => placeholders.held.push(
                    ensure(&root_fd, &rel, kind)
                        .map_err(|e| fail(&here, &format!("cannot create a placeholder: {e}")))?,
                ),
                Ok(None) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    return Err(fail(
                        &here,
                        "is a symbolic link (or lies under one); a link there could redirect writes outside the grant",
                    ));
                }
                Err(e) => return Err(fail(&here, &e.to_string())),
            }
            protected.push(Protected {
                root: root.clone(),
                rel,
            });
            Ok(())
        };
        match existing(&root_fd, Path::new(".git")) {
            Ok(Some(true)) if !is_placeholder(&root_fd, Path::new(".git")) => {
                add(".git/hooks", Kind::Dir, true)?;
                add(".git/config", Kind::File, true)?;
            }
            // A `.git` file points at a git directory elsewhere: keep the pointer itself.
            Ok(Some(_)) | Ok(None) => add(".git", Kind::Dir, true)?,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(fail(
                    &root.join(".git"),
                    "is a symbolic link; a link there could redirect git's hooks and config outside the grant",
                ));
            }
            Err(e) => return Err(fail(&root.join(".git"), &e.to_string())),
        }
        for dir in DIRS {
            add(dir, Kind::Dir, true)?;
        }
        let is_home = home_dirs.iter().any(|h| h == root);
        for rc in RC_FILES {
            add(rc, Kind::File, is_home && *rc != ".envrc")?;
        }
    }
    Ok((protected, placeholders))
}

fn fail(path: &Path, why: &str) -> Error {
    Error::layer(
        Layer::ProtectedPaths,
        format!("{} {why}", path.display()),
        format!(
            "remove or replace {} on the host, then run again",
            path.display()
        ),
    )
}

/// `Some(is_dir)` when `rel` exists below `root` without symlinks on the way, `None` when it
/// does not exist, `ELOOP` when a symlink is in the way.
fn existing(root: &OwnedFd, rel: &Path) -> io::Result<Option<bool>> {
    match sys::open_beneath(root.as_fd(), rel, libc::O_PATH) {
        Ok(fd) => {
            let kind = nix::sys::stat::fstat(&fd).map_err(io::Error::from)?.st_mode & libc::S_IFMT;
            if kind == libc::S_IFLNK {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            Ok(Some(kind == libc::S_IFDIR))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether `rel` carries our placeholder marker.
fn is_placeholder(root: &OwnedFd, rel: &Path) -> bool {
    let Ok(fd) = sys::open_beneath(root.as_fd(), rel, libc::O_RDONLY) else {
        return false;
    };
    has_marker(&fd)
}

fn has_marker(fd: &impl AsRawFd) -> bool {
    let mut value = [0u8; 4];
    // SAFETY: value is a writable buffer of the size passed; fd is an open descriptor.
    let n = unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            MARKER.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    n == 1 && value[0] == b'1'
}

/// Creates (or joins) the placeholder `rel` below `root` and holds it with a shared lock.
fn ensure(root: &OwnedFd, rel: &Path, kind: Kind) -> io::Result<Held> {
    for _ in 0..1000 {
        let flags = match kind {
            Kind::Dir => libc::O_RDONLY | libc::O_DIRECTORY,
            Kind::File => libc::O_RDONLY,
        };
        let fd = match sys::open_beneath(root.as_fd(), rel, flags) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                create(root, rel, kind)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let lock = match Flock::lock(fd, FlockArg::LockSharedNonblock) {
            Ok(lock) => lock,
            // Another run is removing it right now: try again in a moment.
            Err((_, nix::Error::EWOULDBLOCK)) => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            Err((_, e)) => return Err(e.into()),
        };
        if same_file(root, rel, &*lock)? {
            return Ok(Held {
                root: root.try_clone()?,
                name: rel.to_path_buf(),
                lock,
            });
        }
    }
    Err(io::Error::other(
        "the placeholder kept changing while we tried to hold it",
    ))
}

/// Creates the marked placeholder `rel` atomically: it is built under a temporary name, marked
/// and made read-only, then renamed into place (never over something that exists meanwhile).
fn create(root: &OwnedFd, rel: &Path, kind: Kind) -> io::Result<()> {
    let parent = rel.parent().unwrap_or(Path::new(""));
    let temp = parent.join(format!(
        ".aegisclaw-placeholder-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    ));
    let c_temp = sys::cstring(&temp)?;
    let c_rel = sys::cstring(rel)?;
    // SAFETY: c_temp is a valid NUL-terminated path below the directory descriptor `root`.
    let made = unsafe {
        match kind {
            Kind::Dir => libc::mkdirat(root.as_raw_fd(), c_temp.as_ptr(), 0o700),
            Kind::File => {
                let fd = libc::openat(
                    root.as_raw_fd(),
                    c_temp.as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_CLOEXEC
                        | libc::O_NOFOLLOW,
                    0o600,
                );
                if fd >= 0 {
                    libc::close(fd);
                }
                fd
            }
        }
    };
    sys::check_int(made)?;
    let finish = || -> io::Result<()> {
        let fd = sys::open_beneath(root.as_fd(), &temp, libc::O_RDONLY)?;
        // SAFETY: the name and value are valid for the call; fd is an open descriptor.
        let ret =
            unsafe { libc::fsetxattr(fd.as_raw_fd(), MARKER.as_ptr(), b"1".as_ptr().cast(), 1, 0) };
        sys::check_int(ret)?;
        let mode = match kind {
            Kind::Dir => 0o555,
            Kind::File => 0o444,
        };
        // SAFETY: fchmod of an open descriptor.
        sys::check_int(unsafe { libc::fchmod(fd.as_raw_fd(), mode) })?;
        // SAFETY: both paths are valid and relative to `root`.
        sys::check_int(unsafe {
            libc::renameat2(
                root.as_raw_fd(),
                c_temp.as_ptr(),
                root.as_raw_fd(),
                c_rel.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        })
        .map(drop)
    };
    let result = finish();
    if result.is_err() {
        // SAFETY: removing our own temporary entry.
        unsafe {
            libc::unlinkat(
                root.as_raw_fd(),
                c_temp.as_ptr(),
                if kind == Kind::Dir {
                    libc::AT_REMOVEDIR
                } else {
                    0
                },
            );
        }
    }
    match result {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        other => other,
    }
}

fn same_file(root: &OwnedFd, rel: &Path, held: &impl AsFd) -> io::Result<bool> {
    let now = match sys::open_beneath(root.as_fd(), rel, libc::O_PATH) {
        Ok(fd) => nix::sys::stat::fstat(&fd).map_err(io::Error::from)?,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(false),
        Err(e) => return Err(e),
    };
    let ours = nix::sys::stat::fstat(held.as_fd()).map_err(io::Error::from)?;
    Ok(now.st_dev == ours.st_dev && now.st_ino == ours.st_ino)
}

impl Placeholders {
    /// Removes the placeholders no other run holds.
    pub(crate) fn release(&mut self) {
        for held in self.held.drain(..) {
            let Held { root, name, lock } = held;
            let Ok(lock) = lock.relock(FlockArg::LockExclusiveNonblock).map(|()| lock) else {
                continue;
            };
            if is_ours_and_empty(&root, &name, &lock) {
                let Ok(c_name) = sys::cstring(&name) else {
                    continue;
                };
                let is_dir = nix::sys::stat::fstat(&*lock)
                    .map(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)
                    .unwrap_or(false);
                // SAFETY: c_name is a valid path below the directory descriptor `root`.
                unsafe {
                    libc::unlinkat(
                        root.as_raw_fd(),
                        c_name.as_ptr(),
                        if is_dir { libc::AT_REMOVEDIR } else { 0 },
                    );
                }
            }
        }
    }
}

fn is_ours_and_empty(root: &OwnedFd, name: &Path, held: &Flock<OwnedFd>) -> bool {
    if !same_file(root, name, &**held).unwrap_or(false) {
        return false;
    }
    if !has_marker(&**held) {
        return false;
    }
    let Ok(stat) = nix::sys::stat::fstat(&**held) else {
        return false;
    };
    if stat.st_mode & libc::S_IFMT == libc::S_IFDIR {
        // Only `.` and `..`.
        std::fs::read_dir(format!("/proc/self/fd/{}", held.as_raw_fd()))
            .map(|mut d| d.next().is_none())
            .unwrap_or(false)
    } else {
        stat.st_size == 0
    }
}

impl Drop for Placeholders {
    fn drop(&mut self) {
        self.release();
    }
}

/// Home directories of the host's users (where missing shell rc files get placeholders).
pub(crate) fn home_dirs() -> Vec<PathBuf> {
    let mut homes: Vec<PathBuf> = std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(':').nth(5))
        .filter(|h| h.len() > 1)
        .map(PathBuf::from)
        .collect();
    homes.push(PathBuf::from("/root"));
    homes.retain(|h| {
        h.metadata()
            .map(|m| m.is_dir() && m.uid() != u32::MAX)
            .unwrap_or(false)
    });
    homes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_protected_entries_get_placeholders_that_go_away() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::write(root.join(".bashrc"), "echo hi\n").unwrap();
        let (protected, mut held) = prepare(std::slice::from_ref(&root), &[]).unwrap();
        let rels: Vec<_> = protected
            .iter()
            .map(|p| p.rel.to_str().unwrap().to_string())
            .collect();
        assert!(rels.contains(&".git".to_string()), "{rels:?}");
        assert!(rels.contains(&".vscode".to_string()));
        assert!(rels.contains(&".bashrc".to_string()));
        // Not a home directory: no placeholder for a missing .zshrc.
        assert!(!rels.contains(&".zshrc".to_string()));
        assert!(root.join(".git").is_dir());
        assert_eq!(held.held.len(), 4); // .git .aegisclaw .vscode .idea
        held.release();
        assert!(!root.join(".git").exists());
        assert!(!root.join(".vscode").exists());
        // The user's own file stays.
        assert_eq!(
            std::fs::read_to_string(root.join(".bashrc")).unwrap(),
            "echo hi\n"
        );
    }

    #[test]
    fn a_placeholder_in_use_by_another_run_stays() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let (_, mut first) = prepare(std::slice::from_ref(&root), &[]).unwrap();
        let (_, mut second) = prepare(std::slice::from_ref(&root), &[]).unwrap();
        first.release();
        assert!(root.join(".git").is_dir(), "still held by the second run");
        second.release();
        assert!(!root.join(".git").exists());
    }

    #[test]
    fn existing_git_protects_hooks_and_config() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join(".git/hooks")).unwrap();
        std::fs::write(root.join(".git/config"), "[core]\n").unwrap();
        let (protected, held) =
            prepare(std::slice::from_ref(&root), std::slice::from_ref(&root)).unwrap();
        let rels: Vec<_> = protected.iter().map(|p| p.rel.clone()).collect();
        assert!(rels.contains(&PathBuf::from(".git/hooks")));
        assert!(rels.contains(&PathBuf::from(".git/config")));
        assert!(!rels.contains(&PathBuf::from(".git")));
        // A home directory: rc files get placeholders.
        assert!(rels.contains(&PathBuf::from(".zshrc")));
        drop(held);
        assert!(!root.join(".zshrc").exists());
        assert!(root.join(".git/config").exists());
    }

    #[test]
    fn symlinked_protected_paths_refuse_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::os::unix::fs::symlink(outside.path(), root.join(".git")).unwrap();
        let e = prepare(std::slice::from_ref(&root), &[]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Layer {
                    layer: Layer::ProtectedPaths,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::os::unix::fs::symlink("/etc/passwd", root.join(".bashrc")).unwrap();
        assert!(prepare(std::slice::from_ref(&root), &[]).is_err());
    }
}
