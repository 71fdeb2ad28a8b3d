//! The sandbox's root filesystem, built by init in its private mount namespace:
//!
//! 1. **capture**: every host path the sandbox will see is cloned into a detached mount
//!    (`open_tree`) while the host tree is still intact, and made read-only/nosuid/nodev (and
//!    idmapped when the plan says so) before it is attached anywhere;
//! 2. **build**: a small tmpfs becomes the new root; the captured mounts, a fresh `/proc`, a
//!    minimal `/dev`, private `/tmp`, `$HOME` and `/run/secrets` tmpfs and the curated `/etc` are
//!    put in place; protected paths are covered read-only, hidden paths by empty mounts;
//! 3. **pivot**: `pivot_root` into it, detach the old root, make `/` read-only.
//!
//! Nothing of `/` is visible unless the plan lists it.

use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};

use crate::error::{Error, Layer, Result};
use crate::native::etc::EtcEntry;
use crate::native::plan::{DEVICES, Grant, INSIDE_ID, Identity, Plan, SystemEntry};
use crate::native::sys;
use crate::report::Degraded;
use crate::spec::{NetworkMode, ProxyNetwork, SANDBOX_HOME, SECRETS_DIR};
use aegisclaw_core::SandboxLayer;

/// Where the new root is assembled before `pivot_root`.
const STAGING: &str = "/tmp";

/// /proc files that are readable by any user but tell about the host's kernel or other users
/// (kernel addresses when kptr_restrict allows, timers, keys, scheduler internals). Files only
/// host root may read or write (`kcore`, `kpage*`, `sysrq-trigger`) need no mask: the sandbox
/// never runs as host root.
const PROC_MASKED: &[&str] = &[
    "kallsyms",
    "keys",
    "key-users",
    "timer_list",
    "sched_debug",
    "latency_stats",
    "config.gz",
];
const PROC_READ_ONLY: &[&str] = &["sys", "irq", "bus", "fs"];

