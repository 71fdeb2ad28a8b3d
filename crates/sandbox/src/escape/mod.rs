//! The escape suite: every attack of the sandbox escape-test specification (E01–E30), each with
//! a host-side oracle. `aegisclaw sandbox selftest` runs it on a user's machine; this crate's
//! tests run it case by case, as root and as an unprivileged user.
//!
//! Each case plants its canaries on the host (files, listeners, processes), runs the probe
//! (`__aegisclaw-sandbox-probe`, a hidden entry point of the same binary, mounted read-only into
//! the sandbox) with the attacks to attempt, and then asks the canaries — never the probe —
//! whether anything got through. "Blocked" means the oracle saw nothing.
//!
//! E01–E21 and E30 are required: a failure fails the suite. E22–E29 are reported.

mod case_files;
mod case_kernel;
mod case_limits;
mod case_meta;
mod case_net;
mod case_proc;
mod oracle;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aegisclaw_core::{Limits, SandboxLayer};
use bytesize::ByteSize;
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::internal::PROBE_ARG;
use crate::native::NativeBackend;
use crate::probe::{self, Line};
use crate::report::{Degraded, RunReport};
use crate::spec::{ExecSpec, ExecStdio, SandboxSpec, Stdio};

/// The variable whose (random) value the suite plants in its own environment: the "secret in
/// the runtime's environment" of E14, which must never appear inside a sandbox.
pub const CANARY_ENV: &str = "AEGISCLAW_SELFTEST_CANARY";

/// Plants the runtime-environment canary of E14 in this process's environment.
///
/// # Safety
/// Modifies the process environment: call it while the process has a single thread.
pub unsafe fn plant_runtime_canary() {
    // SAFETY: the caller guarantees that no other thread exists.
    unsafe { std::env::set_var(CANARY_ENV, oracle::token()) };
}

/// How to run the suite.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    pub backend: NativeBackend,
    /// The binary that carries the probe entry point (mounted read-only into each sandbox).
    pub probe: PathBuf,
    /// Limits of each run (cases lower them further where they attack limits).
    pub limits: Limits,
    /// Layers the runs may go without (as in `sandbox.allow_degraded`).
    pub allow_degraded: Vec<SandboxLayer>,
    /// AegisClaw's own home, hidden from every run (and checked by E01).
    pub runtime_home: Option<PathBuf>,
    /// Case ids to run (all when empty).
    pub only: Vec<String>,
}

/// One check of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub title: String,
    /// A required case must pass on every backend that claims to isolate.
    pub required: bool,
    pub passed: bool,
    pub checks: Vec<Check>,
    /// Layers the case's runs went without.
    pub degraded: Vec<Degraded>,
    pub duration_ms: u64,
}

/// The whole suite's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteReport {
    pub backend: String,
    pub passed: usize,
    pub total: usize,
    pub required_passed: usize,
    pub required_total: usize,
    pub cases: Vec<CaseResult>,
}

impl SuiteReport {
    /// Every required case passed.
    pub fn ok(&self) -> bool {
        self.required_passed == self.required_total
    }
}

type CaseFn = fn(&mut Ctx<'_>) -> Result<(), String>;

/// A case of the specification.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub id: &'static str,
    pub title: &'static str,
    pub required: bool,
    run: CaseFn,
}

const fn case(id: &'static str, title: &'static str, required: bool, run: CaseFn) -> Case {
    Case {
        id,
        title,
        required,
        run,
    }
}

