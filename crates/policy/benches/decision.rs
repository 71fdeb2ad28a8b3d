//! Decision latency of the standard template on a five-scope action.
//!
//! Compares, side by side on the same policy and the same input:
//!
//! - `engine/file`: `PolicyEngine::evaluate` on the policy file (a `stat` per decision for hot
//!   reload), building the input document from an `Action` and combining the output;
//! - `engine/memory`: the same with the policy held in memory (no `stat`);
//! - `regorus/rvm`: regorus alone, its bytecode VM (what the engine uses): set the prebuilt input
//!   document and evaluate the entry points (`deny`, `ask`, `allow`, `obligations`) in one rule;
//! - `regorus/interpreter`: the same rule with regorus' tree-walking interpreter.
//!
//! After criterion's report, prints p50/p99 of each over 20 000 single decisions and the ratios.
//!
//!     cargo bench -p aegisclaw-policy --bench decision

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark reports on stdout and fails by panicking"
)]

use std::hint::black_box;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use aegisclaw_core::{Action, ActionKind, PolicyTemplate, SignatureStatus, SkillRef};
use aegisclaw_policy::{PolicyEngine, PolicySource, ScopeRegistry, templates};
use criterion::{Criterion, criterion_group};

fn five_scope_action() -> Action {
    let scopes = [
        "files.read:/home/me/project",
        "files.write:/home/me/project/out",
        "net.outbound:api.github.com:443",
        "secrets.access:GITHUB_TOKEN",
        "mcp.tool:github/create_issue",
    ];
    let mut action = Action::new(
        "claude-code",
        ActionKind::Exec,
        scopes.iter().map(|s| s.parse().unwrap()).collect(),
    );
    action.actor.skill = Some(SkillRef {
        name: "release-notes".into(),
        version: Some("1.2.0".into()),
        digest: Some(
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        ),
        signature: SignatureStatus::Signed,
        signer: Some("key:aegisclaw-test".into()),
    });
    action
}

/// The raw regorus engine, loaded with the same policy and the same one-rule wrapper.
fn raw_engine() -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(
            "standard.rego".into(),
            templates::source(PolicyTemplate::Standard).into(),
        )
        .unwrap();
    engine
        .add_policy(
            "wrapper.rego".into(),
            "package aegisclaw_engine\nimport rego.v1\nout := {\"deny\": data.aegisclaw.deny, \"ask\": data.aegisclaw.ask, \"allow\": data.aegisclaw.allow, \"obligations\": data.aegisclaw.obligations}\n".into(),
        )
        .unwrap();
    engine
}

/// The input document the engine builds for the action (taken from `explain`).
fn input_of(engine: &PolicyEngine, action: &Action) -> regorus::Value {
    regorus::Value::from(engine.explain(action).input.unwrap())
}

struct Setup {
    _dir: tempfile::TempDir,
    file: PolicyEngine,
    memory: PolicyEngine,
    raw: regorus::Engine,
    vm: regorus::rvm::RegoVM,
    input: regorus::Value,
    action: Action,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("standard.rego");
    std::fs::write(&path, templates::source(PolicyTemplate::Standard)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = PolicyEngine::new(PolicySource::File(path), ScopeRegistry::builtin());
    let memory = PolicyEngine::from_template(PolicyTemplate::Standard, ScopeRegistry::builtin());
    let action = five_scope_action();
    let verdict = file.evaluate(&action).verdict;
    assert_eq!(
        verdict.decision,
        aegisclaw_core::Decision::Ask,
        "{verdict:?}"
    );
    let input = input_of(&memory, &action);
    let mut raw = raw_engine();
    raw.set_input(input.clone());
    let expected = raw.eval_rule("data.aegisclaw_engine.out".into()).unwrap();
    let entry = "data.aegisclaw_engine.out";
    let policy = raw.compile_with_entrypoint(&entry.into()).unwrap();
    let program =
        regorus::languages::rego::compiler::Compiler::compile_from_policy(&policy, &[entry])
            .unwrap();
    let mut vm = regorus::rvm::RegoVM::new();
    vm.load_program(program);
    assert_eq!(
        vm_eval(&mut vm, &input),
        expected,
        "the VM and the interpreter agree"
    );
    Setup {
        _dir: dir,
        file,
        memory,
        raw,
        vm,
        input,
        action,
    }
}

fn raw_eval(raw: &mut regorus::Engine, input: &regorus::Value) -> regorus::Value {
    raw.set_input(input.clone());
    raw.eval_rule("data.aegisclaw_engine.out".into()).unwrap()
}

fn vm_eval(vm: &mut regorus::rvm::RegoVM, input: &regorus::Value) -> regorus::Value {
    vm.set_input(input.clone());
    vm.execute().unwrap()
}

fn decision(c: &mut Criterion) {
    let mut s = setup();
    let mut group = c.benchmark_group("standard_five_scopes");
    group.bench_function("engine/file", |b| {
        b.iter(|| black_box(s.file.evaluate(black_box(&s.action))));
    });
    group.bench_function("engine/memory", |b| {
        b.iter(|| black_box(s.memory.evaluate(black_box(&s.action))));
    });
    group.bench_function("regorus/rvm", |b| {
        b.iter(|| black_box(vm_eval(&mut s.vm, black_box(&s.input))));
    });
    group.bench_function("regorus/interpreter", |b| {
        b.iter(|| black_box(raw_eval(&mut s.raw, black_box(&s.input))));
    });
    group.finish();
}

criterion_group!(benches, decision);

fn percentiles(name: &str, mut run: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..2_000 {
        run();
    }
    let mut samples: Vec<Duration> = (0..20_000)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    let (p50, p99) = (p(0.50), p(0.99));
    println!(
        "{name:<16} p50 {:>8.2} µs   p99 {:>8.2} µs",
        micros(p50),
        micros(p99)
    );
    (p50, p99)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();

    let mut s = setup();
    println!("\nsingle decisions, standard template, five scopes (20 000 samples each):");
    let file = percentiles("engine/file", || {
        black_box(s.file.evaluate(&s.action));
    });
    let memory = percentiles("engine/memory", || {
        black_box(s.memory.evaluate(&s.action));
    });
    let vm = percentiles("regorus/rvm", || {
        black_box(vm_eval(&mut s.vm, &s.input));
    });
    let interpreter = percentiles("regorus/interp", || {
        black_box(raw_eval(&mut s.raw, &s.input));
    });
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    for (name, ours) in [("engine/file", file), ("engine/memory", memory)] {
        println!(
            "{name} / regorus/rvm: p50 {:.2}x, p99 {:.2}x   ({name} / regorus/interp: p50 {:.2}x)",
            ratio(ours.0, vm.0),
            ratio(ours.1, vm.1),
            ratio(ours.0, interpreter.0)
        );
    }
}
