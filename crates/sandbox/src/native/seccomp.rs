//! The seccomp filters, in two parts installed in this order:
//!
//! 1. A small hand-written **prelude**: anything but the native architecture (i386 `int 0x80`,
//!    x32 numbers) kills the process; `clone3` and `openat2` fail with `ENOSYS`, so that libc
//!    falls back to `clone` and `openat`, whose flags the main filter can inspect (clone3 and
//!    openat2 pass them in memory, out of a filter's reach).
//! 2. The **main filter** (built with `seccompiler`): the deny list of the escape-test
//!    specification. A denied call is answered by the launcher through a `USER_NOTIF` listener,
//!    always with `EPERM` — the listener only *observes* (it never lets a call through), so that
//!    the run can report which calls were refused. If the launcher is gone, the kernel fails
//!    those calls with `ENOSYS`: still denied.
//!
//! `seccompiler` has no `USER_NOTIF` action, so the main filter is compiled with a sentinel
//! `SECCOMP_RET_TRACE` value that is then rewritten (only `BPF_RET` instructions returning exactly
//! that value are touched).

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op,
    SeccompCondition as Cond, SeccompFilter, SeccompRule, TargetArch,
};

use crate::spec::NetworkMode;

// Classic BPF opcodes.
/// `BPF_LD | BPF_W | BPF_ABS`.
const BPF_LD_W_ABS: u16 = 0x20;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JMP_JSET_K: u16 = 0x05 | 0x40;
const BPF_RET_K: u16 = 0x06;
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

#[cfg(target_arch = "x86_64")]
const NATIVE_ARCH: u32 = 62 | 0x8000_0000 | 0x4000_0000;
#[cfg(target_arch = "aarch64")]
const NATIVE_ARCH: u32 = 183 | 0x8000_0000 | 0x4000_0000;
#[cfg(target_arch = "x86_64")]
const TARGET: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const TARGET: TargetArch = TargetArch::aarch64;

/// x32 system calls carry this bit in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// The rewritten sentinel: `SECCOMP_RET_TRACE | 0x0ac1`.
const SENTINEL: u32 = 0x7ff0_0000 | 0x0ac1;

const SYS_OPEN_TREE_ATTR: i64 = 467;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The prelude filter (see the module documentation).
pub(crate) fn prelude() -> Vec<libc::sock_filter> {
    let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    vec![
        stmt(BPF_LD_W_ABS, OFFSET_ARCH),
        jump(BPF_JMP_JEQ_K, NATIVE_ARCH, 1, 0),
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, OFFSET_NR),
        jump(BPF_JMP_JSET_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        jump(BPF_JMP_JEQ_K, libc::SYS_clone3 as u32, 0, 1),
        stmt(BPF_RET_K, enosys),
        jump(BPF_JMP_JEQ_K, libc::SYS_openat2 as u32, 0, 1),
        stmt(BPF_RET_K, enosys),
        stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Calls denied whatever their arguments.
const ALWAYS_DENIED: &[(&str, i64)] = &[
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    ("kcmp", libc::SYS_kcmp),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("kexec_load", libc::SYS_kexec_load),
    #[cfg(target_arch = "x86_64")]
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("chroot", libc::SYS_chroot),
    ("fsopen", libc::SYS_fsopen),
    ("fsconfig", libc::SYS_fsconfig),
    ("fsmount", libc::SYS_fsmount),
    ("fspick", libc::SYS_fspick),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("open_tree_attr", SYS_OPEN_TREE_ATTR),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("setns", libc::SYS_setns),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    ("acct", libc::SYS_acct),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("reboot", libc::SYS_reboot),
    ("settimeofday", libc::SYS_settimeofday),
    ("clock_settime", libc::SYS_clock_settime),
    ("clock_adjtime", libc::SYS_clock_adjtime),
    ("sethostname", libc::SYS_sethostname),
    ("setdomainname", libc::SYS_setdomainname),
    ("syslog", libc::SYS_syslog),
    ("quotactl", libc::SYS_quotactl),
    ("quotactl_fd", libc::SYS_quotactl_fd),
    ("vhangup", libc::SYS_vhangup),
    ("fanotify_init", libc::SYS_fanotify_init),
    ("lookup_dcookie", libc::SYS_lookup_dcookie),
    #[cfg(target_arch = "x86_64")]
    ("iopl", libc::SYS_iopl),
    #[cfg(target_arch = "x86_64")]
    ("ioperm", libc::SYS_ioperm),
    #[cfg(target_arch = "x86_64")]
    ("uselib", libc::SYS_uselib),
    #[cfg(target_arch = "x86_64")]
    ("ustat", libc::SYS_ustat),
    #[cfg(target_arch = "x86_64")]
    ("sysfs", libc::SYS_sysfs),
    #[cfg(target_arch = "x86_64")]
    ("_sysctl", libc::SYS__sysctl),
    #[cfg(target_arch = "x86_64")]
    ("nfsservctl", libc::SYS_nfsservctl),
];

/// The names of every call the main filter may deny, for reports.
pub(crate) fn syscall_name(nr: i64) -> String {
    ALWAYS_DENIED
        .iter()
        .chain(CONDITIONAL)
        .find(|(_, n)| *n == nr)
        .map_or_else(|| format!("syscall_{nr}"), |(name, _)| (*name).to_string())
}

/// Calls denied only for some arguments (see [`main_filter`]).
const CONDITIONAL: &[(&str, i64)] = &[
    ("clone", libc::SYS_clone),
    ("unshare", libc::SYS_unshare),
    ("socket", libc::SYS_socket),
    ("socketpair", libc::SYS_socketpair),
    ("ioctl", libc::SYS_ioctl),
    ("personality", libc::SYS_personality),
    ("execveat", libc::SYS_execveat),
    ("memfd_create", libc::SYS_memfd_create),
    ("seccomp", libc::SYS_seccomp),
    ("prctl", libc::SYS_prctl),
    #[cfg(target_arch = "x86_64")]
    ("chmod", libc::SYS_chmod),
    ("fchmod", libc::SYS_fchmod),
    ("fchmodat", libc::SYS_fchmodat),
    ("fchmodat2", libc::SYS_fchmodat2),
    #[cfg(target_arch = "x86_64")]
    ("open", libc::SYS_open),
    ("openat", libc::SYS_openat),
    #[cfg(target_arch = "x86_64")]
    ("creat", libc::SYS_creat),
    #[cfg(target_arch = "x86_64")]
    ("mknod", libc::SYS_mknod),
    ("mknodat", libc::SYS_mknodat),
];

/// Namespace flags no process in the sandbox may create.
const NAMESPACE_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWCGROUP as u64,
];

/// `personality(2)` values allowed (the ones Docker's default profile allows).
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

fn cond(arg: u8, len: Len, op: Op, value: u64) -> Result<Cond, seccompiler::BackendError> {
    Cond::new(arg, len, op, value)
}

fn rule(conds: Vec<Cond>) -> Result<SeccompRule, seccompiler::BackendError> {
    SeccompRule::new(conds)
}

/// A rule per flag: matches when `arg` has `flag` set.
fn any_flag(arg: u8, flags: &[u64]) -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
    flags
        .iter()
        .map(|f| rule(vec![cond(arg, Len::Qword, Op::MaskedEq(*f), *f)?]))
        .collect()
}