/// Every case, in order.
pub const CASES: &[Case] = &[
    case(
        "E01",
        "read a host secret",
        true,
        case_files::e01_read_secrets,
    ),
    case(
        "E02",
        "write outside the workspace",
        true,
        case_files::e02_write_outside,
    ),
    case(
        "E03",
        "symlink, hardlink and rename escapes",
        true,
        case_files::e03_links,
    ),
    case(
        "E04",
        "symlink/TOCTOU on protected paths",
        true,
        case_files::e04_protected_setup,
    ),
    case(
        "E05",
        "protected paths in the workspace",
        true,
        case_files::e05_protected_writes,
    ),
    case("E06", "direct network egress", true, case_net::e06_egress),
    case("E07", "proxy policy", true, case_net::e07_proxy_policy),
    case("E08", "proxy bypass", true, case_net::e08_proxy_bypass),
    case("E09", "DNS exfiltration", true, case_net::e09_dns),
    case(
        "E10",
        "Unix socket to a host daemon",
        true,
        case_net::e10_unix_sockets,
    ),
    case("E11", "abstract Unix socket", true, case_net::e11_abstract),
    case("E12", "inherited descriptors", true, case_proc::e12_fds),
    case(
        "E13",
        "ptrace and memory of other processes",
        true,
        case_proc::e13_ptrace,
    ),
    case("E14", "secret in the environment", true, case_proc::e14_env),
    case("E15", "signals out", true, case_proc::e15_signals),
    case(
        "E16",
        "mount and namespace games",
        true,
        case_kernel::e16_mounts,
    ),
    case(
        "E17",
        "capability and set-uid escalation",
        true,
        case_kernel::e17_privileges,
    ),
    case(
        "E18",
        "kernel-surface system calls",
        true,
        case_kernel::e18_kernel_surface,
    ),
    case("E19", "architecture confusion", true, case_kernel::e19_arch),
    case(
        "E20",
        "/proc and /sys writes",
        true,
        case_kernel::e20_proc_sys,
    ),
    case("E21", "devices", true, case_kernel::e21_devices),
    case("E22", "fork bomb", false, case_limits::e22_fork_bomb),
    case("E23", "memory bomb", false, case_limits::e23_memory_bomb),
    case("E24", "disk fill", false, case_limits::e24_disk_fill),
    case(
        "E25",
        "CPU spin, timeout and orphans",
        false,
        case_proc::e25_orphans,
    ),
    case("E26", "persistence", false, case_proc::e26_persistence),
    case("E27", "cross-sandbox", false, case_proc::e27_cross_sandbox),
    case(
        "E28",
        "host loopback services",
        false,
        case_net::e28_loopback,
    ),
    case("E29", "information leak", false, case_meta::e29_info),
    case(
        "E30",
        "fail-closed behaviour",
        true,
        case_meta::e30_fail_closed,
    ),
];

/// Runs the suite (or the cases named in `opts.only`).
pub fn run_suite(opts: &SuiteOptions) -> SuiteReport {
    let cases: Vec<CaseResult> = CASES
        .iter()
        .filter(|c| opts.only.is_empty() || opts.only.iter().any(|o| o.eq_ignore_ascii_case(c.id)))
        .map(|c| run_case(c, opts))
        .collect();
    let count = |f: &dyn Fn(&CaseResult) -> bool| cases.iter().filter(|c| f(c)).count();
    SuiteReport {
        backend: opts.backend.name().to_string(),
        passed: count(&|c| c.passed),
        total: cases.len(),
        required_passed: count(&|c| c.required && c.passed),
        required_total: count(&|c| c.required),
        cases,
    }
}

/// Runs one case.
pub fn run_case(case: &Case, opts: &SuiteOptions) -> CaseResult {
    let started = Instant::now();
    let mut result = CaseResult {
        id: case.id.to_string(),
        title: case.title.to_string(),
        required: case.required,
        passed: false,
        checks: Vec::new(),
        degraded: Vec::new(),
        duration_ms: 0,
    };
    match tempfile::Builder::new()
        .prefix("aegisclaw-escape-")
        .tempdir()
    {
        Ok(dir) => {
            let mut ctx = Ctx {
                opts,
                dir: dir.path().to_path_buf(),
                checks: Vec::new(),
                degraded: Vec::new(),
            };
            if let Err(e) = (case.run)(&mut ctx) {
                ctx.checks.push(Check {
                    what: "the case ran".into(),
                    ok: false,
                    detail: e,
                });
            }
            result.checks = ctx.checks;
            result.degraded = ctx.degraded;
        }
        Err(e) => result.checks.push(Check {
            what: "a scratch directory".into(),
            ok: false,
            detail: e.to_string(),
        }),
    }
    result.passed = !result.checks.is_empty() && result.checks.iter().all(|c| c.ok);
    result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    result
}

