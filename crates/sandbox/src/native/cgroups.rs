//! Memory and pids limits through cgroups: v2 where the host has it (with the controllers
//! enabled), v1 otherwise (this project's CI machine has memory and pids on v1).
//!
//! A run gets its own cgroup, created by the launcher before the sandbox starts and removed
//! after its last process is gone. The limit events (`memory.events`/`memory.oom_control`,
//! `pids.events`) become the run's limit denials.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aegisclaw_core::Limits;

use crate::native::sys;
use crate::report::Denial;

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
/// A leftover run cgroup (its launcher was killed) older than this, with no process, is removed.
const STALE_AFTER: Duration = Duration::from_secs(120);

/// The cgroup(s) of one run.
#[derive(Debug)]
pub(crate) enum Cgroup {
    V2 { dir: PathBuf },
    V1 { memory: PathBuf, pids: PathBuf },
}

/// Counters read at the start of a command, to report only its own limit hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    oom_kills: u64,
    memory_max: u64,
    pids_max: u64,
}

impl Cgroup {
    /// Creates the cgroup of run `id` with `limits`. The error says why it cannot, for the
    /// fail-closed message.
    pub(crate) fn create(id: &str, limits: &Limits) -> Result<Self, String> {
        let mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let memory_bytes = limits.memory.as_u64();
        if let Some(root) = v2_root(&mounts)
            && has_controllers(&root, &["memory", "pids"])
        {
            let dir = v2_parent(&root, &own)?.join(format!("aegisclaw-{id}"));
            collect_stale(dir.parent().unwrap_or(&root));
            std::fs::create_dir(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let cg = Self::V2 { dir: dir.clone() };
            let setup = || -> io::Result<()> {
                sys::write_file(&dir.join("memory.max"), &memory_bytes.to_string())?;
                // No swap: the memory limit is the whole budget.
                if dir.join("memory.swap.max").exists() {
                    sys::write_file(&dir.join("memory.swap.max"), "0")?;
                }
                sys::write_file(&dir.join("pids.max"), &limits.pids.to_string())
            };
            setup().map_err(|e| format!("cannot set limits in {}: {e}", dir.display()))?;
            return Ok(cg);
        }
        let memory = v1_dir(&mounts, &own, "memory")?;
        let pids = v1_dir(&mounts, &own, "pids")?;
        let (memory, pids) = (
            memory.join(format!("aegisclaw-{id}")),
            pids.join(format!("aegisclaw-{id}")),
        );
        for dir in [&memory, &pids] {
            collect_stale(dir.parent().unwrap_or(dir));
            std::fs::create_dir(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let cg = Self::V1 {
            memory: memory.clone(),
            pids: pids.clone(),
        };
        let setup = || -> io::Result<()> {
            sys::write_file(
                &memory.join("memory.limit_in_bytes"),
                &memory_bytes.to_string(),
            )?;
            let memsw = memory.join("memory.memsw.limit_in_bytes");
            if memsw.exists() {
                sys::write_file(&memsw, &memory_bytes.to_string())?;
            }
            sys::write_file(&pids.join("pids.max"), &limits.pids.to_string())
        };
        setup().map_err(|e| format!("cannot set limits in {}: {e}", memory.display()))?;
        Ok(cg)
    }

    /// Moves process `pid` into the cgroup.
    pub(crate) fn add(&self, pid: libc::pid_t) -> io::Result<()> {
        for dir in self.dirs() {
            sys::write_file(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The cgroup directories, for cleanup by someone else.
    pub(crate) fn paths(&self) -> Vec<String> {
        self.dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect()
    }

    fn dirs(&self) -> Vec<&Path> {
        match self {
            Self::V2 { dir } => vec![dir],
            Self::V1 { memory, pids } => vec![memory, pids],
        }
    }

    pub(crate) fn counters(&self) -> Counters {
        match self {
            Self::V2 { dir } => {
                let mem = read(&dir.join("memory.events"));
                let pids = read(&dir.join("pids.events"));
                Counters {
                    oom_kills: field(&mem, "oom_kill"),
                    memory_max: field(&mem, "max"),
                    pids_max: field(&pids, "max"),
                }
            }
            Self::V1 { memory, pids } => Counters {
                oom_kills: field(&read(&memory.join("memory.oom_control")), "oom_kill"),
                memory_max: read(&memory.join("memory.failcnt"))
                    .trim()
                    .parse()
                    .unwrap_or(0),
                pids_max: field(&read(&pids.join("pids.events")), "max"),
            },
        }
    }

    /// The limit hits since `before`.
    pub(crate) fn denials_since(&self, before: Counters, limits: &Limits) -> Vec<Denial> {
        let now = self.counters();
        let mut denials = Vec::new();
        if now.oom_kills > before.oom_kills {
            denials.push(Denial::Limit {
                limit: "memory".into(),
                detail: format!(
                    "the memory limit of {} was reached; the kernel killed {} process(es)",
                    limits.memory,
                    now.oom_kills - before.oom_kills
                ),
            });
        } else if now.memory_max > before.memory_max {
            denials.push(Denial::Limit {
                limit: "memory".into(),
                detail: format!("allocations hit the memory limit of {}", limits.memory),
            });
        }
        if now.pids_max > before.pids_max {
            denials.push(Denial::Limit {
                limit: "pids".into(),
                detail: format!(
                    "{} fork(s) refused at the limit of {} processes",
                    now.pids_max - before.pids_max,
                    limits.pids
                ),
            });
        }
        denials
    }

    /// Kills every process in the cgroup (v2 `cgroup.kill`, else one by one).
    pub(crate) fn kill_all(&self) {
        if let Self::V2 { dir } = self
            && sys::write_file(&dir.join("cgroup.kill"), "1").is_ok()
        {
            return;
        }
        for dir in self.dirs() {
            for pid in read(&dir.join("cgroup.procs")).lines() {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }

    /// Whether no process is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.dirs()
            .iter()
            .all(|d| read(&d.join("cgroup.procs")).trim().is_empty())
    }

    /// Removes the cgroup, killing what is left and waiting briefly for it to go.
    pub(crate) fn remove(&self) {
        for attempt in 0..200 {
            if attempt > 0 {
                self.kill_all();
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut left = false;
            for dir in self.dirs() {
                if dir.exists() && std::fs::remove_dir(dir).is_err() {
                    left = true;
                }
            }
            if !left {
                return;
            }
        }
        tracing::warn!(dirs = ?self.dirs(), "cgroup of a finished sandbox could not be removed");
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The value of `key` in a `key value` lines file.
fn field(text: &str, key: &str) -> u64 {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Mount points of cgroup filesystems: (mount point, fs type, super options).
fn cgroup_mounts(mountinfo: &str) -> impl Iterator<Item = (PathBuf, &str, &str)> {
    mountinfo.lines().filter_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mount_point = left.split(' ').nth(4)?;
        let mut r = right.split(' ');
        let fstype = r.next()?;
        let _source = r.next()?;
        let options = r.next().unwrap_or("");
        fstype
            .starts_with("cgroup")
            .then(|| (PathBuf::from(unescape(mount_point)), fstype, options))
    })
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

fn v2_root(mountinfo: &str) -> Option<PathBuf> {
    cgroup_mounts(mountinfo)
        .find(|(p, fstype, _)| *fstype == "cgroup2" && statfs_type(p) == Some(CGROUP2_SUPER_MAGIC))
        .map(|(p, _, _)| p)
}

fn has_controllers(root: &Path, wanted: &[&str]) -> bool {
    let available = read(&root.join("cgroup.controllers"));
    wanted
        .iter()
        .all(|w| available.split_whitespace().any(|a| a == *w))
}

/// Where a v2 run cgroup goes: under `/aegisclaw` at the root when we are root (the root cgroup
/// is exempt from the no-internal-processes rule), else under our own cgroup if it is delegated
/// to us with the controllers enabled.
fn v2_parent(root: &Path, own: &str) -> Result<PathBuf, String> {
    let enable = |dir: &Path| -> Result<(), String> {
        let enabled = read(&dir.join("cgroup.subtree_control"));
        if ["memory", "pids"]
            .iter()
            .all(|c| enabled.split_whitespace().any(|e| e == *c))
        {
            return Ok(());
        }
        sys::write_file(&dir.join("cgroup.subtree_control"), "+memory +pids").map_err(|e| {
            format!(
                "cannot enable the memory and pids controllers in {}: {e}",
                dir.display()
            )
        })
    };
    if nix::unistd::geteuid().is_root() {
        let parent = root.join("aegisclaw");
        enable(root)?;
        match std::fs::create_dir(&parent) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", parent.display())),
        }
        enable(&parent)?;
        return Ok(parent);
    }
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("this process is not in a cgroup v2 hierarchy")?;
    let dir = root.join(path.trim_start_matches('/'));
    enable(&dir).map_err(|e| {
        format!("{e} (a process of yours lives there; run aegisclaw in a delegated cgroup, e.g. `systemd-run --user --scope -p Delegate=yes`)")
    })?;
    Ok(dir)
}

/// The directory of our own v1 cgroup for `controller`.
fn v1_dir(mountinfo: &str, own: &str, controller: &str) -> Result<PathBuf, String> {
    let mount = cgroup_mounts(mountinfo)
        .find(|(_, fstype, options)| {
            *fstype == "cgroup" && options.split(',').any(|o| o == controller)
        })
        .map(|(p, _, _)| p)
        .ok_or_else(|| format!("no cgroup hierarchy has the {controller} controller"))?;
    let path = own
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers
                .split(',')
                .any(|c| c == controller)
                .then_some(path)
        })
        .ok_or_else(|| format!("this process has no {controller} cgroup"))?;
    let dir = mount.join(path.trim_start_matches('/'));
    if !dir.is_dir() {
        return Err(format!("{} does not exist", dir.display()));
    }
    Ok(dir)
}

/// Removes leftover run cgroups of killed launchers.
fn collect_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with("aegisclaw-")
        {
            continue;
        }
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() > STALE_AFTER)
            .unwrap_or(false);
        if old && read(&path.join("cgroup.procs")).trim().is_empty() {
            let _ = std::fs::remove_dir(&path);
        }
    }
}

fn statfs_type(path: &Path) -> Option<i64> {
    let st = nix::sys::statfs::statfs(path).ok()?;
    #[allow(
        clippy::unnecessary_cast,
        reason = "f_type's width differs between architectures"
    )]
    Some(st.filesystem_type().0 as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_files_parse() {
        assert_eq!(
            field("low 0\nhigh 0\nmax 7\noom 1\noom_kill 2\n", "oom_kill"),
            2
        );
        assert_eq!(field("max 3\n", "max"), 3);
        assert_eq!(field("", "max"), 0);
    }

    #[test]
    fn mountinfo_lists_cgroup_mounts() {
        let info = "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                    31 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                    32 25 0:28 / /proc rw - proc proc rw\n";
        let mounts: Vec<_> = cgroup_mounts(info).collect();
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].0, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(mounts[0].2, "rw,memory");
        assert_eq!(mounts[1].1, "cgroup2");
    }
}

/// What [`kill_every_sandbox`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KillReport {
    /// Native sandboxes that had processes (one per run cgroup name).
    pub sandboxes: usize,
    /// Processes signalled.
    pub processes: usize,
    /// From the call until the last process was gone (or the wait gave up).
    pub elapsed: Duration,
    /// Processes still alive when the wait gave up (0 means every sandbox is dead).
    pub survivors: usize,
}

/// Kills every process of every native sandbox of `owner` (see [`crate::SandboxSpec::owner`];
/// `None`: of anyone) on this machine, the lockdown switch: each run cgroup (`aegisclaw-*`, in
/// the unified hierarchy or the memory and pids ones) is emptied with `cgroup.kill` or SIGKILL,
/// again and again until it stays empty (a process forking meanwhile is caught on the next
/// pass), for at most `wait`.
pub fn kill_every_sandbox(owner: Option<&str>, wait: Duration) -> KillReport {
    let prefix = match owner {
        Some(o) => format!("aegisclaw-{o}-"),
        None => "aegisclaw-".to_string(),
    };
    let started = std::time::Instant::now();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut dirs = Vec::new();
    for (mount, fstype, options) in cgroup_mounts(&mounts) {
        let relevant =
            fstype == "cgroup2" || options.split(',').any(|o| o == "memory" || o == "pids");
        if relevant {
            find_run_cgroups(&mount, 0, &prefix, &mut dirs);
        }
    }
    let mut report = KillReport::default();
    let mut with_processes = std::collections::BTreeSet::new();
    loop {
        let mut alive = 0;
        for dir in &dirs {
            let pids = procs_below(dir);
            if !pids.is_empty()
                && let Some(name) = dir.file_name()
            {
                with_processes.insert(name.to_owned());
            }
            alive += pids.len();
            if pids.is_empty() {
                continue;
            }
            if sys::write_file(&dir.join("cgroup.kill"), "1").is_err() {
                for pid in &pids {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(*pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            report.processes = report.processes.max(pids.len());
        }
        if alive == 0 || started.elapsed() >= wait {
            report.survivors = alive;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    report.sandboxes = with_processes.len();
    report.elapsed = started.elapsed();
    report
}

/// Directories named `prefix*` at or below `dir` (not looking inside other run cgroups) (a cgroup tree is shallow; the depth bound
/// only guards against a pathological one).
fn find_run_cgroups(dir: &Path, depth: usize, prefix: &str, found: &mut Vec<PathBuf>) {
    if depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(prefix) {
            found.push(path);
        } else if !name.starts_with("aegisclaw-") {
            find_run_cgroups(&path, depth + 1, prefix, found);
        }
    }
}

/// The pids in the cgroup `dir` and every cgroup below it.
fn procs_below(dir: &Path) -> Vec<i32> {
    let mut pids: Vec<i32> = read(&dir.join("cgroup.procs"))
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pids.extend(procs_below(&entry.path()));
            }
        }
    }
    pids
}
