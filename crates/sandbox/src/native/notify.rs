//! The launcher's side of the seccomp `USER_NOTIF` listener: every denied system call arrives
//! here, is answered with `EPERM` (never allowed — this is an observer, not a decision point)
//! and recorded as a denial of the run.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::native::seccomp::syscall_name;
use crate::report::Denial;

/// At most this many distinct denials are kept per command (counts keep growing).
const MAX_DISTINCT: usize = 128;

#[derive(Debug)]
pub(crate) struct Notifier {
    fd: OwnedFd,
    seen: BTreeMap<(Kind, String, String), u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Syscall,
    Network,
}

impl Notifier {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            seen: BTreeMap::new(),
        }
    }

    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Receives one notification, denies it, records it. A notification whose caller died
    /// meanwhile is skipped.
    pub(crate) fn handle(&mut self) -> io::Result<()> {
        // SAFETY: seccomp_notif is plain data; the kernel requires it zeroed before RECV.
        let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: the ioctl writes one seccomp_notif into `notif`.
        let ret = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut notif,
            )
        };
        if ret < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOENT) | Some(libc::EINTR) => Ok(()),
                _ => Err(e),
            };
        }
        let mut resp = libc::seccomp_notif_resp {
            id: notif.id,
            val: 0,
            error: -libc::EPERM,
            flags: 0,
        };
        // SAFETY: the ioctl reads one seccomp_notif_resp from `resp`.
        unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &mut resp,
            )
        };
        let nr = i64::from(notif.data.nr);
        let process = std::fs::read_to_string(format!("/proc/{}/comm", notif.pid))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| format!("pid {}", notif.pid));
        let key = if nr == libc::SYS_socket || nr == libc::SYS_socketpair {
            (Kind::Network, family_name(notif.data.args[0]), process)
        } else {
            (Kind::Syscall, syscall_name(nr), process)
        };
        if let Some(count) = self.seen.get_mut(&key) {
            *count = count.saturating_add(1);
        } else if self.seen.len() < MAX_DISTINCT {
            self.seen.insert(key, 1);
        }
        Ok(())
    }

    /// The denials recorded since the last call.
    pub(crate) fn take(&mut self) -> Vec<Denial> {
        std::mem::take(&mut self.seen)
            .into_iter()
            .map(|((kind, what, process), count)| match kind {
                Kind::Syscall => Denial::Syscall {
                    syscall: what,
                    process,
                    count,
                },
                Kind::Network => Denial::Network {
                    family: what,
                    process,
                    count,
                },
            })
            .collect()
    }
}

fn family_name(domain: u64) -> String {
    match domain as i32 {
        libc::AF_INET => "inet".into(),
        libc::AF_INET6 => "inet6".into(),
        libc::AF_PACKET => "packet".into(),
        libc::AF_NETLINK => "netlink".into(),
        libc::AF_VSOCK => "vsock".into(),
        libc::AF_BLUETOOTH => "bluetooth".into(),
        libc::AF_ALG => "alg".into(),
        libc::AF_XDP => "xdp".into(),
        other => format!("family {other}"),
    }
}
