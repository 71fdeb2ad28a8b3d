//! E22–E24: fork bomb, memory bomb, disk fill.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytesize::ByteSize;

use super::Ctx;
use super::oracle::{free_space, mem_available, processes_with, token};
use crate::report::Denial;

fn limit_hit(denials: &[Denial], which: &str) -> bool {
    denials
        .iter()
        .any(|d| matches!(d, Denial::Limit { limit, .. } if limit == which))
}

pub(super) fn e22_fork_bomb(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let marker = format!("aegisclaw-e22-{}", &token()[..12]);
    let mut spec = ctx.spec();
    spec.limits.pids = 32;
    spec.limits.timeout = Duration::from_secs(3);
    // The host must keep spawning processes while the bomb goes off.
    let host_spawned = Arc::new(AtomicBool::new(false));
    let spawned = host_spawned.clone();
    let probe = ctx.opts.probe.clone();
    let watcher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        let ok = std::process::Command::new(probe)
            .arg(crate::internal::PROBE_ARG)
            .arg("tag=host-still-spawns")
            .status()
            .is_ok_and(|s| s.success());
        spawned.store(ok, Ordering::SeqCst);
    });
    let probed = ctx.probe(spec, &[format!("tag={marker}"), "forkbomb=60".into()]);
    let _ = watcher.join();
    let probed = probed?;
    let cgroups = !ctx
        .degraded
        .iter()
        .any(|d| d.layer == aegisclaw_core::SandboxLayer::Cgroups);
    let refused = probed
        .op("forkbomb")
        .any(|l| l.out.contains("then: Resource temporarily unavailable"));
    ctx.check(
        "the pids limit stopped the bomb",
        if cgroups {
            limit_hit(&probed.report.exec.denials, "pids")
        } else {
            refused
        },
        format!("denials {:?}", probed.report.exec.denials),
    );
    ctx.check(
        "the host could still spawn processes",
        host_spawned.load(Ordering::SeqCst),
        "spawned during the bomb",
    );
    ctx.check(
        "the sandbox was killed at the timeout",
        probed.report.exec.timed_out,
        format!("{:?}", probed.report.exec.status),
    );
    ctx.none("no bomb process left", processes_with(&marker), "none");
    Ok(())
}

pub(super) fn e23_memory_bomb(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let mut spec = ctx.spec();
    spec.limits.memory = ByteSize::mib(64);
    spec.limits.timeout = Duration::from_secs(15);
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    let floor = (total / 20).max(256 << 20);
    let lowest = Arc::new(AtomicU64::new(u64::MAX));
    let stop = Arc::new(AtomicBool::new(false));
    let (low, halt) = (lowest.clone(), stop.clone());
    let sampler = std::thread::spawn(move || {
        while !halt.load(Ordering::SeqCst) {
            if let Some(m) = mem_available() {
                low.fetch_min(m, Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let probed = ctx.probe(spec, &["membomb=4096".to_string()]);
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    let probed = probed?;
    let cgroups = !ctx
        .degraded
        .iter()
        .any(|d| d.layer == aegisclaw_core::SandboxLayer::Cgroups);
    let stopped = probed.op("membomb").all(|l| !l.ok) && !probed.raw.contains("held 4096 MiB");
    ctx.check(
        "the memory limit stopped the bomb inside the sandbox",
        stopped && (!cgroups || limit_hit(&probed.report.exec.denials, "memory")),
        format!(
            "status {:?}, denials {:?}",
            probed.report.exec.status, probed.report.exec.denials
        ),
    );
    let low = lowest.load(Ordering::SeqCst);
    ctx.check(
        "the host's available memory stayed above the threshold",
        low > floor,
        format!(
            "lowest MemAvailable {} (threshold {})",
            ByteSize(low),
            ByteSize(floor)
        ),
    );
    Ok(())
}

pub(super) fn e24_disk_fill(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let ws = ctx.mkdir("ws")?;
    let mut spec = ctx.spec();
    spec.limits.tmp_size = ByteSize::mib(16);
    spec.limits.file_size = ByteSize::mib(8);
    spec.limits.timeout = Duration::from_secs(20);
    spec.workspace = Some(ws.clone());
    let ops = ["fill=/tmp>4", "fill=/home/sandbox>2", "fill=/dev/shm>2"]
        .map(String::from)
        .into_iter()
        .chain([format!("fill={}>3", ws.display())])
        .collect::<Vec<_>>();
    let probed = ctx.probe(spec, &ops)?;
    let bytes = |prefix: &str| -> u64 {
        probed
            .op("fill")
            .filter(|l| l.arg.starts_with(prefix))
            .filter_map(|l| {
                let text = if l.ok {
                    l.out.as_str()
                } else {
                    l.out.rsplit("after ").next().unwrap_or("")
                };
                text.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum()
    };
    let tmp = bytes("/tmp/fill-");
    ctx.check(
        "/tmp is bounded by its tmpfs size",
        tmp <= 16 << 20,
        format!("{} written", ByteSize(tmp)),
    );
    let home = bytes("/home/sandbox/fill-");
    ctx.check(
        "$HOME is bounded by its tmpfs size",
        home <= 16 << 20,
        format!("{} written", ByteSize(home)),
    );
    let big: Vec<String> = std::fs::read_dir(&ws)
        .map_err(|e| e.to_string())?
        .flatten()
        .filter_map(|e| e.metadata().ok().map(|m| (e.path(), m.len())))
        .filter(|(_, len)| *len > 8 << 20)
        .map(|(p, len)| format!("{} is {}", p.display(), ByteSize(len)))
        .collect();
    ctx.none(
        "every workspace file is bounded by the file-size limit",
        big,
        "all files <= 8 MiB",
    );
    let free = free_space(&ws).unwrap_or(0);
    ctx.check(
        "the host filesystem keeps free space",
        free > 1 << 30,
        format!("{} free", ByteSize(free)),
    );
    Ok(())
}
