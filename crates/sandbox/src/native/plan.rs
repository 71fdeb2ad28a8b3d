//! Turns a [`SandboxSpec`] into the concrete steps the sandbox's init performs: who it runs as,
//! what it mounts where, its environment and working directory. Runs in the launcher, before
//! any namespace exists, so that every check against the host happens in one place.

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::native::etc::{self, EtcEntry};
use std::os::fd::RawFd;

use crate::native::wire::StreamFds;
use crate::spec::{ExecSpec, NetworkMode, SANDBOX_HOME, SANDBOX_UID, SandboxSpec};

/// The top-level system paths that may appear inside; symlinks (merged `/usr`) are recreated as
/// symlinks, directories bound read-only. Nothing else of `/` is visible.
pub(crate) const SYSTEM_PATHS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32",
];

/// Host device nodes bound into the minimal `/dev`.
pub(crate) const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

/// Who the sandbox runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    /// The launcher runs as root: the sandbox switches to the dedicated host uid/gid before it
    /// creates its user namespace (unless that layer is degraded); granted paths owned by the
    /// invoking user are idmapped onto it.
    Root {
        uid: u32,
        gid: u32,
        /// The invoking user (whose files appear as the sandbox's own through idmapped mounts).
        owner_uid: u32,
        owner_gid: u32,
        user_namespace: bool,
    },
    /// The launcher runs as a normal user: a user namespace maps that user to the sandbox uid.
    User { uid: u32, gid: u32 },
}

/// A top-level system path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SystemEntry {
    Bind(PathBuf),
    Symlink { path: PathBuf, target: PathBuf },
}

/// A granted host path, mounted at the same place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub(crate) path: PathBuf,
    pub(crate) writable: bool,
    pub(crate) is_dir: bool,
    /// Mounted through the idmap (root launcher, owned by the invoking user).
    pub(crate) idmap: bool,
}

/// A path under a writable grant that is mounted read-only over itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Protected {
    pub(crate) root: PathBuf,
    /// Relative to `root`; no `..`, no symlinks on the way (checked again at mount time).
    pub(crate) rel: PathBuf,
}

/// Everything init needs to build the sandbox.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) spec: SandboxSpec,
    pub(crate) identity: Identity,
    pub(crate) system: Vec<SystemEntry>,
    /// Host `/etc` directories bound read-only (`/etc/ssl`, `/etc/alternatives`, …).
    pub(crate) etc_dirs: Vec<PathBuf>,
    pub(crate) etc_files: Vec<EtcEntry>,
    /// Parents before children.
    pub(crate) grants: Vec<Grant>,
    pub(crate) protected: Vec<Protected>,
    /// Hidden paths that exist inside a grant: (path, is_dir).
    pub(crate) hidden: Vec<(PathBuf, bool)>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) workdir: PathBuf,
    /// How many secret files the host sends (their values never enter the plan).
    pub(crate) secret_count: usize,
    /// A one-shot run's command, handed to init at birth.
    pub(crate) first_exec: Option<FirstExec>,
}

/// The command of a one-shot run: init starts it as soon as the sandbox stands, without another
/// round trip through the launcher. Its stream descriptors are inherited through the fork.
#[derive(Debug, Clone)]
pub(crate) struct FirstExec {
    pub(crate) exec: ExecSpec,
    pub(crate) which: StreamFds,
    pub(crate) fds: Vec<RawFd>,
}

impl Plan {
    /// Resolves `spec` against the host. `identity` is decided by the caller (uid allocation is a
    /// side effect it owns); `protected` lists the protected entries the caller prepared.
    pub(crate) fn resolve(
        spec: SandboxSpec,
        identity: Identity,
        protected: Vec<Protected>,
    ) -> Result<Self> {
        let mut grants = Vec::new();
        let owner = match identity {
            Identity::Root { owner_uid, .. } => Some(owner_uid),
            Identity::User { .. } => None,
        };
        let ro = spec.read_only.iter().map(|p| (p, false));
        let rw = spec
            .workspace
            .iter()
            .chain(&spec.read_write)
            .map(|p| (p, true));
        for (path, writable) in ro.chain(rw) {
            let path = normalise(path);
            let meta = std::fs::metadata(&path).map_err(|e| {
                Error::Spec(format!(
                    "granted path {} cannot be used: {e}",
                    path.display()
                ))
            })?;
            if grants.iter().any(|g: &Grant| g.path == path) {
                return Err(Error::Spec(format!(
                    "{} is granted twice; grant each path once (read-write wins if you need it)",
                    path.display()
                )));
            }
            grants.push(Grant {
                idmap: owner == Some(meta.uid()),
                path,
                writable,
                is_dir: meta.is_dir(),
            });
        }
        grants.sort_by_key(|g| g.path.components().count());

        let hidden = spec
            .hidden
            .iter()
            .map(|p| normalise(p))
            .filter(|p| grants.iter().any(|g| p.starts_with(&g.path)))
            .filter_map(|p| std::fs::symlink_metadata(&p).ok().map(|m| (p, m.is_dir())))
            .collect();

        let system = SYSTEM_PATHS
            .iter()
            .filter_map(|p| {
                let path = PathBuf::from(p);
                let meta = std::fs::symlink_metadata(&path).ok()?;
                if meta.file_type().is_symlink() {
                    let target = std::fs::read_link(&path).ok()?;
                    Some(SystemEntry::Symlink { path, target })
                } else if meta.is_dir() {
                    Some(SystemEntry::Bind(path))
                } else {
                    None
                }
            })
            .collect();

        let workdir = match (&spec.workdir, &spec.workspace) {
            (Some(dir), _) => normalise(dir),
            (None, Some(ws)) => normalise(ws),
            (None, None) => PathBuf::from(SANDBOX_HOME),
        };
        let env = base_env(&spec);
        let (etc_files, etc_dirs) = etc::curated();
        Ok(Self {
            spec,
            identity,
            system,
            etc_dirs,
            etc_files,
            grants,
            protected,
            hidden,
            env,
            workdir,
            secret_count: 0,
            first_exec: None,
        })
    }
}

