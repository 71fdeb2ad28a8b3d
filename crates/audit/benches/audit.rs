//! Throughput of the audit log, each figure beside a baseline measured the same way:
//!
//! - `append/<B>`: durable appends in batches of B entries (encode, chain, tree, one `pwrite`
//!   and one `fdatasync` per batch), against `append_baseline/<B>`: the same bytes written with
//!   one `pwrite` and one `fdatasync`, nothing else.
//! - `verify/1000000`: `AuditLog::verify` of a 1,000,000-entry log (every hash, the chain, the
//!   tree, every checkpoint), against `verify_baseline/read_sha256`: reading the same segment
//!   files and SHA-256 over every byte once.
//!
//! ```sh
//! cargo bench -p aegisclaw-audit --bench audit
//! AUDIT_BENCH_ENTRIES=100000 cargo bench -p aegisclaw-audit --bench audit -- verify
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a benchmark"
)]

use std::fs::OpenOptions;
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::time::{Duration, SystemTime};

use aegisclaw_audit::{AuditLog, Options, Record, VerifyOptions};
use aegisclaw_core::Home;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};

/// A typical entry: about 300 bytes encoded.
fn record(i: u64) -> Record {
    Record::new(
        "skill:git-stats@1.2.0",
        "exec",
        if i.is_multiple_of(5) { "deny" } else { "allow" },
    )
    .at(SystemTime::UNIX_EPOCH + Duration::from_millis(1_750_000_000_000 + i))
    .scope("files.read:/home/me/projects/aegisclaw")
    .scope("shell.exec")
    .reason("policy standard: read-only access to a granted directory")
    .result(format!("exit 0; 4123 bytes of output; run {i}"))
    .session("3f2c9a4e-6b1d-4c8e-9f0a-2d5e7b1c8a90")
    .run(format!("run-{i:012}"))
    .tool_call("call_8f3b2a")
    .attr("risk", "low")
}

fn options() -> Options {
    Options {
        checkpoint_every: 1000,
        checkpoint_interval: Duration::from_secs(60),
        segment_size: 8 << 20,
    }
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(&Home::at(dir.path()), options());
    let mut appender = log.appender().unwrap();
    // The encoded size of one entry, for the baseline.
    appender.append(&[record(0)]).unwrap();
    let entry_bytes = {
        let seg = std::fs::read_dir(dir.path().join("audit/segments"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let len = std::fs::metadata(&seg).unwrap().len();
        // One frame after a header of 54 bytes (no frontier at entry 0).
        len - 54
    };
    let mut group = c.benchmark_group("append");
    group.sample_size(20);
    let mut next = 1u64;
    for batch in [1u64, 100, 1000] {
        let records: Vec<Record> = (0..batch).map(record).collect();
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(
            BenchmarkId::from_parameter(batch),
            &records,
            |b, records| {
                b.iter(|| {
                    let r = appender.append(black_box(records)).unwrap();
                    next = r.end;
                });
            },
        );
    }
    group.finish();
    black_box(next);

    let mut group = c.benchmark_group("append_baseline");
    group.sample_size(20);
    let raw = dir.path().join("raw");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&raw)
        .unwrap();
    let mut offset = 0u64;
    for batch in [1u64, 100, 1000] {
        let bytes = vec![0x5a; (entry_bytes * batch) as usize];
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &bytes, |b, bytes| {
            b.iter(|| {
                file.write_all_at(black_box(bytes), offset).unwrap();
                file.sync_data().unwrap();
                offset += bytes.len() as u64;
            });
        });
    }
    group.finish();
}

fn verify(c: &mut Criterion) {
    let n: u64 = std::env::var("AUDIT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(&Home::at(dir.path()), options());
    let mut appender = log.appender().unwrap();
    let started = std::time::Instant::now();
    let mut i = 0;
    while i < n {
        let end = (i + 1000).min(n);
        appender
            .append(&(i..end).map(record).collect::<Vec<_>>())
            .unwrap();
        i = end;
    }
    appender.close().unwrap();
    eprintln!(
        "built a {n}-entry log in {:.1?} ({:.0} durable appends/s in batches of 1000)",
        started.elapsed(),
        n as f64 / started.elapsed().as_secs_f64()
    );
    let report = log.verify(&VerifyOptions::default()).unwrap();
    assert!(report.ok && report.entries == n, "{report:?}");
    let segments: Vec<_> = std::fs::read_dir(dir.path().join("audit/segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();

    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(n));
    group.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter(|| {
            let r = log.verify(&VerifyOptions::default()).unwrap();
            assert!(r.ok);
            black_box(r.root)
        });
    });
    group.finish();

    let mut group = c.benchmark_group("verify_baseline");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(n));
    group.bench_function("read_sha256", |b| {
        b.iter(|| {
            let mut h = Sha256::new();
            for s in &segments {
                h.update(std::fs::read(s).unwrap());
            }
            black_box(h.finalize())
        });
    });
    group.finish();
}

criterion_group!(benches, append, verify);
criterion_main!(benches);
