//! Simulated missing kernel features, for the escape suite's fail-closed case (E30).
//!
//! The launcher installs a seccomp filter on itself (inherited by init) under which the kernel
//! refuses the feature exactly as a kernel without it would: the sandbox's own code paths then
//! meet a real failure, and must refuse the run unless that layer was explicitly allowed to
//! degrade. A simulation only ever removes abilities.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::native::sys;
use crate::native::wire::SimulatedFault;

#[cfg(target_arch = "x86_64")]
const TARGET: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const TARGET: TargetArch = TargetArch::aarch64;

/// Installs the filter that simulates `fault` on the calling process.
pub(crate) fn simulate(fault: SimulatedFault) -> Result<(), Box<dyn std::error::Error>> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let errno = match fault {
        SimulatedFault::LandlockMissing => {
            for nr in [
                libc::SYS_landlock_create_ruleset,
                libc::SYS_landlock_add_rule,
                libc::SYS_landlock_restrict_self,
            ] {
                rules.insert(nr, Vec::new());
            }
            libc::ENOSYS
        }
        SimulatedFault::SeccompMissing => {
            let filter_mode = |arg| {
                SeccompRule::new(vec![SeccompCondition::new(
                    arg,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::Eq,
                    libc::SECCOMP_SET_MODE_FILTER as u64,
                )?])
            };
            rules.insert(libc::SYS_seccomp, vec![filter_mode(0)?]);
            libc::EINVAL
        }
        SimulatedFault::UserNamespacesDisabled => {
            let newuser = |arg| {
                SeccompRule::new(vec![SeccompCondition::new(
                    arg,
                    SeccompCmpArgLen::Qword,
                    SeccompCmpOp::MaskedEq(libc::CLONE_NEWUSER as u64),
                    libc::CLONE_NEWUSER as u64,
                )?])
            };
            rules.insert(libc::SYS_clone, vec![newuser(0)?]);
            rules.insert(libc::SYS_unshare, vec![newuser(0)?]);
            // user.max_user_namespaces = 0 answers ENOSPC.
            libc::ENOSPC
        }
    };
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        TARGET,
    )?;
    let program: BpfProgram = filter.try_into()?;
    let program: Vec<libc::sock_filter> = program
        .into_iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    // Unprivileged filters need no_new_privs; the launcher never gains privileges by exec.
    nix::sys::prctl::set_no_new_privs()?;
    sys::seccomp_filter(0, &program)?;
    Ok(())
}
