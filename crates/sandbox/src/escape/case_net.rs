//! E06–E11 and E28: direct egress, the proxy cases (with no proxy: nothing may leave), DNS,
//! host Unix and abstract sockets, host loopback services.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::oracle::{Listeners, host_addresses, token};
use super::{Ctx, Probed, is_root};

/// Listeners on every host address (TCP and UDP); the probe's ops for them.
fn everywhere(listeners: &mut Listeners) -> Vec<String> {
    let mut ops = Vec::new();
    for ip in host_addresses() {
        if let Some(a) = listeners.tcp(ip) {
            ops.push(format!("tcp={a}"));
        }
        if let Some(a) = listeners.udp(ip) {
            ops.push(format!("udp={a}"));
        }
    }
    ops
}

fn nothing_received(ctx: &mut Ctx<'_>, listeners: &Listeners) {
    let names = listeners.names();
    ctx.none(
        "canary listeners received zero bytes",
        listeners.received(),
        format!("{} listener(s): {}", names.len(), names.join(", ")),
    );
}

fn network_denial_logged(ctx: &mut Ctx<'_>, probed: &Probed) {
    let logged = probed
        .denied_syscalls()
        .iter()
        .any(|s| s.starts_with("socket:"));
    ctx.check(
        "the denial was logged (launcher's seccomp record)",
        logged,
        format!("denials: {:?}", probed.report.exec.denials),
    );
}

pub(super) fn e06_egress(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let mut listeners = Listeners::default();
    let mut ops = everywhere(&mut listeners);
    for s in [
        "inet/raw/icmp",
        "inet/dgram/icmp",
        "inet6/raw/icmpv6",
        "inet/raw/raw",
        "packet/raw/all",
        "netlink/raw/route",
        "vsock/stream/0",
    ] {
        ops.push(format!("socket={s}"));
    }
    let probed = ctx.probe(ctx.spec(), &ops)?;
    nothing_received(ctx, &listeners);
    ctx.all_failed(
        &probed,
        "socket",
        "no raw, packet, ICMP, netlink or vsock socket",
    );
    network_denial_logged(ctx, &probed);
    Ok(())
}

pub(super) fn e07_proxy_policy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    // Without an egress proxy the sandbox has no network at all: every destination the proxy
    // policy would weigh (non-allowlisted names, IP literals, odd ports, rebinding names that
    // resolve to loopback or the metadata address) must be unreachable, and the refusal logged.
    let mut listeners = Listeners::default();
    let mut ops = Vec::new();
    for ip in host_addresses() {
        if let Some(a) = listeners.tcp(ip) {
            ops.push(format!("tcp={a}"));
        }
    }
    ops.extend([
        "tcp=169.254.169.254:80".to_string(),
        "resolve=localhost".to_string(),
        "resolve=metadata.google.internal".to_string(),
        "resolve=api.github.com".to_string(),
    ]);
    let probed = ctx.probe(ctx.spec(), &ops)?;
    nothing_received(ctx, &listeners);
    ctx.all_failed(
        &probed,
        "tcp",
        "no destination reachable (IP literal, metadata address, odd ports)",
    );
    network_denial_logged(ctx, &probed);
    Ok(())
}

pub(super) fn e08_proxy_bypass(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let mut listeners = Listeners::default();
    let proxy = listeners
        .tcp(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .ok_or("cannot listen on 127.0.0.1")?;
    let mut spec = ctx.spec();
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
    ] {
        spec.env.push((var.into(), format!("http://{proxy}")));
    }
    let mut ops = everywhere(&mut listeners);
    ops.push(format!("tcp={proxy}"));
    let probed = ctx.probe(spec, &ops)?;
    nothing_received(ctx, &listeners);
    let slow: Vec<String> = probed
        .op("tcp")
        .filter(|l| l.ok || l.out.contains("timed out"))
        .map(|l| format!("tcp {}: {}", l.arg, l.out))
        .collect();
    ctx.none(
        "direct dials fail at once (refused, not timed out)",
        slow,
        "every dial was refused immediately",
    );
    Ok(())
}

pub(super) fn e09_dns(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let secret = token();
    let mut listeners = Listeners::default();
    let mut ops = vec![format!("resolve={secret}.canary.test")];
    for ip in host_addresses() {
        if let Some(a) = listeners.udp(ip) {
            ops.push(format!("dns={a}>{secret}.canary.test"));
        }
    }
    ops.push(format!("dns=127.0.0.53:53>{secret}.canary.test"));
    let probed = ctx.probe(ctx.spec(), &ops)?;
    nothing_received(ctx, &listeners);
    let resolved: Vec<String> = probed
        .op("resolve")
        .filter(|l| l.ok)
        .map(|l| format!("{} resolved to {}", l.arg, l.out))
        .collect();
    ctx.none(
        "the secret name was not resolved",
        resolved,
        "no resolver reachable",
    );
    Ok(())
}

pub(super) fn e10_unix_sockets(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let mut listeners = Listeners::default();
    let tag = &token()[..12];
    let mut places: Vec<PathBuf> = vec![ctx.dir.join("canary.sock")];
    if is_root() {
        places.push(PathBuf::from(format!("/run/aegisclaw-canary-{tag}.sock")));
    }
    if let Some(xdg) = std::env::var_os("XDG_RUNTIME_DIR") {
        places.push(PathBuf::from(xdg).join(format!("aegisclaw-canary-{tag}.sock")));
    }
    let mut ops = Vec::new();
    for p in &places {
        if listeners.unix(p) {
            ops.push(format!("unix={}", p.display()));
        }
    }
    for daemon in [
        "/run/docker.sock",
        "/var/run/docker.sock",
        "/run/containerd/containerd.sock",
        "/run/dbus/system_bus_socket",
    ] {
        ops.push(format!("unix={daemon}"));
    }
    let probed = ctx.probe(ctx.spec(), &ops);
    for p in &places {
        if p.starts_with("/run") {
            let _ = std::fs::remove_file(p);
        }
    }
    let probed = probed?;
    nothing_received(ctx, &listeners);
    ctx.all_failed(
        &probed,
        "unix",
        "no host Unix socket could be connected (docker, containerd, D-Bus, canaries)",
    );
    Ok(())
}

pub(super) fn e11_abstract(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let name = format!("aegisclaw-canary-abstract-{}", &token()[..12]);
    let mut listeners = Listeners::default();
    if !listeners.abstract_socket(&name) {
        return Err(format!("cannot listen on @{name}"));
    }
    let probed = ctx.probe(ctx.spec(), &[format!("abstract={name}")])?;
    nothing_received(ctx, &listeners);
    ctx.all_failed(
        &probed,
        "abstract",
        "the abstract socket could not be connected",
    );
    Ok(())
}

pub(super) fn e28_loopback(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let mut listeners = Listeners::default();
    let a = listeners
        .tcp(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .ok_or("cannot listen on 127.0.0.1")?;
    let probed = ctx.probe(
        ctx.spec(),
        &[format!("tcp={a}"), format!("tcp=127.0.0.1:{}", a.port())],
    )?;
    nothing_received(ctx, &listeners);
    ctx.all_failed(&probed, "tcp", "the host's loopback service is unreachable");
    Ok(())
}