/// The environment every command starts from.
fn base_env(spec: &SandboxSpec) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
        ("HOME", SANDBOX_HOME),
        ("USER", "sandbox"),
        ("LOGNAME", "sandbox"),
        ("SHELL", "/bin/sh"),
        ("TMPDIR", "/tmp"),
        ("LANG", "C.UTF-8"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let extra = spec.env.iter().chain(match &spec.network {
        NetworkMode::Proxy(proxy) => proxy.env.as_slice(),
        NetworkMode::None => &[],
    });
    for (name, value) in extra {
        merge_env(&mut env, name, value);
    }
    env
}

/// Sets `name` in `env`, replacing an earlier value.
pub(crate) fn merge_env(env: &mut Vec<(String, String)>, name: &str, value: &str) {
    match env.iter_mut().find(|(k, _)| k == name) {
        Some(entry) => entry.1 = value.to_string(),
        None => env.push((name.to_string(), value.to_string())),
    }
}

/// Removes `.` components and trailing slashes (`..` was rejected by validation).
pub(crate) fn normalise(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// The uid and gid inside the sandbox.
pub(crate) const INSIDE_ID: u32 = SANDBOX_UID;

#[cfg(test)]
mod tests {
    use super::*;
    use aegisclaw_core::Limits;

    fn user() -> Identity {
        Identity::User {
            uid: 1234,
            gid: 1234,
        }
    }

    #[test]
    fn grants_are_ordered_parents_first_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("a/b");
        std::fs::create_dir_all(&inner).unwrap();
        let mut spec = SandboxSpec::new(Limits::default());
        spec.read_write.push(inner.clone());
        spec.read_only.push(dir.path().to_path_buf());
        let plan = Plan::resolve(spec, user(), Vec::new()).unwrap();
        assert_eq!(plan.grants[0].path, dir.path());
        assert!(!plan.grants[0].writable);
        assert_eq!(plan.grants[1].path, inner);
        assert!(plan.grants[1].writable);
        assert_eq!(plan.workdir, PathBuf::from(SANDBOX_HOME));
    }

    #[test]
    fn missing_paths_are_refused() {
        let mut spec = SandboxSpec::new(Limits::default());
        spec.read_only.push("/definitely/not/here".into());
        let e = Plan::resolve(spec, user(), Vec::new()).unwrap_err();
        assert!(e.to_string().contains("/definitely/not/here"), "{e}");
    }

    #[test]
    fn environment_is_built_not_inherited() {
        let mut spec = SandboxSpec::new(Limits::default());
        spec.env.push(("LANG".into(), "de_DE.UTF-8".into()));
        spec.env.push(("FOO".into(), "bar".into()));
        let env = base_env(&spec);
        assert!(env.contains(&("LANG".into(), "de_DE.UTF-8".into())));
        assert!(env.contains(&("FOO".into(), "bar".into())));
        assert!(env.contains(&("HOME".into(), SANDBOX_HOME.into())));
        assert_eq!(env.iter().filter(|(k, _)| k == "LANG").count(), 1);
        // Nothing of the launcher's own environment.
        assert!(!env.iter().any(|(k, _)| k == "CARGO" || k == "RUST_LOG"));
    }

    #[test]
    fn workspace_is_the_default_workdir() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = SandboxSpec::new(Limits::default());
        spec.workspace = Some(dir.path().join("."));
        let plan = Plan::resolve(spec, user(), Vec::new()).unwrap();
        assert_eq!(plan.workdir, dir.path());
        assert!(plan.grants[0].writable);
    }
}
