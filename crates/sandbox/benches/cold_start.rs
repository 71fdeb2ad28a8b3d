//! Cold start of `/bin/true`, side by side in one run: plain fork/exec, `bwrap` with comparable
//! isolation, the native backend one-shot, and a command in a kept-warm native session. Then the
//! cost of system calls and of fork+exec inside the sandbox versus outside.
//!
//! ```sh
//! cargo bench -p aegisclaw-sandbox --bench cold_start            # 200 starts per variant
//! AEGISCLAW_BENCH_RUNS=1000 cargo bench -p aegisclaw-sandbox --bench cold_start
//! ```
//!
//! The variants are measured round-robin (one start of each, then the next round) so that a
//! noisy neighbour slows them all alike. Results are reported, never asserted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark binary reports on stdout and fails by panicking"
)]

use std::process::{Command, Stdio as StdStdio};
use std::time::{Duration, Instant};

use aegisclaw_core::{Limits, SandboxConfig, SandboxLayer};
use aegisclaw_sandbox::{Backend, ExecSpec, ExecStdio, NativeBackend, SandboxSpec};

const PROBE_ARG: &str = "__aegisclaw-sandbox-probe";

fn helper() -> &'static str {
    env!("CARGO_BIN_EXE_aegisclaw-sandbox-helper")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

const BWRAP_ARGS: &[&str] = &[
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/bin",
    "/bin",
    "--symlink",
    "usr/sbin",
    "/sbin",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--ro-bind",
    "/etc/ld.so.cache",
    "/etc/ld.so.cache",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--tmpfs",
    "/home/sandbox",
    "--chdir",
    "/home/sandbox",
    "--clearenv",
    "/usr/bin/true",
];

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter we do not support.
    let runs: usize = std::env::var("AEGISCLAW_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let backend = NativeBackend::new(helper(), &SandboxConfig::default());
    let root = nix::unistd::geteuid().is_root();
    let spec = || {
        let mut s = SandboxSpec::new(Limits::default());
        if !root {
            // An unprivileged user has no cgroup of its own on a cgroup v1 host.
            s.allow_degraded.push(SandboxLayer::Cgroups);
        }
        s
    };
    let truth = ExecSpec::new("/bin/true");
    let bwrap = ["/usr/bin/bwrap", "/bin/bwrap"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());

    let mut session = backend.prepare(spec()).expect("a native session");
    type Variant<'a> = (&'static str, Box<dyn FnMut() + 'a>);
    let mut variants: Vec<Variant<'_>> = vec![
        (
            "fork/exec /bin/true (no isolation)",
            Box::new(|| {
                let s = Command::new("/bin/true").status().unwrap();
                assert!(s.success());
            }),
        ),
        (
            "aegisclaw native, one-shot",
            Box::new(|| {
                let out = backend.run(spec(), &truth, ExecStdio::default()).unwrap();
                assert_eq!(out.report.exec.code(), 0);
            }),
        ),
    ];
    if let Some(bwrap) = bwrap {
        variants.insert(
            1,
            (
                "bwrap (userns, pid, net, ipc, uts, cgroup ns; no seccomp/landlock/cgroups)",
                Box::new(move || {
                    let s = Command::new(bwrap)
                        .args(BWRAP_ARGS)
                        .stdin(StdStdio::null())
                        .status()
                        .unwrap();
                    assert!(s.success());
                }),
            ),
        );
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); variants.len() + 1];
    for _ in 0..runs {
        for (i, (_, run)) in variants.iter_mut().enumerate() {
            let t = Instant::now();
            run();
            times[i].push(t.elapsed());
        }
        let t = Instant::now();
        let report = session
            .exec(&truth, ExecStdio::default())
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(report.code(), 0);
        times[variants.len()].push(t.elapsed());
    }
    let mut names: Vec<&str> = variants.iter().map(|(n, _)| *n).collect();
    names.push("aegisclaw native, command in a warm session");
    drop(variants);
    session.destroy().unwrap();

    println!(
        "cold start of /bin/true, {runs} runs per variant (round-robin), as {}\n",
        if root {
            "root (cgroups on)"
        } else {
            "an unprivileged user (no cgroups)"
        }
    );
    println!(
        "{:<82} {:>9} {:>9} {:>9}",
        "variant", "p50 ms", "p95 ms", "mean ms"
    );
    let mut p50s = Vec::new();
    for (name, t) in names.iter().zip(times.iter_mut()) {
        t.sort();
        let mean = t.iter().sum::<Duration>() / t.len() as u32;
        let p50 = percentile(t, 0.5);
        p50s.push((*name, p50));
        println!(
            "{name:<82} {:>9.3} {:>9.3} {:>9.3}",
            ms(p50),
            ms(percentile(t, 0.95)),
            ms(mean)
        );
    }
    let find = |prefix: &str| {
        p50s.iter()
            .find(|(n, _)| n.starts_with(prefix))
            .map(|(_, d)| *d)
    };
    if let (Some(ours), Some(bw)) = (find("aegisclaw native, one-shot"), find("bwrap")) {
        println!(
            "\np50 ratio aegisclaw one-shot / bwrap: {:.2}",
            ours.as_secs_f64() / bw.as_secs_f64()
        );
    }
    if let (Some(ours), Some(plain)) = (find("aegisclaw native, one-shot"), find("fork/exec")) {
        println!(
            "p50 ratio aegisclaw one-shot / plain fork+exec: {:.2}",
            ours.as_secs_f64() / plain.as_secs_f64()
        );
    }

    // Inside versus outside: the same probe code, once sandboxed and once not.
    let ops = [
        "bench-getppid=2000000",
        "bench-open=200000",
        "bench-spawn=200",
    ];
    let outside = Command::new(helper())
        .arg(PROBE_ARG)
        .args(ops)
        .output()
        .unwrap();
    let mut inside_spec = spec();
    inside_spec.read_only.push(helper().into());
    let inside = backend
        .run(
            inside_spec,
            &ExecSpec::new(helper()).arg(PROBE_ARG).args(ops),
            ExecStdio::piped(),
        )
        .unwrap();
    let values = |out: &[u8]| -> Vec<f64> {
        String::from_utf8_lossy(out)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["out"].as_str().and_then(|s| s.parse().ok()))
            .collect()
    };
    let (o, i) = (values(&outside.stdout), values(&inside.stdout));
    println!("\ninside the sandbox versus outside (same code)\n");
    println!(
        "{:<46} {:>10} {:>10} {:>7}",
        "operation", "outside", "inside", "ratio"
    );
    for (k, label) in [
        "getppid() ns/call (seccomp-cached)",
        "openat(/dev/null)+close ns/call (filter+Landlock)",
        "fork+exec+wait /bin/true us",
    ]
    .iter()
    .enumerate()
    {
        if let (Some(a), Some(b)) = (o.get(k), i.get(k)) {
            println!("{label:<46} {a:>10.1} {b:>10.1} {:>7.2}", b / a);
        }
    }
}