/// The host side of every mount, captured before the new root exists.
#[derive(Debug)]
pub(crate) struct Captured {
    system: Vec<(PathBuf, OwnedFd)>,
    etc_dirs: Vec<(PathBuf, OwnedFd)>,
    devices: Vec<(&'static str, OwnedFd)>,
    grants: Vec<(Grant, OwnedFd)>,
    protected: Vec<(PathBuf, PathBuf, OwnedFd)>,
    proxy: Option<OwnedFd>,
    /// Layers gone without (idmap on a filesystem that cannot do it, when allowed).
    pub(crate) degraded: Vec<Degraded>,
}

fn mounts_error(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error::layer(
        Layer::Mounts,
        format!("{what}: {e}"),
        "check that the path exists and that this kernel supports the new mount API (Linux 5.12+)",
    )
}

const RO: u64 = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
const RW: u64 = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;

fn clone_tree(path: &Path, attrs: u64) -> io::Result<OwnedFd> {
    let fd = sys::open_tree(
        None,
        path,
        libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as u32,
    )?;
    sys::mount_setattr(fd.as_fd(), true, attrs, 0, None)?;
    Ok(fd)
}

/// Step 1: clones every host path of the plan into a detached mount.
pub(crate) fn capture(plan: &Plan, idmap: Option<&OwnedFd>) -> Result<Captured> {
    let mut captured = Captured {
        system: Vec::new(),
        etc_dirs: Vec::new(),
        devices: Vec::new(),
        grants: Vec::new(),
        protected: Vec::new(),
        proxy: None,
        degraded: Vec::new(),
    };
    for entry in &plan.system {
        if let SystemEntry::Bind(path) = entry {
            let fd = clone_tree(path, RO).map_err(|e| mounts_error(path.display(), e))?;
            captured.system.push((path.clone(), fd));
        }
    }
    for dir in &plan.etc_dirs {
        let fd = clone_tree(dir, RO).map_err(|e| mounts_error(dir.display(), e))?;
        captured.etc_dirs.push((dir.clone(), fd));
    }
    for dev in DEVICES {
        let path = Path::new("/dev").join(dev);
        let fd = clone_tree(&path, libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NOEXEC)
            .map_err(|e| mounts_error(path.display(), e))?;
        captured.devices.push((dev, fd));
    }
    let mut idmap_failed = None;
    for grant in &plan.grants {
        let attrs = if grant.writable { RW } else { RO };
        let fd =
            clone_tree(&grant.path, attrs).map_err(|e| mounts_error(grant.path.display(), e))?;
        if grant.idmap
            && let Some(ns) = idmap
            && idmap_failed.is_none()
            && let Err(e) = sys::mount_setattr(
                fd.as_fd(),
                false,
                libc::MOUNT_ATTR_IDMAP,
                0,
                Some(ns.as_fd()),
            )
        {
            idmap_failed = Some(format!("{}: {e}", grant.path.display()));
        }
        captured.grants.push((grant.clone(), fd));
    }
    if let Some(reason) = idmap_failed {
        if !plan.spec.may_degrade(SandboxLayer::Idmap) {
            return Err(Error::layer(
                Layer::Idmap,
                format!("cannot create an idmapped mount of {reason}"),
                "use a filesystem that supports idmapped mounts (ext4, btrfs, xfs, tmpfs on Linux 6.3+)",
            ));
        }
        captured.degraded.push(Degraded {
            layer: SandboxLayer::Idmap,
            reason: format!("{reason}; files the sandbox creates belong to its own uid"),
        });
    }
    let idmapped = |root: &Path| {
        captured.degraded.is_empty()
            && plan
                .grants
                .iter()
                .any(|g| g.idmap && g.writable && g.path == root)
    };
    let mut protected = Vec::new();
    for p in &plan.protected {
        let root = fs::File::open(&p.root).map_err(|e| protected_error(&p.root, e))?;
        let entry = sys::open_beneath(root.as_fd(), &p.rel, libc::O_PATH)
            .map_err(|e| protected_error(&p.root.join(&p.rel), e))?;
        let fd = sys::open_tree_fd(
            entry.as_fd(),
            libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as u32,
        )
        .map_err(|e| protected_error(&p.root.join(&p.rel), e))?;
        sys::mount_setattr(fd.as_fd(), true, RO, 0, None)
            .map_err(|e| protected_error(&p.root.join(&p.rel), e))?;
        if idmapped(&p.root)
            && let Some(ns) = idmap
        {
            sys::mount_setattr(
                fd.as_fd(),
                false,
                libc::MOUNT_ATTR_IDMAP,
                0,
                Some(ns.as_fd()),
            )
            .map_err(|e| protected_error(&p.root.join(&p.rel), e))?;
        }
        protected.push((p.root.clone(), p.rel.clone(), fd));
    }
    captured.protected = protected;
    if let NetworkMode::Proxy(proxy) = &plan.spec.network {
        let fd = clone_tree(&proxy.socket, RW).map_err(|e| {
            Error::layer(
                Layer::Proxy,
                format!(
                    "cannot mount the egress proxy socket {}: {e}",
                    proxy.socket.display()
                ),
                "start the egress proxy",
            )
        })?;
        captured.proxy = Some(fd);
    }
    Ok(captured)
}

fn protected_error(path: &Path, e: io::Error) -> Error {
    Error::layer(
        Layer::ProtectedPaths,
        format!("cannot protect {}: {e}", path.display()),
        format!(
            "check {} on the host (it must not be a symbolic link)",
            path.display()
        ),
    )
}

/// The path of `inside` (an absolute path in the sandbox) in the staging tree.
fn staged(inside: &Path) -> PathBuf {
    Path::new(STAGING).join(inside.strip_prefix("/").unwrap_or(inside))
}

fn mkdir(path: &Path, mode: u32) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
}

fn touch(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        mkdir(parent, 0o755)?;
    }
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map(drop)
}

fn mount_tmpfs(target: &Path, options: &str, flags: MsFlags) -> io::Result<()> {
    nix::mount::mount(Some("tmpfs"), target, Some("tmpfs"), flags, Some(options))
        .map_err(io::Error::from)
}

fn attach(fd: &OwnedFd, target: &Path) -> io::Result<()> {
    sys::move_mount(fd.as_fd(), None, target)
}

