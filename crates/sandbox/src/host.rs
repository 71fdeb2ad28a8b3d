use std::ffi::CStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use aegisclaw_core::SandboxBackend;
use serde::Serialize;

/// The outcome of one capability check: available or not, with the reason when not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub available: bool,
    /// What was found, or why it is missing.
    pub detail: String,
}

impl Probe {
    fn yes(detail: impl Into<String>) -> Self {
        Self {
            available: true,
            detail: detail.into(),
        }
    }
    fn no(detail: impl Into<String>) -> Self {
        Self {
            available: false,
            detail: detail.into(),
        }
    }
}

/// Which cgroup hierarchy the host mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    /// Unified hierarchy only.
    V2,
    /// v1 controllers with a v2 hierarchy beside them (`/sys/fs/cgroup/unified`).
    Hybrid,
    V1,
    None,
}

/// The cgroup controllers a sandbox can use for limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupInfo {
    pub version: CgroupVersion,
    /// Controllers usable for limits, with the hierarchy each lives in (`memory (v1)`, …).
    pub controllers: Vec<String>,
}

/// A Docker engine reachable on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerInfo {
    pub socket: PathBuf,
    pub version: String,
    /// OCI runtimes the engine has configured (`runc`, `runsc`, `kata`, …), sorted.
    pub runtimes: Vec<String>,
    pub default_runtime: Option<String>,
}

/// What this host offers each sandbox backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostReport {
    pub kernel: String,
    pub running_as_root: bool,
    pub user_namespaces: Probe,
    /// The Landlock ABI version (0 when Landlock is unavailable).
    pub landlock_abi: u32,
    pub landlock: Probe,
    pub seccomp: Probe,
    pub cgroups: CgroupInfo,
    pub docker: Result<DockerInfo, String>,
    pub kvm: Probe,
    pub qemu: Probe,
    pub firecracker: Probe,
}

impl HostReport {
    /// Inspects the host. Takes a few milliseconds, plus up to two seconds when a Docker socket
    /// exists but the engine does not answer.
    pub fn detect() -> Self {
        let landlock_abi = landlock_abi();
        Self {
            kernel: kernel_release(),
            // SAFETY: geteuid has no preconditions and cannot fail.
            running_as_root: unsafe { libc::geteuid() } == 0,
            user_namespaces: user_namespaces(),
            landlock_abi,
            landlock: if landlock_abi > 0 {
                Probe::yes(format!("ABI {landlock_abi}"))
            } else {
                Probe::no(
                    "the kernel does not offer Landlock (needs Linux 5.13+ with landlock in the lsm= boot list)",
                )
            },
            seccomp: seccomp(),
            cgroups: cgroups(Path::new("/sys/fs/cgroup")),
            docker: docker(),
            kvm: kvm(),
            qemu: find_program("qemu-system-x86_64", &["--version"]),
            firecracker: find_program("firecracker", &["--version"]),
        }
    }

    /// Whether every layer of the native backend can be applied.
    pub fn native_ready(&self) -> bool {
        self.user_namespaces.available && self.landlock.available && self.seccomp.available
    }

    /// The backend this host supports best, with the reason; `None` when no backend can run.
    pub fn recommended_backend(&self) -> Option<(SandboxBackend, String)> {
        if self.native_ready() {
            return Some((
                SandboxBackend::Native,
                "user namespaces, Landlock and seccomp are all available: no Docker needed, fastest start".into(),
            ));
        }
        if let Ok(docker) = &self.docker {
            return Some((
                SandboxBackend::Docker,
                format!(
                    "the native layers are incomplete, and a Docker engine {} answers",
                    docker.version
                ),
            ));
        }
        if self.kvm.available && self.qemu.available {
            return Some((SandboxBackend::Microvm, "KVM and QEMU are available".into()));
        }
        None
    }
}

fn kernel_release() -> String {
    // SAFETY: utsname is plain old data; uname fills it and returns 0 on success.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return "unknown".into();
    }
    // SAFETY: on success the kernel NUL-terminates every field.
    unsafe { CStr::from_ptr(uts.release.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn landlock_abi() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a NULL attribute, size 0 and the VERSION flag the syscall only returns the
    // ABI version (or an error); it reads and writes no memory.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(abi).unwrap_or(0)
}

/// Really creates the namespaces the native backend needs, in a child process.
fn user_namespaces() -> Probe {
    let Some(truth) = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        return Probe::no("cannot test: no /usr/bin/true");
    };
    let flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS;
    let mut cmd = Command::new(truth);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: the closure runs between fork and exec and calls only unshare, which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(flags) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    match cmd.status() {
        Ok(status) if status.success() => {
            Probe::yes("user, mount, pid, net, ipc and uts namespaces can be created")
        }
        Ok(status) => Probe::no(format!("test child failed: {status}")),
        Err(e) => {
            let hint = match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::ENOSPC) => {
                    "; enable them with `sysctl -w kernel.unprivileged_userns_clone=1` / `user.max_user_namespaces=15000` \
                     (or kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu)"
                }
                _ => "",
            };
            Probe::no(format!("unshare failed: {e}{hint}"))
        }
    }
}

