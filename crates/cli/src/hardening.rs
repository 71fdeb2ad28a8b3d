//! Self-protection of the runtime process, applied first thing in `main`.
//!
//! Another process of the same user (an agent, say) must not read our memory or environment
//! through `/proc/<pid>/mem` or `environ`, and a crash must not leave a core file holding
//! secrets. Variables that make the dynamic loader run foreign code are dropped so that no child
//! inherits them.
#![allow(unsafe_code)]

const LOADER_VARIABLES: &[&str] = &[
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "LD_DEBUG",
    "LD_PROFILE",
    "MALLOC_CHECK_",
];

pub(crate) fn harden_process() {
    // SAFETY: plain syscalls with integer or pointer-to-local arguments.
    unsafe {
        // New files and directories are private unless we say otherwise.
        libc::umask(0o077);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
    }
    for name in LOADER_VARIABLES {
        if std::env::var_os(name).is_some() {
            // SAFETY: called at the top of main, before any thread exists.
            unsafe { std::env::remove_var(name) };
        }
    }
}
