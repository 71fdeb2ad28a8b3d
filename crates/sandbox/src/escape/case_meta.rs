//! E29 (what the sandbox reveals of the host) and E30 (every layer fails closed).

use std::path::PathBuf;

use aegisclaw_core::SandboxLayer;

use super::{Ctx, is_root};
use crate::backend::Backend;
use crate::error::{Error, Layer};
use crate::native::SimulatedFault;
use crate::spec::{ExecStdio, NetworkMode, ProxyNetwork};

/// Mount points every sandbox documents (plus the granted paths).
const DOCUMENTED: &[&str] = &[
    "/",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/dev",
    "/proc",
    "/tmp",
    "/home/sandbox",
    "/run/secrets",
];

pub(super) fn e29_info(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let probed = ctx.probe(ctx.spec(), &["info".to_string()])?;
    let get = |op: &str, arg: &str| {
        probed
            .lines
            .iter()
            .find(|l| l.op == op && l.arg == arg)
            .map(|l| l.out.clone())
            .unwrap_or_default()
    };
    let host_name = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let inside_name = get("hostname", "");
    ctx.check(
        "the host name is not revealed",
        inside_name != host_name,
        format!("inside: {inside_name:?}"),
    );
    let passwd = get("read", "/etc/passwd");
    let host_users: Vec<String> = std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(':').next())
        .filter(|u| !["root", "nobody", "sandbox"].contains(u))
        .map(|u| format!("{u}:"))
        .collect();
    let named: Vec<String> = host_users
        .iter()
        .filter(|u| passwd.lines().any(|l| l.starts_with(u.as_str())))
        .map(|u| format!("host user {} listed", u.trim_end_matches(':')))
        .collect();
    ctx.none(
        "/etc/passwd names no host user",
        named,
        format!("{} host users checked", host_users.len()),
    );
    let mountinfo = get("read", "/proc/self/mountinfo");
    let probe = ctx.opts.probe.display().to_string();
    let undocumented: Vec<String> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| {
            !DOCUMENTED.contains(m)
                && !m.starts_with("/etc/")
                && !m.starts_with("/dev/")
                && !m.starts_with("/proc/")
                && *m != probe
        })
        .map(str::to_string)
        .collect();
    ctx.none(
        "mount points show only documented or granted paths",
        undocumented,
        "system directories, scratch filesystems, grants",
    );
    ctx.check(
        "documented exposure",
        true,
        format!(
            "kernel release {:?}; granted paths appear under their host names",
            get("uname", "")
        ),
    );
    Ok(())
}

pub(super) fn e30_fail_closed(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let faults = [
        (
            SimulatedFault::LandlockMissing,
            Layer::Landlock,
            SandboxLayer::Landlock,
            "Landlock unavailable",
        ),
        (
            SimulatedFault::SeccompMissing,
            Layer::Seccomp,
            SandboxLayer::Seccomp,
            "seccomp load failure",
        ),
        (
            SimulatedFault::UserNamespacesDisabled,
            Layer::UserNamespace,
            SandboxLayer::UserNamespace,
            "user namespaces disabled",
        ),
    ];
    let exec = ctx.probe_exec(&["status".to_string()]);
    for (fault, layer, opt_out, name) in faults {
        let backend = ctx.opts.backend.clone().simulate_fault(fault);
        let mut spec = ctx.spec();
        spec.allow_degraded
            .retain(|l| *l != opt_out && *l != SandboxLayer::Idmap);
        match backend.run(spec, &exec, ExecStdio::piped()) {
            Err(Error::Layer {
                layer: l, reason, ..
            }) if l == layer => {
                ctx.check(
                    format!("{name}: the sandbox refuses to run"),
                    true,
                    format!("{l}: {reason}"),
                );
            }
            Err(e) => ctx.check(
                format!("{name}: the sandbox refuses to run"),
                false,
                format!("refused, but naming the wrong layer: {e}"),
            ),
            Ok(out) => ctx.check(
                format!("{name}: the sandbox refuses to run"),
                false,
                format!("it ran (degraded: {:?})", out.report.degraded),
            ),
        }
        let mut spec = ctx.spec();
        spec.allow_degraded.push(opt_out);
        if opt_out == SandboxLayer::UserNamespace {
            // Without user namespaces there are no idmapped mounts either.
            spec.allow_degraded.push(SandboxLayer::Idmap);
        }
        let opt_in = backend.run(spec, &exec, ExecStdio::piped());
        let user_without_userns = fault == SimulatedFault::UserNamespacesDisabled && !is_root();
        match opt_in {
            Ok(out) => {
                let recorded = out.report.degraded.iter().any(|d| d.layer == opt_out);
                ctx.check(
                    format!("{name}: with the explicit opt-in it runs, recorded as degraded"),
                    recorded,
                    format!("degraded: {:?}", out.report.degraded),
                );
            }
            // Without root there is no sandbox without a user namespace: refusing is right.
            Err(Error::Layer { layer: l, .. }) if user_without_userns && l == layer => ctx.check(
                format!("{name}: still refused with the opt-in (unprivileged: no fallback exists)"),
                true,
                "refused",
            ),
            Err(e) => ctx.check(
                format!("{name}: with the explicit opt-in it runs, recorded as degraded"),
                false,
                e.to_string(),
            ),
        }
    }
    // The proxied network mode with the proxy down.
    let mut spec = ctx.spec();
    spec.network = NetworkMode::Proxy(ProxyNetwork {
        socket: ctx.dir.join("no-proxy-here.sock"),
        env: vec![("HTTPS_PROXY".into(), "http://127.0.0.1:3128".into())],
    });
    match ctx.opts.backend.run(spec, &exec, ExecStdio::piped()) {
        Err(Error::Layer {
            layer: Layer::Proxy,
            reason,
            ..
        }) => ctx.check("proxy down: the sandbox refuses to run", true, reason),
        Err(e) => ctx.check(
            "proxy down: the sandbox refuses to run",
            false,
            format!("wrong error: {e}"),
        ),
        Ok(_) => ctx.check("proxy down: the sandbox refuses to run", false, "it ran"),
    }
    let _ = PathBuf::new();
    Ok(())
}