/// Matches a mode argument with the set-user-ID or set-group-ID bit (the sandbox could otherwise
/// leave a set-uid file owned by the invoking user in a granted path).
fn setid_mode(arg: u8, extra: Option<Cond>) -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
    [libc::S_ISUID as u64, libc::S_ISGID as u64]
        .iter()
        .map(|bit| {
            let mut conds = vec![cond(arg, Len::Dword, Op::MaskedEq(*bit), *bit)?];
            conds.extend(extra.clone());
            rule(conds)
        })
        .collect()
}

/// The main filter (see the module documentation). `notify` selects the USER_NOTIF sentinel;
/// without it denied calls fail with `EPERM` directly.
pub(crate) fn main_filter(
    network: &NetworkMode,
    allow_memfd: bool,
    notify: bool,
) -> Result<Vec<libc::sock_filter>, String> {
    build(network, allow_memfd, notify)
        .map_err(|e| format!("cannot compile the seccomp filter: {e}"))
}

fn build(
    network: &NetworkMode,
    allow_memfd: bool,
    notify: bool,
) -> Result<Vec<libc::sock_filter>, Box<dyn std::error::Error>> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (_, nr) in ALWAYS_DENIED {
        rules.insert(*nr, Vec::new());
    }
    rules.insert(libc::SYS_clone, any_flag(0, NAMESPACE_FLAGS)?);
    let mut unshare_flags = NAMESPACE_FLAGS.to_vec();
    unshare_flags.push(libc::CLONE_NEWTIME as u64);
    rules.insert(libc::SYS_unshare, any_flag(0, &unshare_flags)?);
    // Socket families: AF_UNIX only (the proxied mode reaches its proxy over a Unix socket).
    let _ = network;
    let not_unix = || rule(vec![cond(0, Len::Dword, Op::Ne, libc::AF_UNIX as u64)?]);
    rules.insert(libc::SYS_socket, vec![not_unix()?]);
    rules.insert(libc::SYS_socketpair, vec![not_unix()?]);
    rules.insert(
        libc::SYS_ioctl,
        vec![
            rule(vec![cond(1, Len::Dword, Op::Eq, libc::TIOCSTI)?])?,
            rule(vec![cond(1, Len::Dword, Op::Eq, libc::TIOCLINUX)?])?,
        ],
    );
    rules.insert(
        libc::SYS_personality,
        vec![rule(
            PERSONALITIES
                .iter()
                .map(|p| cond(0, Len::Dword, Op::Ne, *p))
                .collect::<Result<_, _>>()?,
        )?],
    );
    rules.insert(
        libc::SYS_execveat,
        any_flag(4, &[libc::AT_EMPTY_PATH as u64])?,
    );
    if !allow_memfd {
        rules.insert(libc::SYS_memfd_create, Vec::new());
    }
    rules.insert(
        libc::SYS_seccomp,
        vec![rule(vec![cond(
            0,
            Len::Dword,
            Op::Eq,
            libc::SECCOMP_SET_MODE_FILTER as u64,
        )?])?],
    );
    rules.insert(
        libc::SYS_prctl,
        vec![rule(vec![cond(
            0,
            Len::Dword,
            Op::Eq,
            libc::PR_SET_SECCOMP as u64,
        )?])?],
    );
    let creating = |flags_arg: u8| -> Result<Vec<Cond>, seccompiler::BackendError> {
        Ok(vec![
            cond(
                flags_arg,
                Len::Dword,
                Op::MaskedEq(libc::O_CREAT as u64),
                libc::O_CREAT as u64,
            )?,
            cond(flags_arg, Len::Dword, Op::MaskedEq(0x40_0000), 0x40_0000)?, // __O_TMPFILE
        ])
    };
    #[cfg(target_arch = "x86_64")]
    {
        rules.insert(libc::SYS_chmod, setid_mode(1, None)?);
        rules.insert(libc::SYS_creat, setid_mode(1, None)?);
        rules.insert(libc::SYS_mknod, setid_mode(1, None)?);
        let mut open = Vec::new();
        for c in creating(1)? {
            open.extend(setid_mode(2, Some(c))?);
        }
        rules.insert(libc::SYS_open, open);
    }
    rules.insert(libc::SYS_fchmod, setid_mode(1, None)?);
    rules.insert(libc::SYS_fchmodat, setid_mode(2, None)?);
    rules.insert(libc::SYS_fchmodat2, setid_mode(2, None)?);
    rules.insert(libc::SYS_mknodat, setid_mode(2, None)?);
    let mut openat = Vec::new();
    for c in creating(2)? {
        openat.extend(setid_mode(3, Some(c))?);
    }
    rules.insert(libc::SYS_openat, openat);

    let action = if notify {
        SeccompAction::Trace(SENTINEL & 0xffff)
    } else {
        SeccompAction::Errno(libc::EPERM as u32)
    };
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, action, TARGET)?;
    let program: BpfProgram = filter.try_into()?;
    Ok(program
        .into_iter()
        .map(|i| {
            let k = if notify && i.code == BPF_RET_K && i.k == SENTINEL {
                libc::SECCOMP_RET_USER_NOTIF
            } else {
                i.k
            };
            libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentinel_becomes_user_notif_and_nothing_else_changes() {
        let notify = main_filter(&NetworkMode::None, false, true).unwrap();
        let errno = main_filter(&NetworkMode::None, false, false).unwrap();
        assert_eq!(notify.len(), errno.len());
        let notifs = notify
            .iter()
            .filter(|i| i.k == libc::SECCOMP_RET_USER_NOTIF)
            .count();
        assert!(notifs > ALWAYS_DENIED.len(), "{notifs}");
        assert!(
            !notify
                .iter()
                .any(|i| i.code == BPF_RET_K && i.k == SENTINEL)
        );
        for (a, b) in notify.iter().zip(&errno) {
            if a.k != b.k {
                assert_eq!(a.k, libc::SECCOMP_RET_USER_NOTIF);
                assert_eq!(b.k, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32);
            }
        }
    }

    #[test]
    fn memfd_is_a_profile_switch() {
        let strict = main_filter(&NetworkMode::None, false, false).unwrap();
        let lax = main_filter(&NetworkMode::None, true, false).unwrap();
        assert!(lax.len() < strict.len());
    }

    #[test]
    fn names_of_denied_calls_are_known() {
        assert_eq!(syscall_name(libc::SYS_mount), "mount");
        assert_eq!(syscall_name(libc::SYS_socket), "socket");
        assert_eq!(syscall_name(99_999), "syscall_99999");
    }

    #[test]
    fn prelude_kills_foreign_architectures_first() {
        let p = prelude();
        assert_eq!(p[0].k, OFFSET_ARCH);
        assert_eq!(p[2].k, libc::SECCOMP_RET_KILL_PROCESS);
        assert_eq!(p.last().unwrap().k, libc::SECCOMP_RET_ALLOW);
    }
}
