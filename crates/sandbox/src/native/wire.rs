//! Messages between the host library, the launcher and the sandbox's init.
//!
//! Each message is one `SOCK_SEQPACKET` datagram: a JSON header, a newline, then an optional raw
//! payload (secret values travel there, never in JSON), with file descriptors attached as
//! `SCM_RIGHTS`. Receive buffers are zeroed after use.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    self, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::WireError;
use crate::report::{Degraded, ExecReport, ExitStatus};
use crate::spec::{ExecSpec, SandboxSpec};

/// The largest datagram (header + payload) either side sends.
pub(crate) const MAX_MESSAGE: usize = 192 * 1024;
/// At most this many descriptors ride on one message.
const MAX_FDS: usize = 8;

/// One end of a `SOCK_SEQPACKET` socket pair.
#[derive(Debug)]
pub(crate) struct Channel {
    fd: OwnedFd,
}

/// A received message with its payload and descriptors.
#[derive(Debug)]
pub(crate) struct Received<T> {
    pub(crate) msg: T,
    pub(crate) payload: Zeroizing<Vec<u8>>,
    pub(crate) fds: Vec<OwnedFd>,
}

impl Channel {
    /// A connected pair, both ends close-on-exec.
    pub(crate) fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = socket::socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        Ok((Self { fd: a }, Self { fd: b }))
    }

    /// Wraps a descriptor known to be one end of a `SOCK_SEQPACKET` pair.
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        Self { fd }
    }

    pub(crate) fn into_fd(self) -> OwnedFd {
        self.fd
    }

    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            fd: self.fd.try_clone()?,
        })
    }

    pub(crate) fn send<T: Serialize>(
        &self,
        msg: &T,
        payload: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<()> {
        let mut header = serde_json::to_vec(msg).map_err(io::Error::other)?;
        header.push(b'\n');
        if header.len() + payload.len() > MAX_MESSAGE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "message of {} bytes exceeds the {MAX_MESSAGE}-byte limit (shorten the command line or environment)",
                    header.len() + payload.len()
                ),
            ));
        }
        let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        let iov = [IoSlice::new(&header), IoSlice::new(payload)];
        let cmsgs = [ControlMessage::ScmRights(&raw)];
        let cmsgs: &[ControlMessage<'_>] = if raw.is_empty() { &[] } else { &cmsgs };
        loop {
            match socket::sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receives one message; `None` when the other end has closed.
    pub(crate) fn recv<T: DeserializeOwned>(&self) -> io::Result<Option<Received<T>>> {
        let mut buf = Zeroizing::new(vec![0u8; MAX_MESSAGE]);
        let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS]);
        let (len, fds) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match socket::recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(m) => {
                    let mut fds = Vec::new();
                    for c in m.cmsgs().map_err(io::Error::from)? {
                        if let ControlMessageOwned::ScmRights(raw) = c {
                            for fd in raw {
                                // SAFETY: SCM_RIGHTS hands us new descriptors that we now own.
                                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                            }
                        }
                    }
                    if m.flags.contains(MsgFlags::MSG_TRUNC) {
                        return Err(io::Error::other("a control message was truncated"));
                    }
                    break (m.bytes, fds);
                }
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if len == 0 {
            return Ok(None);
        }
        let data = &buf[..len];
        let split = data
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| io::Error::other("a control message has no header"))?;
        let msg = serde_json::from_slice(&data[..split]).map_err(io::Error::other)?;
        let payload = Zeroizing::new(data[split + 1..].to_vec());
        Ok(Some(Received { msg, payload, fds }))
    }

    /// Like [`Channel::recv`], but a closed channel is an error.
    pub(crate) fn expect<T: DeserializeOwned>(&self, what: &str) -> io::Result<Received<T>> {
        self.recv()?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the other side closed the channel while {what}"),
            )
        })
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Which standard streams of a command arrive as descriptors, in the order 0, 1, 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StreamFds {
    pub(crate) stdin: bool,
    pub(crate) stdout: bool,
    pub(crate) stderr: bool,
}

/// A simulated missing kernel feature (the escape suite's fail-closed case E30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimulatedFault {
    /// Landlock system calls fail with ENOSYS, as on a kernel without Landlock.
    LandlockMissing,
    /// seccomp filter installation fails with EINVAL, as on a kernel without filter mode.
    SeccompMissing,
    /// User namespace creation fails with EPERM, as with `user.max_user_namespaces = 0`.
    UserNamespacesDisabled,
}

/// Host → launcher.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum HostMsg {
    /// First message: what to build. Secret files follow as `Secret` messages, then
    /// `SecretsDone`.
    Setup {
        spec: Box<SandboxSpec>,
        fault: Option<SimulatedFault>,
        /// The uid range a root launcher allocates sandbox uids from.
        uid_range: (u32, u32),
        /// Where a root launcher keeps its uid allocation locks.
        state_dir: String,
        /// Tear the sandbox down as soon as the first command ends.
        one_shot: bool,
        /// How many `Secret` messages follow.
        secret_count: usize,
    },
    /// One secret file; its value is the payload.
    Secret {
        name: String,
    },
    SecretsDone,
    /// Start a command; the streams flagged in `fds` are attached in order.
    Exec {
        exec: Box<ExecSpec>,
        fds: StreamFds,
    },
    /// Kill every process in the sandbox.
    Kill,
    /// Tear down and exit.
    Destroy,
}

/// Launcher → host.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum LauncherMsg {
    /// The sandbox is up. `leftovers` are the directories (the run's cgroups) the host removes
    /// if the launcher dies before it can.
    Ready {
        degraded: Vec<Degraded>,
        leftovers: Vec<String>,
    },
    Failed(WireError),
    Started,
    ExecFailed(WireError),
    Exited(ExecReport),
    Destroyed,
}

/// Launcher → init.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ToInit {
    /// The cgroup placement is done; build the sandbox.
    Go,
    /// The uid/gid maps of init's new user namespace are written.
    MapsWritten,
    Secret {
        name: String,
    },
    SecretsDone,
    Exec {
        exec: Box<ExecSpec>,
        fds: StreamFds,
    },
    /// Kill every process but init.
    KillAll,
}

/// Init → launcher.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum FromInit {
    /// Init created a user namespace; the launcher writes its maps.
    WriteMaps,
    /// Init is ready for the secret files.
    WantSecrets,
    /// The seccomp notification listener is attached.
    Listener,
    Ready {
        degraded: Vec<Degraded>,
    },
    Failed(WireError),
    Started,
    ExecFailed(WireError),
    Exited {
        status: ExitStatus,
    },
}
