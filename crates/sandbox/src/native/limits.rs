//! Per-process resource limits (rlimits). The sandbox-wide limits (memory, pids) live in the
//! run's cgroup; when cgroups are degraded, `RLIMIT_NPROC` and `RLIMIT_AS` stand in for them.

use aegisclaw_core::Limits;
use nix::sys::resource::{Resource, setrlimit};

/// Limits init sets on itself; every command inherits them.
pub(crate) fn apply_inherited(limits: &Limits, cgroups: bool) -> Result<(), String> {
    let set = |resource, value: u64, what: &str| {
        setrlimit(resource, value, value).map_err(|e| format!("cannot set {what} to {value}: {e}"))
    };
    set(Resource::RLIMIT_CORE, 0, "RLIMIT_CORE")?;
    set(
        Resource::RLIMIT_NOFILE,
        u64::from(limits.open_files),
        "RLIMIT_NOFILE",
    )?;
    set(
        Resource::RLIMIT_FSIZE,
        limits.file_size.as_u64(),
        "RLIMIT_FSIZE",
    )?;
    if !cgroups {
        // Counted per user namespace, so only the sandbox's own processes count.
        set(
            Resource::RLIMIT_NPROC,
            u64::from(limits.pids),
            "RLIMIT_NPROC",
        )?;
        set(Resource::RLIMIT_AS, limits.memory.as_u64(), "RLIMIT_AS")?;
    }
    Ok(())
}

/// The CPU-time limit of one command (set in the command's process before exec): `SIGXCPU` at
/// the limit, `SIGKILL` a second later.
pub(crate) fn apply_cpu(limits: &Limits) -> nix::Result<()> {
    let secs = limits.cpu_time.as_secs().max(1);
    setrlimit(Resource::RLIMIT_CPU, secs, secs + 1)
}
