//! Speed of a guard scan: a 1 KB prompt (criterion's median is the p50 per prompt) and
//! throughput on 1 MiB of typical text, beside a baseline on the same input (the secret scanner
//! alone, which every scan also runs), so the figures can be read as ratios on any machine.
//!
//! ```sh
//! cargo bench -p aegisclaw-guard --bench guard
//! ```
//!
//! Typical text: the benign validation texts shipped in `data/`, joined by newlines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "benchmark setup"
)]

use std::hint::black_box;
use std::path::PathBuf;

use aegisclaw_core::{GuardConfig, GuardMode};
use aegisclaw_guard::{Guard, Plane, ScanContext, read_jsonl};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn benign_text() -> String {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut out = String::new();
    for name in ["neuralchemy-validation.jsonl", "s-labs-validation.jsonl"] {
        for ex in read_jsonl(&data.join(name)).unwrap() {
            if ex.label == 0 {
                out.push_str(&ex.text);
                out.push('\n');
            }
        }
    }
    out
}

/// Cuts at most `len` bytes on a char boundary.
fn cut(text: &str, len: usize) -> &str {
    let mut end = len.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn bench(c: &mut Criterion) {
    let guard = Guard::new(&GuardConfig {
        host: GuardMode::Block,
        tools: GuardMode::Block,
        model: GuardMode::Block,
        network: GuardMode::Block,
    });
    let ctx = ScanContext::input(Plane::Model);
    let benign = benign_text();
    let prompt = cut(&benign[benign.len() / 3..], 1024).to_owned();
    let mut big = String::new();
    while big.len() < 1 << 20 {
        big.push_str(&benign);
    }
    let big = cut(&big, 1 << 20).to_owned();
    // Load rules and weights before timing.
    let _ = guard.scan("warm up", &ctx);

    let mut g = c.benchmark_group("prompt_1k");
    g.throughput(Throughput::Bytes(prompt.len() as u64));
    g.bench_function("guard_scan", |b| {
        b.iter(|| guard.scan(black_box(&prompt), &ctx))
    });
    g.bench_function("secret_scanner_only", |b| {
        b.iter(|| aegisclaw_redact::Scanner::global().scan(black_box(&prompt)))
    });
    g.finish();

    let mut g = c.benchmark_group("typical_1mib");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("guard_scan", |b| {
        b.iter(|| guard.scan(black_box(&big), &ctx))
    });
    g.bench_function("secret_scanner_only", |b| {
        b.iter(|| aegisclaw_redact::Scanner::global().scan(black_box(&big)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
