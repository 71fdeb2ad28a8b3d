//! Network attacks: TCP, UDP, ICMP, raw and packet sockets, Unix and abstract sockets, DNS.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::{check, emit, os_err};

const PAYLOAD: &[u8] = b"aegisclaw-probe-egress\n";

pub(super) fn run(op: &str, value: &str) -> bool {
    match op {
        "tcp" => emit(op, value, tcp(value)),
        "udp" => emit(op, value, udp(value, PAYLOAD)),
        "dns" => {
            // `ADDR>NAME`: a DNS query for NAME sent straight to ADDR.
            let (addr, name) = value
                .split_once('>')
                .unwrap_or((value, "probe.canary.test"));
            emit(op, value, udp(addr, &dns_query(name)));
        }
        "resolve" => emit(
            op,
            value,
            (value, 80)
                .to_socket_addrs()
                .map(|a| a.map(|s| s.to_string()).collect::<Vec<_>>().join(","))
                .map_err(|e| e.to_string()),
        ),
        "unix" => emit(
            op,
            value,
            UnixStream::connect(value)
                .and_then(|mut s| s.write_all(PAYLOAD))
                .map(|()| "connected and sent".into())
                .map_err(|e| e.to_string()),
        ),
        "abstract" => emit(op, value, abstract_connect(value)),
        "socket" => emit(op, value, socket(value)),
        _ => return false,
    }
    true
}

fn tcp(addr: &str) -> Result<String, String> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("bad address: {e}"))?;
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.write_all(PAYLOAD).map_err(|e| e.to_string())?;
    Ok("connected and sent".into())
}

fn udp(addr: &str, payload: &[u8]) -> Result<String, String> {
    let addr: SocketAddr = addr.parse().map_err(|e| format!("bad address: {e}"))?;
    let local = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let s = UdpSocket::bind(local).map_err(|e| e.to_string())?;
    s.send_to(payload, addr)
        .map(|n| format!("sent {n} bytes"))
        .map_err(|e| e.to_string())
}

fn abstract_connect(name: &str) -> Result<String, String> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut s = UnixStream::connect_addr(&addr).map_err(|e| e.to_string())?;
    s.write_all(PAYLOAD).map_err(|e| e.to_string())?;
    Ok("connected and sent".into())
}

/// `FAMILY/TYPE/PROTOCOL` by name: inet/raw/icmp, inet/dgram/icmp (ping), inet6/raw/icmpv6,
/// packet/raw/all, netlink/raw/route, vsock/stream/0, inet/raw/raw.
fn socket(spec: &str) -> Result<String, String> {
    let mut parts = spec.split('/');
    let family = match parts.next().unwrap_or_default() {
        "inet" => libc::AF_INET,
        "inet6" => libc::AF_INET6,
        "packet" => libc::AF_PACKET,
        "netlink" => libc::AF_NETLINK,
        "vsock" => libc::AF_VSOCK,
        "unix" => libc::AF_UNIX,
        other => return Err(format!("unknown family {other}")),
    };
    let kind = match parts.next().unwrap_or_default() {
        "raw" => libc::SOCK_RAW,
        "dgram" => libc::SOCK_DGRAM,
        _ => libc::SOCK_STREAM,
    };
    let protocol = match parts.next().unwrap_or_default() {
        "icmp" => libc::IPPROTO_ICMP,
        "icmpv6" => libc::IPPROTO_ICMPV6,
        "raw" => libc::IPPROTO_RAW,
        "all" => i32::from((libc::ETH_P_ALL as u16).to_be()),
        _ => 0,
    };
    // SAFETY: socket(2) with integer arguments.
    let fd = unsafe { libc::socket(family, kind, protocol) };
    if fd < 0 {
        return Err(os_err());
    }
    // SAFETY: closing the descriptor just created.
    unsafe { libc::close(fd) };
    check(i64::from(fd), |_| "socket created".into())
}

/// A minimal DNS A query for `name`.
fn dns_query(name: &str) -> Vec<u8> {
    let mut q = vec![0x13, 0x37, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len().min(63) as u8);
        q.extend(label.bytes().take(63));
    }
    q.extend([0, 0, 1, 0, 1]);
    q
}
