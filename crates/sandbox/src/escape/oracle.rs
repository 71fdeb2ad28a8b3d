//! Host-side oracles: canary listeners that must receive nothing, canary files whose content
//! must not change, canary processes that must survive, and scans for marker processes that
//! must not outlive a sandbox. They live in the host process, out of the attacker's reach.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::internal::PROBE_ARG;

/// A fresh random token (32 hex digits).
pub(crate) fn token() -> String {
    let mut bytes = [0u8; 16];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = (t ^ u128::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Listeners on every address a sandbox could try to reach. Anything they receive is an escape.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    tcp: Vec<(String, TcpListener)>,
    udp: Vec<(String, UdpSocket)>,
    unix: Vec<(String, UnixListener)>,
}

impl Listeners {
    /// A TCP listener on `ip` (any port); its address, when the host has that address.
    pub(crate) fn tcp(&mut self, ip: IpAddr) -> Option<SocketAddr> {
        let l = TcpListener::bind(SocketAddr::new(ip, 0)).ok()?;
        l.set_nonblocking(true).ok()?;
        let addr = l.local_addr().ok()?;
        self.tcp.push((format!("tcp {addr}"), l));
        Some(addr)
    }

    pub(crate) fn udp(&mut self, ip: IpAddr) -> Option<SocketAddr> {
        let s = UdpSocket::bind(SocketAddr::new(ip, 0)).ok()?;
        s.set_nonblocking(true).ok()?;
        let addr = s.local_addr().ok()?;
        self.udp.push((format!("udp {addr}"), s));
        Some(addr)
    }

    pub(crate) fn unix(&mut self, path: &Path) -> bool {
        let _ = std::fs::remove_file(path);
        match UnixListener::bind(path) {
            Ok(l) if l.set_nonblocking(true).is_ok() => {
                self.unix.push((format!("unix {}", path.display()), l));
                true
            }
            _ => false,
        }
    }

    pub(crate) fn abstract_socket(&mut self, name: &str) -> bool {
        use std::os::linux::net::SocketAddrExt;
        let bound = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .and_then(|a| UnixListener::bind_addr(&a));
        match bound {
            Ok(l) if l.set_nonblocking(true).is_ok() => {
                self.unix.push((format!("abstract @{name}"), l));
                true
            }
            _ => false,
        }
    }

    /// Every listener's name.
    pub(crate) fn names(&self) -> Vec<String> {
        self.tcp
            .iter()
            .map(|(n, _)| n.clone())
            .chain(self.udp.iter().map(|(n, _)| n.clone()))
            .chain(self.unix.iter().map(|(n, _)| n.clone()))
            .collect()
    }

    /// What reached any listener (connections, bytes, datagrams); empty when nothing did.
    /// Connections complete in the kernel's backlog and data waits in buffers, so draining
    /// after the run sees everything the sandbox managed to send.
    pub(crate) fn received(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for (name, l) in &self.tcp {
            while let Ok((mut s, peer)) = l.accept() {
                let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf);
                seen.push(format!(
                    "{name}: connection from {peer}, {} bytes",
                    buf.len()
                ));
            }
        }
        for (name, s) in &self.udp {
            let mut buf = [0u8; 2048];
            while let Ok((n, peer)) = s.recv_from(&mut buf) {
                seen.push(format!("{name}: datagram of {n} bytes from {peer}"));
            }
        }
        for (name, l) in &self.unix {
            while let Ok((mut s, _)) = l.accept() {
                let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf);
                seen.push(format!("{name}: connection, {} bytes", buf.len()));
            }
        }
        seen
    }
}

/// The host's own addresses (loopback and every interface's), IPv4 and IPv6.
pub(crate) fn host_addresses() -> Vec<IpAddr> {
    let mut addrs = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    if UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok() {
        addrs.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
    }
    if let Ok(ifs) = nix::ifaddrs::getifaddrs() {
        for i in ifs {
            let Some(a) = i.address else { continue };
            let ip = if let Some(v4) = a.as_sockaddr_in() {
                IpAddr::V4(v4.ip())
            } else if let Some(v6) = a.as_sockaddr_in6() {
                // Link-local addresses need a scope; skip them.
                if v6.ip().segments()[0] & 0xffc0 == 0xfe80 {
                    continue;
                }
                IpAddr::V6(v6.ip())
            } else {
                continue;
            };
            if !ip.is_loopback() && !addrs.contains(&ip) {
                addrs.push(ip);
            }
        }
    }
    addrs
}

/// Files whose content must not change (and directories whose listing must not change).
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    files: BTreeMap<PathBuf, Option<Vec<u8>>>,
    dirs: BTreeMap<PathBuf, Option<Vec<String>>>,
}

fn listing(dir: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Some(names)
}

impl Snapshot {
    pub(crate) fn file(&mut self, path: impl Into<PathBuf>) {
        let path = path.into();
        let content = std::fs::read(&path).ok();
        self.files.insert(path, content);
    }

    pub(crate) fn dir(&mut self, path: impl Into<PathBuf>) {
        let path = path.into();
        let names = listing(&path);
        self.dirs.insert(path, names);
    }

    /// What changed since the snapshot.
    pub(crate) fn changes(&self) -> Vec<String> {
        let mut changed = Vec::new();
        for (path, before) in &self.files {
            let now = std::fs::read(path).ok();
            if &now != before {
                changed.push(format!("{} changed", path.display()));
            }
        }
        for (path, before) in &self.dirs {
            let now = listing(path);
            if &now != before {
                let added: Vec<_> = now
                    .iter()
                    .flatten()
                    .filter(|n| !before.iter().flatten().any(|b| b == *n))
                    .cloned()
                    .collect();
                changed.push(format!("{} now also holds {added:?}", path.display()));
            }
        }
        changed
    }
}

/// A host process that must survive the sandbox (it carries a marker in its command line and a
/// token in its environment).
#[derive(Debug)]
pub(crate) struct CanaryProcess {
    child: Child,
}

impl CanaryProcess {
    pub(crate) fn start(probe: &Path, marker: &str, env_token: &str) -> std::io::Result<Self> {
        let child = Command::new(probe)
            .arg(PROBE_ARG)
            .arg(format!("tag={marker}"))
            .arg("idle=120")
            .env_clear()
            .env("AEGISCLAW_CANARY_TOKEN", env_token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self { child })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Alive and not traced.
    pub(crate) fn intact(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(status)) => return Err(format!("it died ({status})")),
            Err(e) => return Err(format!("cannot check it: {e}")),
            Ok(None) => {}
        }
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        match status.lines().find_map(|l| l.strip_prefix("TracerPid:")) {
            Some(t) if t.trim() != "0" => Err(format!("it is being traced by pid {}", t.trim())),
            _ => Ok(()),
        }
    }
}

impl Drop for CanaryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Host processes whose command line contains `marker`.
pub(crate) fn processes_with(marker: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id().to_string();
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
                return None;
            }
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(marker)
                .then(|| format!("{pid}: {}", cmd.trim()))
        })
        .collect()
}

/// Available memory of the host, from /proc/meminfo.
pub(crate) fn mem_available() -> Option<u64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Free space (bytes available to unprivileged users) of the filesystem holding `path`.
pub(crate) fn free_space(path: &Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    Some(st.blocks_available() * st.fragment_size())
}