/// Step 2 and 3: builds the new root from `captured` and pivots into it. Secret files are
/// written by the caller afterwards through [`write_secret`].
pub(crate) fn build(plan: &Plan, captured: Captured) -> Result<()> {
    let limits = &plan.spec.limits;
    let (uid, gid) = tmpfs_owner(&plan.identity);
    let step = |what: &str, r: io::Result<()>| r.map_err(|e| mounts_error(what, e));

    step("make the mount tree private", {
        nix::mount::mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(io::Error::from)
    })?;
    let root = Path::new(STAGING);
    step(
        "mount the root tmpfs",
        mount_tmpfs(
            root,
            "size=4m,nr_inodes=4096,mode=0755",
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        ),
    )?;

    // System directories and merged-/usr symlinks.
    for (path, fd) in &captured.system {
        let target = staged(path);
        step("create a mount point", mkdir(&target, 0o755))?;
        step(&format!("mount {}", path.display()), attach(fd, &target))?;
    }
    for entry in &plan.system {
        if let SystemEntry::Symlink { path, target } = entry {
            step(
                "create a symlink",
                std::os::unix::fs::symlink(target, staged(path)),
            )?;
        }
    }

    // /etc
    let etc = staged(Path::new("/etc"));
    step("create /etc", mkdir(&etc, 0o755))?;
    for entry in &plan.etc_files {
        match entry {
            EtcEntry::File { name, contents } => {
                // Mode 0644 through init's umask of 022.
                step("write /etc", fs::write(etc.join(name), contents))?;
            }
            EtcEntry::Symlink { name, target } => {
                step(
                    "link /etc",
                    std::os::unix::fs::symlink(target, etc.join(name)),
                )?;
            }
        }
    }
    for (path, fd) in &captured.etc_dirs {
        let target = staged(path);
        step("create a mount point", mkdir(&target, 0o755))?;
        step(&format!("mount {}", path.display()), attach(fd, &target))?;
    }

    // /dev
    let dev = staged(Path::new("/dev"));
    step("create /dev", mkdir(&dev, 0o755))?;
    step(
        "mount /dev",
        mount_tmpfs(
            &dev,
            "size=64k,nr_inodes=64,mode=0755",
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        ),
    )?;
    for (name, fd) in &captured.devices {
        let target = dev.join(name);
        step("create a device mount point", touch(&target))?;
        step(&format!("mount /dev/{name}"), attach(fd, &target))?;
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        step(
            "link /dev",
            std::os::unix::fs::symlink(target, dev.join(name)),
        )?;
    }
    let shm = dev.join("shm");
    step("create /dev/shm", mkdir(&shm, 0o755))?;
    step(
        "mount /dev/shm",
        mount_tmpfs(
            &shm,
            &format!("size={},mode=1777", limits.tmp_size.as_u64()),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        ),
    )?;

    // /proc
    let proc = staged(Path::new("/proc"));
    step("create /proc", mkdir(&proc, 0o555))?;
    step(
        "mount /proc",
        nix::mount::mount(
            Some("proc"),
            &proc,
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        )
        .map_err(io::Error::from),
    )?;
    for name in PROC_MASKED {
        let target = proc.join(name);
        if target.exists() {
            let null = step_fd("/dev/null", clone_tree(Path::new("/dev/null"), RO))?;
            step(&format!("mask /proc/{name}"), attach(&null, &target))?;
        }
    }
    for name in PROC_READ_ONLY {
        let target = proc.join(name);
        if target.exists() {
            let fd = step_fd(&format!("/proc/{name}"), clone_tree(&target, RO))?;
            step(&format!("protect /proc/{name}"), attach(&fd, &target))?;
        }
    }

    // Scratch space: /tmp and $HOME, /var/tmp pointing at /tmp.
    let tmp = staged(Path::new("/tmp"));
    step("create /tmp", mkdir(&tmp, 0o1777))?;
    step(
        "mount /tmp",
        mount_tmpfs(
            &tmp,
            &format!("size={},mode=1777", limits.tmp_size.as_u64()),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        ),
    )?;
    step("create /var", mkdir(&staged(Path::new("/var")), 0o755))?;
    step(
        "link /var/tmp",
        std::os::unix::fs::symlink("/tmp", staged(Path::new("/var/tmp"))),
    )?;
    let home = staged(Path::new(SANDBOX_HOME));
    step("create $HOME", mkdir(&home, 0o755))?;
    step(
        "mount $HOME",
        mount_tmpfs(
            &home,
            &format!(
                "size={},mode=0700,uid={uid},gid={gid}",
                limits.tmp_size.as_u64()
            ),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        ),
    )?;

    // /run: secrets, and the proxy socket in the proxied mode.
    let secrets = staged(Path::new(SECRETS_DIR));
    step("create /run/secrets", mkdir(&secrets, 0o755))?;
    step(
        "mount /run/secrets",
        mount_tmpfs(
            &secrets,
            &format!("size=1m,nr_inodes=1024,mode=0700,uid={uid},gid={gid}"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        ),
    )?;
    if let Some(fd) = &captured.proxy {
        let target = staged(Path::new(ProxyNetwork::SANDBOX_SOCKET));
        step("create the proxy socket mount point", touch(&target))?;
        step("mount the proxy socket", attach(fd, &target))?;
    }

    // Granted paths, parents first, then their protected entries.
    for (grant, fd) in &captured.grants {
        let target = staged(&grant.path);
        if grant.is_dir {
            step("create a mount point", mkdir(&target, 0o755))?;
        } else {
            step("create a mount point", touch(&target))?;
        }
        step(
            &format!("mount {}", grant.path.display()),
            attach(fd, &target),
        )?;
    }
    for (root, rel, fd) in &captured.protected {
        let inside = fs::File::open(staged(root)).map_err(|e| protected_error(root, e))?;
        let target = sys::open_beneath(inside.as_fd(), rel, libc::O_PATH)
            .map_err(|e| protected_error(&root.join(rel), e))?;
        sys::move_mount(fd.as_fd(), Some(target.as_fd()), Path::new(""))
            .map_err(|e| protected_error(&root.join(rel), e))?;
    }
    for (path, is_dir) in &plan.hidden {
        let target = staged(path);
        if *is_dir {
            step(
                &format!("hide {}", path.display()),
                mount_tmpfs(
                    &target,
                    "size=4k,nr_inodes=2,mode=0500",
                    MsFlags::MS_RDONLY
                        | MsFlags::MS_NOSUID
                        | MsFlags::MS_NODEV
                        | MsFlags::MS_NOEXEC,
                ),
            )?;
        } else {
            let null = step_fd("/dev/null", clone_tree(Path::new("/dev/null"), RO))?;
            step(&format!("hide {}", path.display()), attach(&null, &target))?;
        }
    }

    // Pivot.
    step(
        "enter the new root",
        nix::unistd::chdir(root).map_err(io::Error::from),
    )?;
    step(
        "pivot_root",
        nix::unistd::pivot_root(".", ".").map_err(io::Error::from),
    )?;
    step(
        "detach the old root",
        nix::mount::umount2(".", MntFlags::MNT_DETACH).map_err(io::Error::from),
    )?;
    step("chdir /", nix::unistd::chdir("/").map_err(io::Error::from))?;
    Ok(())
}

fn step_fd(what: &str, r: io::Result<OwnedFd>) -> Result<OwnedFd> {
    r.map_err(|e| mounts_error(what, e))
}

/// After secrets are written: `/run/secrets` and `/` become read-only.
pub(crate) fn seal() -> Result<()> {
    let ro = MsFlags::MS_REMOUNT
        | MsFlags::MS_BIND
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    nix::mount::mount(
        None::<&str>,
        SECRETS_DIR,
        None::<&str>,
        ro | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| mounts_error("make /run/secrets read-only", e))?;
    nix::mount::mount(None::<&str>, "/", None::<&str>, ro, None::<&str>)
        .map_err(|e| mounts_error("make / read-only", e))
}

/// Writes one secret file (mode 0400, owned by the sandbox user) into `/run/secrets`.
pub(crate) fn write_secret(identity: &Identity, name: &str, value: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = Path::new(SECRETS_DIR).join(name);
    let fail = |e: io::Error| {
        Error::layer(
            Layer::Mounts,
            format!("cannot write secret file {}: {e}", path.display()),
            "check the secret's name",
        )
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(fail)?;
    file.write_all(value).map_err(fail)?;
    if let Identity::Root { uid, gid, .. } = identity {
        nix::unistd::fchown(&file, Some((*uid).into()), Some((*gid).into()))
            .map_err(|e| fail(e.into()))?;
    }
    Ok(())
}

/// Owner of the private tmpfs mounts, as the mounting process names it: the dedicated host uid
/// for a root launcher (its namespace is the host's), the inside uid for a user launcher.
fn tmpfs_owner(identity: &Identity) -> (u32, u32) {
    match identity {
        Identity::Root { uid, gid, .. } => (*uid, *gid),
        Identity::User { .. } => (INSIDE_ID, INSIDE_ID),
    }
}