fn seccomp() -> Probe {
    // SAFETY: PR_GET_SECCOMP takes no pointer arguments.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    if mode < 0 {
        return Probe::no("the kernel was built without seccomp (CONFIG_SECCOMP)");
    }
    match std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail") {
        Ok(actions) if actions.contains("errno") && actions.contains("kill_process") => {
            Probe::yes(format!("filter mode; actions: {}", actions.trim()))
        }
        Ok(actions) => Probe::no(format!("filter actions missing (have: {})", actions.trim())),
        Err(_) => Probe::no("seccomp filter mode is unavailable (CONFIG_SECCOMP_FILTER)"),
    }
}

fn cgroups(root: &Path) -> CgroupInfo {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let is_cgroup2 = |p: &Path| statfs_type(p) == Some(CGROUP2_SUPER_MAGIC);
    let wanted = ["memory", "pids", "cpu"];
    if is_cgroup2(root) {
        let available =
            std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
        let controllers = wanted
            .iter()
            .filter(|c| available.split_whitespace().any(|a| a == **c))
            .map(|c| format!("{c} (v2)"))
            .collect();
        return CgroupInfo {
            version: CgroupVersion::V2,
            controllers,
        };
    }
    let mut controllers: Vec<String> = wanted
        .iter()
        .filter(|c| root.join(c).join("tasks").exists())
        .map(|c| format!("{c} (v1)"))
        .collect();
    let unified = root.join("unified");
    if is_cgroup2(&unified) {
        let available =
            std::fs::read_to_string(unified.join("cgroup.controllers")).unwrap_or_default();
        controllers.extend(
            wanted
                .iter()
                .filter(|c| available.split_whitespace().any(|a| a == **c))
                .map(|c| format!("{c} (v2)")),
        );
        return CgroupInfo {
            version: CgroupVersion::Hybrid,
            controllers,
        };
    }
    let version = if controllers.is_empty() {
        CgroupVersion::None
    } else {
        CgroupVersion::V1
    };
    CgroupInfo {
        version,
        controllers,
    }
}

fn statfs_type(path: &Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: c_path is a valid NUL-terminated string and buf a plain struct statfs fills.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut buf) } != 0 {
        return None;
    }
    #[allow(
        clippy::unnecessary_cast,
        reason = "f_type's width differs between architectures"
    )]
    Some(buf.f_type as i64)
}

fn docker_socket() -> PathBuf {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
}

fn docker() -> Result<DockerInfo, String> {
    let socket = docker_socket();
    if !socket.exists() {
        return Err(format!(
            "no Docker engine socket at {} (install docker.io and start dockerd)",
            socket.display()
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start an async runtime: {e}"))?;
    let socket_str = socket.to_string_lossy().into_owned();
    runtime.block_on(async move {
        let client =
            bollard::Docker::connect_with_unix(&socket_str, 2, bollard::API_DEFAULT_VERSION)
                .map_err(|e| format!("cannot connect to {socket_str}: {e}"))?;
        let info = tokio::time::timeout(Duration::from_secs(2), client.info())
            .await
            .map_err(|_| format!("the Docker engine at {socket_str} did not answer within 2s"))?
            .map_err(|e| format!("the Docker engine at {socket_str} failed: {e}"))?;
        let mut runtimes: Vec<String> = info.runtimes.unwrap_or_default().into_keys().collect();
        runtimes.sort();
        Ok(DockerInfo {
            socket: socket.clone(),
            version: info.server_version.unwrap_or_else(|| "unknown".into()),
            runtimes,
            default_runtime: info.default_runtime,
        })
    })
}

fn kvm() -> Probe {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => Probe::yes("/dev/kvm is usable"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Probe::no(
            "/dev/kvm does not exist (no hardware virtualisation, or the kvm module is not loaded)",
        ),
        Err(e) => Probe::no(format!(
            "/dev/kvm cannot be opened: {e} (add the user to the kvm group)"
        )),
    }
}

/// Finds a program on PATH and asks it for its version.
fn find_program(name: &str, version_args: &[&str]) -> Probe {
    let Some(path) = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
    else {
        return Probe::no(format!("{name} is not on PATH"));
    };
    let version = Command::new(&path)
        .args(version_args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_default();
    Probe::yes(format!("{} {}", path.display(), version).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_reports_this_kernel() {
        let report = HostReport::detect();
        assert!(!report.kernel.is_empty() && report.kernel != "unknown");
        // This suite runs on Linux 6.x, where Landlock and seccomp exist.
        assert!(report.landlock_abi >= 1, "{report:?}");
        assert!(report.seccomp.available, "{report:?}");
    }

    #[test]
    fn cgroups_of_a_plain_directory_is_none() {
        let dir = std::env::temp_dir();
        let info = cgroups(&dir);
        assert_eq!(info.version, CgroupVersion::None);
        assert!(info.controllers.is_empty());
    }

    #[test]
    fn missing_program_is_reported() {
        let probe = find_program("definitely-not-a-program-aegisclaw", &[]);
        assert!(!probe.available);
        assert!(probe.detail.contains("not on PATH"));
    }
}
