//! Throughput of the redactor (100 known secrets, every encoded form) and of the scanner, each
//! beside a baseline on the same input.
//!
//! ```sh
//! cargo bench -p aegisclaw-redact --bench redact
//! ```
//!
//! The input is 4 MiB of mixed log lines, JSON and source code with a few secrets in it.
//! Baselines: copying the input (`memcpy`), and a single token regex over it (what one
//! rule costs), so the figures can be read as ratios on any machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "benchmark setup"
)]

use std::hint::black_box;

use aegisclaw_redact::{Redactor, Scanner};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SIZE: usize = 4 << 20;

/// A small deterministic generator (PCG-style LCG).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
    fn token(&mut self, n: usize) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| char::from(ALNUM[self.next() as usize % ALNUM.len()]))
            .collect()
    }
}

fn secrets(rng: &mut Rng) -> Vec<(String, String)> {
    (0..100)
        .map(|i| (format!("SECRET_{i}"), rng.token(20 + i % 40)))
        .collect()
}

fn corpus(rng: &mut Rng, secrets: &[(String, String)]) -> Vec<u8> {
    let mut out = String::with_capacity(SIZE + 1024);
    let mut line = 0u64;
    while out.len() < SIZE {
        line += 1;
        let n = rng.next();
        match n % 6 {
            0 => out.push_str(&format!(
                "2025-11-25T10:{:02}:{:02}.{:03}Z INFO request id={} path=/api/v1/items/{} status={} duration_ms={} user={}\n",
                n % 60,
                (n / 60) % 60,
                n % 1000,
                rng.token(16),
                n % 10_000,
                rng.pick(&["200", "201", "404", "500"]),
                n % 900,
                rng.pick(&["alice", "bob", "carol", "svc-deploy"]),
            )),
            1 => out.push_str(&format!(
                "{{\"event\":\"{}\",\"seq\":{line},\"ok\":true,\"tags\":[\"{}\",\"{}\"],\"max_tokens\":{}}}\n",
                rng.pick(&["upload", "download", "login", "sync"]),
                rng.pick(&["prod", "dev"]),
                rng.pick(&["eu", "us"]),
                n % 4096,
            )),
            2 => out.push_str(&format!(
                "    let {} = client.{}(&config.key, {}).await?; // retry with the token from the cache\n",
                rng.pick(&["resp", "result", "items", "body"]),
                rng.pick(&["get", "post", "fetch_all"]),
                n % 100,
            )),
            3 => out.push_str(&format!(
                "commit {} Merge branch 'feature/{}' into main; see https://git.corp.test/team/repo/pull/{}\n",
                rng.token(40).to_lowercase(),
                rng.pick(&["auth", "cache", "docs"]),
                n % 5000,
            )),
            4 => out.push_str(
                "The password policy requires twelve characters; an api key is issued per project.\n",
            ),
            _ => {
                // One line in a few hundred carries a secret, raw or base64-encoded.
                if n.is_multiple_of(50) {
                    let (_, value) = &secrets[(n / 50) as usize % secrets.len()];
                    out.push_str(&format!("debug: value={value} b64={}\n", b64(value.as_bytes())));
                } else {
                    out.push_str(&format!("[{line}] worker {} finished batch {} in {}ms\n", n % 8, n % 777, n % 300));
                }
            }
        }
    }
    out.into_bytes()
}

fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(42);
    let secrets = secrets(&mut rng);
    let input = corpus(&mut rng, &secrets);
    let mut builder = Redactor::builder();
    for (name, value) in &secrets {
        builder.secret(name, value.as_bytes()).unwrap();
    }
    let redactor = builder.build();
    eprintln!("redactor: {redactor:?}");

    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(20);
    group.bench_function("baseline_memcpy", |b| {
        b.iter(|| black_box(input.to_vec()));
    });
    group.bench_function("one_shot_100_secrets", |b| {
        b.iter(|| black_box(redactor.redact_bytes(black_box(&input)).len()));
    });
    group.bench_function("stream_64k_chunks_100_secrets", |b| {
        b.iter(|| {
            let mut stream = redactor.stream();
            let mut out = Vec::with_capacity(input.len());
            for chunk in input.chunks(64 * 1024) {
                stream.push_into(chunk, &mut out);
            }
            out.extend(stream.finish());
            black_box(out.len())
        });
    });
    group.finish();

    let scanner = Scanner::new();
    let one_rule = regex::bytes::Regex::new(r"\bghp_[A-Za-z0-9]{36}\b").unwrap();
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(20);
    group.bench_function("baseline_one_regex", |b| {
        b.iter(|| black_box(one_rule.find_iter(black_box(&input)).count()));
    });
    group.bench_function("all_rules", |b| {
        b.iter(|| black_box(scanner.scan_bytes(black_box(&input)).len()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