/// What one probe run produced.
#[derive(Debug)]
pub(crate) struct Probed {
    pub(crate) lines: Vec<Line>,
    /// stdout and stderr together (where a leaked token would show).
    pub(crate) raw: String,
    pub(crate) report: RunReport,
}

impl Probed {
    /// The lines of operation `op`.
    pub(crate) fn op<'a>(&'a self, op: &'a str) -> impl Iterator<Item = &'a Line> {
        self.lines.iter().filter(move |l| l.op == op)
    }

    /// Whether the run went without seccomp (by opt-in).
    pub(crate) fn degraded_seccomp(&self) -> bool {
        self.report
            .degraded
            .iter()
            .any(|d| d.layer == SandboxLayer::Seccomp)
    }

    /// Names of the system calls the sandbox's seccomp observer recorded.
    pub(crate) fn denied_syscalls(&self) -> Vec<String> {
        self.report
            .exec
            .denials
            .iter()
            .filter_map(|d| match d {
                crate::Denial::Syscall { syscall, .. } => Some(syscall.clone()),
                crate::Denial::Network { family, .. } => Some(format!("socket:{family}")),
                _ => None,
            })
            .collect()
    }
}

/// A case's working state.
pub(crate) struct Ctx<'a> {
    pub(crate) opts: &'a SuiteOptions,
    /// The case's scratch directory on the host (removed afterwards).
    pub(crate) dir: PathBuf,
    checks: Vec<Check>,
    degraded: Vec<Degraded>,
}

impl Ctx<'_> {
    /// A spec with the probe binary granted read-only and the runtime's home hidden.
    pub(crate) fn spec(&self) -> SandboxSpec {
        let mut limits = self.opts.limits.clone();
        limits.timeout = limits.timeout.min(Duration::from_secs(20));
        limits.memory = limits.memory.min(ByteSize::mib(512)).max(ByteSize::mib(64));
        let mut spec = SandboxSpec::new(limits);
        spec.read_only.push(self.opts.probe.clone());
        spec.allow_degraded = self.opts.allow_degraded.clone();
        spec.hidden.extend(self.opts.runtime_home.clone());
        spec
    }

    /// A directory under the case's scratch directory.
    pub(crate) fn mkdir(&self, rel: &str) -> Result<PathBuf, String> {
        let path = self.dir.join(rel);
        std::fs::create_dir_all(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Runs the probe with `ops` in a sandbox built from `spec`.
    pub(crate) fn probe(&mut self, spec: SandboxSpec, ops: &[String]) -> Result<Probed, String> {
        self.probe_with(spec, ops, Stdio::Null)
    }

    pub(crate) fn probe_with(
        &mut self,
        spec: SandboxSpec,
        ops: &[String],
        stdin: Stdio,
    ) -> Result<Probed, String> {
        let exec = self.probe_exec(ops);
        let stdio = ExecStdio {
            stdin,
            stdout: Stdio::Piped,
            stderr: Stdio::Piped,
        };
        let out = self
            .opts
            .backend
            .run(spec, &exec, stdio)
            .map_err(|e| format!("the sandbox did not run: {e}"))?;
        for d in &out.report.degraded {
            if !self.degraded.contains(d) {
                self.degraded.push(d.clone());
            }
        }
        let mut raw = String::from_utf8_lossy(&out.stdout).into_owned();
        raw.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok(Probed {
            lines: probe::parse(&out.stdout),
            raw,
            report: out.report,
        })
    }

    pub(crate) fn probe_exec(&self, ops: &[String]) -> ExecSpec {
        let mut args: Vec<OsString> = vec![PROBE_ARG.into()];
        args.extend(ops.iter().map(OsString::from));
        ExecSpec::new(self.opts.probe.clone()).args(args)
    }

    /// Records a check.
    pub(crate) fn check(&mut self, what: impl Into<String>, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            what: what.into(),
            ok,
            detail: detail.into(),
        });
    }

    /// A check that passes when `problems` is empty.
    pub(crate) fn none(
        &mut self,
        what: impl Into<String>,
        problems: Vec<String>,
        fine: impl Into<String>,
    ) {
        let ok = problems.is_empty();
        let detail = if ok { fine.into() } else { problems.join("; ") };
        self.check(what, ok, detail);
    }

    /// Checks that none of `tokens` appears in the probe's output.
    pub(crate) fn not_leaked(&mut self, probed: &Probed, tokens: &[(&str, &str)]) {
        let leaked: Vec<String> = tokens
            .iter()
            .filter(|(_, t)| !t.is_empty() && probed.raw.contains(*t))
            .map(|(what, _)| format!("{what} was read"))
            .collect();
        let names: Vec<&str> = tokens.iter().map(|(w, _)| *w).collect();
        self.none(
            "no canary token in the probe's output",
            leaked,
            format!("checked: {}", names.join(", ")),
        );
    }

    /// Checks that the launcher's seccomp record names each of `syscalls`.
    pub(crate) fn seccomp_saw(&mut self, probed: &Probed, syscalls: &[&str]) {
        let seen = probed.denied_syscalls();
        let missing: Vec<String> = syscalls
            .iter()
            .filter(|s| !seen.iter().any(|x| x == *s))
            .map(|s| format!("{s} was not refused by the seccomp filter"))
            .collect();
        let degraded = self
            .degraded
            .iter()
            .any(|d| d.layer == SandboxLayer::Seccomp);
        if degraded {
            self.check(
                "the seccomp filter refused the calls",
                true,
                "seccomp degraded by opt-in; not checked",
            );
        } else {
            self.none(
                "the seccomp filter refused the calls (launcher's record)",
                missing,
                format!("refused: {}", syscalls.join(", ")),
            );
        }
    }

    /// Checks that every line of `op` failed.
    pub(crate) fn all_failed(&mut self, probed: &Probed, op: &str, what: &str) {
        let succeeded: Vec<String> = probed
            .op(op)
            .filter(|l| l.ok)
            .map(|l| format!("{} {}: {}", l.op, l.arg, l.out))
            .collect();
        let tried = probed.op(op).count();
        self.none(what, succeeded, format!("{tried} attempt(s), all refused"));
    }
}

