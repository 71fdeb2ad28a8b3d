//! Sandboxes of AegisClaw, and what the host can offer them.
//!
//! [`HostReport::detect`] inspects the kernel and the machine (user namespaces, Landlock,
//! seccomp, cgroups, a Docker engine and its runtimes, KVM, QEMU) so that `aegisclaw init` can
//! recommend a backend and `aegisclaw doctor` can say which protection layers are available.

// The host probe issues raw syscalls (Landlock ABI query, unshare in a child) that have no safe
// wrapper in a maintained crate; every block carries its SAFETY argument.
#![allow(unsafe_code)]

mod host;

pub use host::{CgroupInfo, CgroupVersion, DockerInfo, HostReport, Probe};