/// Whether the host process runs as root.
pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The real home of the user running the suite.
pub(crate) fn user_home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|h| h.is_absolute() && h != Path::new("/"))
}

/// The helper binary's main: `aegisclaw-sandbox-helper selftest [--case ID]…
/// [--allow-degraded LAYER]… [--json]`. Exit 0 when every selected required case passed.
pub fn helper_main() -> std::process::ExitCode {
    // SAFETY: first thing in main; no thread exists yet.
    unsafe { plant_runtime_canary() };
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("selftest") {
        eprintln_usage();
        return std::process::ExitCode::from(2);
    }
    let mut only = Vec::new();
    let mut degraded = Vec::new();
    let mut json = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--case" => only.extend(args.next()),
            "--allow-degraded" => match args.next().as_deref() {
                Some(l) => match SandboxLayer::ALL.iter().find(|x| x.as_str() == l) {
                    Some(layer) => degraded.push(*layer),
                    None => return std::process::ExitCode::from(2),
                },
                None => return std::process::ExitCode::from(2),
            },
            "--json" => json = true,
            _ => {
                eprintln_usage();
                return std::process::ExitCode::from(2);
            }
        }
    }
    let Ok(exe) = std::env::current_exe() else {
        return std::process::ExitCode::from(2);
    };
    let config = aegisclaw_core::SandboxConfig::default();
    let mut backend = NativeBackend::new(&exe, &config);
    if !is_root() {
        backend = backend.with_state_dir(std::env::temp_dir());
    }
    let opts = SuiteOptions {
        backend,
        probe: exe,
        limits: config.limits,
        allow_degraded: degraded,
        runtime_home: None,
        only,
    };
    let report = run_suite(&opts);
    let text = if json {
        serde_json::to_string_pretty(&report).unwrap_or_default()
    } else {
        report
            .cases
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.id,
                    if c.passed { "pass" } else { "FAIL" },
                    c.title
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{text}");
    if report.ok() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}

fn eprintln_usage() {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "usage: aegisclaw-sandbox-helper selftest [--case ID]... [--allow-degraded LAYER]... [--json]"
    );
}
