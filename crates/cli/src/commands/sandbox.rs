//! `aegisclaw sandbox run|selftest`: run a command in the configured sandbox, or prove the
//! sandbox holds on this machine by attacking it.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use aegisclaw_audit::{AuditLog, Options as AuditOptions, Record};
use aegisclaw_core::{Limits, SandboxBackend};
use aegisclaw_sandbox::{
    Backend, ExecSpec, ExecStdio, NativeBackend, RunReport, SandboxSpec, escape,
};
use anyhow::Context;
use bytesize::ByteSize;
use clap::{Args, Subcommand};

use crate::commands::Ctx;
use crate::error::{EXIT_NEGATIVE, with_hint};
use crate::output::{print_json, print_table};

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Run a command in the sandbox: nothing of the host is visible but the system directories
    /// and the paths you grant; no network; limits from sandbox.limits (flags can only lower them).
    /// Exits with the command's exit code (128 + signal when killed); 2 when the sandbox could
    /// not be built
    Run(RunArgs),
    /// Attack the sandbox on this machine (escape suite E01–E30) and print a score per attack;
    /// exit 1 when a required case fails
    Selftest(SelftestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Make PATH visible read-only (repeatable)
    #[arg(long = "ro", value_name = "PATH")]
    read_only: Vec<PathBuf>,
    /// Make PATH visible read-write (repeatable); .git/hooks, .git/config, shell rc files and
    /// editor settings in it stay read-only
    #[arg(long = "rw", value_name = "PATH")]
    read_write: Vec<PathBuf>,
    /// Working directory inside the sandbox [default: the current directory when it is granted,
    /// else the sandbox's $HOME]
    #[arg(long, value_name = "DIR")]
    workdir: Option<PathBuf>,
    /// Memory limit, e.g. 256M or 1G (at most sandbox.limits.memory)
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    mem: Option<ByteSize>,
    /// Process limit (at most sandbox.limits.pids)
    #[arg(long, value_name = "N")]
    pids: Option<u32>,
    /// Wall-clock limit, e.g. 10s or 2m (at most sandbox.limits.timeout)
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    /// Set an environment variable inside (repeatable); never pass secrets this way
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Lease the stored secret NAME to this run (repeatable): it appears as the file
    /// /run/secrets/NAME, readable only inside, for the run's time at most; the command's output
    /// is redacted of it
    #[arg(long = "secret", value_name = "NAME", value_parser = aegisclaw_core::SecretName::parse)]
    secrets: Vec<aegisclaw_core::SecretName>,
    /// After the command's own output, print a one-line JSON summary on stdout:
    /// {"backend","status","exit_code","duration_ms","timed_out","denials","degraded"}
    #[arg(long)]
    json: bool,
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub(crate) struct SelftestArgs {
    /// The backend to attack [default: sandbox.backend]
    #[arg(long, value_enum)]
    backend: Option<SandboxBackend>,
    /// Print the results as JSON
    #[arg(long)]
    json: bool,
}

/// Host variables that pass into the sandbox (terminal and locale settings, never secrets).
const PASSED_ENV: &[&str] = &["TERM", "COLORTERM", "NO_COLOR", "LANG", "LC_ALL", "TZ"];

pub(crate) fn run(ctx: &Ctx, cmd: SandboxCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SandboxCommand::Run(args) => run_command(ctx, args),
        SandboxCommand::Selftest(args) => selftest(ctx, args),
    }
}

fn parse_size(s: &str) -> Result<ByteSize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a size such as 512M or 1G, got {s:?}"))?;
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("unknown size unit in {s:?}; use K, M or G")),
    };
    n.checked_mul(factor)
        .map(ByteSize)
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected K=V, got {s:?}"))?;
    Ok((k.to_string(), v.to_string()))
}

/// `limit` lowered by `flag`; raising it is refused.
fn lower<T: PartialOrd + std::fmt::Display + Copy>(
    config: T,
    flag: Option<T>,
    name: &str,
    key: &str,
) -> anyhow::Result<T> {
    match flag {
        Some(v) if v > config => Err(with_hint(
            format!("{name} {v} is above the configured limit {config}"),
            format!("flags can only lower limits; raise {key} in config.toml first"),
        )),
        Some(v) => Ok(v),
        None => Ok(config),
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    let abs = std::path::absolute(path).with_context(|| format!("resolve {}", path.display()))?;
    if abs
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return abs
            .canonicalize()
            .with_context(|| format!("resolve {}", path.display()));
    }
    Ok(abs)
}

fn run_command(ctx: &Ctx, args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    if config.sandbox.backend != SandboxBackend::Native {
        return Err(with_hint(
            format!(
                "the {} backend is not available yet; only the native backend runs commands",
                config.sandbox.backend
            ),
            "set sandbox.backend = \"native\" in config.toml",
        ));
    }
    let base = &config.sandbox.limits;
    let timeout = lower(
        humantime::Duration::from(base.timeout),
        args.timeout.map(humantime::Duration::from),
        "--timeout",
        "sandbox.limits.timeout",
    )?;
    let limits = Limits {
        memory: lower(base.memory, args.mem, "--mem", "sandbox.limits.memory")?,
        pids: lower(base.pids, args.pids, "--pids", "sandbox.limits.pids")?,
        timeout: timeout.into(),
        ..base.clone()
    };
    if limits.pids == 0 || limits.timeout.is_zero() || limits.memory < ByteSize::mib(16) {
        return Err(with_hint(
            "limits too low: --pids must be at least 1, --timeout positive, --mem at least 16M",
            "raise the flag",
        ));
    }
    let mut spec = SandboxSpec::new(limits);
    for p in &args.read_only {
        spec.read_only.push(absolute(p)?);
    }
    for p in &args.read_write {
        spec.read_write.push(absolute(p)?);
    }
    spec.hidden.push(ctx.home.root().to_path_buf());
    spec.allow_degraded = config.sandbox.allow_degraded.clone();
    spec.owner = Some(aegisclaw_runtime::sandbox_owner(&ctx.home));
    for name in PASSED_ENV {
        if let Ok(value) = std::env::var(name) {
            spec.env.push(((*name).to_string(), value));
        }
    }
    spec.env.extend(args.env.iter().cloned());
    spec.workdir = match &args.workdir {
        Some(dir) => Some(absolute(dir)?),
        None => std::env::current_dir().ok().filter(|cwd| {
            spec.read_only
                .iter()
                .chain(&spec.read_write)
                .any(|g| cwd.starts_with(g))
        }),
    };
    let (program, rest) = args
        .command
        .split_first()
        .context("no command given after --")?;
    let exec = ExecSpec::new(program.clone()).args(rest.iter().cloned());
    let backend = NativeBackend::from_current_exe(&config.sandbox)?;
    let run_id = run_id();
    // Lockdown refuses every action, and the refusal is recorded.
    // (A home without a state database has never been locked down.)
    let lockdown = match ctx.home.state_db().exists() {
        true => aegisclaw_state::State::open(&ctx.home)?.lockdown()?,
        false => aegisclaw_state::Lockdown::default(),
    };
    if lockdown.active {
        let mut refused =
            audit_record(&spec, program, rest.len(), &run_id).result("refused: lockdown is on");
        refused.decision = "deny".into();
        AuditLog::new(&ctx.home, AuditOptions::from(&config.audit))
            .append(&[refused])
            .map_err(|e| anyhow::anyhow!("cannot record the refusal in the audit log: {e}"))?;
        eprintln!(
            "aegisclaw: refused: lockdown is on ({}); lift it with `aegisclaw lockdown off`",
            lockdown.reason.unwrap_or_default()
        );
        return Ok(ExitCode::from(aegisclaw_runtime::EXIT_REFUSED));
    }
    // Granted secrets: a lease for this run only, as long as the run may take.
    let lease = lease_secrets(ctx, &config, &args.secrets, &run_id, spec.limits.timeout)?;
    if let Some(lease) = &lease {
        for (name, value) in lease.files() {
            spec.secrets
                .push(aegisclaw_sandbox::SecretFile::new(name, value.to_vec()));
        }
    }
    // Every run is an audited action: no record, no run.
    let audit = AuditLog::new(&ctx.home, AuditOptions::from(&config.audit));
    let lease_record = lease.as_ref().map(aegisclaw_secrets::Lease::record);
    let with_lease = |record: Record| match &lease_record {
        Some(leased) => lease_attrs(record, leased),
        None => record,
    };
    let started = with_lease(audit_record(&spec, program, rest.len(), &run_id))
        .reason("requested on the command line")
        .result("started");
    audit.append(&[started]).map_err(|e| {
        with_hint(
            format!("cannot record the run in the audit log: {e}"),
            "fix the audit log first (see `aegisclaw doctor` and `aegisclaw logs verify`); a run that cannot be audited does not start",
        )
    })?;
    let record_end = |end: Record| {
        if let Err(e) = audit.append(&[end]) {
            eprintln!(
                "aegisclaw: warning: the end of run {run_id} could not be recorded in the audit log: {e}"
            );
        }
    };
    let recorded_spec = spec.clone();
    let result = match &lease {
        // The output may echo a leased secret: it goes through the redactor.
        Some(lease) => run_redacted(&backend, spec, &exec, &lease.redactor()),
        None => {
            let stdio = ExecStdio {
                stdin: aegisclaw_sandbox::Stdio::Inherit,
                stdout: aegisclaw_sandbox::Stdio::Inherit,
                stderr: aegisclaw_sandbox::Stdio::Inherit,
            };
            backend.run(spec, &exec, stdio).map(|o| o.report)
        }
    };
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            record_end(
                with_lease(audit_record(&recorded_spec, program, rest.len(), &run_id))
                    .result(format!("refused: {e}")),
            );
            return Err(match e.hint() {
                Some(hint) => with_hint(e.to_string(), hint),
                None => anyhow::Error::new(e),
            });
        }
    };
    // The run is over: the values are wiped from memory now.
    drop(lease);
    record_end(aegisclaw_runtime::with_report(
        with_lease(audit_record(&recorded_spec, program, rest.len(), &run_id)),
        &report,
    ));
    if args.json {
        println!("{}", serde_json::to_string(&summary(&report))?);
    } else {
        print_report_notes(&report);
    }
    std::io::stdout().flush()?;
    Ok(ExitCode::from((report.exec.code() & 0xff) as u8))
}

/// A lease of the secrets granted on the command line, valid for the run's time limit; `None`
/// when none is granted.
fn lease_secrets(
    ctx: &Ctx,
    config: &aegisclaw_core::Config,
    names: &[aegisclaw_core::SecretName],
    run_id: &str,
    ttl: Duration,
) -> anyhow::Result<Option<aegisclaw_secrets::Lease>> {
    if names.is_empty() {
        return Ok(None);
    }
    let hinted = |e: aegisclaw_secrets::Error| match e.hint() {
        Some(hint) => with_hint(e.to_string(), hint),
        None => anyhow::Error::new(e),
    };
    let store = crate::commands::secrets::open_secret_store(ctx, config)?;
    let grants: Vec<_> = names
        .iter()
        .cloned()
        .map(aegisclaw_secrets::SecretGrant::file)
        .collect();
    aegisclaw_secrets::Broker::new(store)
        .lease(run_id, &grants, ttl)
        .map(Some)
        .map_err(hinted)
}

/// The lease in a run's audit record: its id, expiry and the secrets' names (never values).
fn lease_attrs(mut record: Record, lease: &aegisclaw_secrets::LeaseRecord) -> Record {
    for s in &lease.secrets {
        record = record.scope(format!("secrets.access:{}", s.name));
    }
    record
        .attr("lease", lease.lease_id.clone())
        .attr("lease.expires_at", lease.expires_at.clone())
}

/// Runs with stdout and stderr piped through `redactor` to ours (stdin stays the terminal's).
fn run_redacted(
    backend: &NativeBackend,
    spec: SandboxSpec,
    exec: &ExecSpec,
    redactor: &aegisclaw_redact::Redactor,
) -> aegisclaw_sandbox::Result<RunReport> {
    let mut session = backend.prepare(spec)?;
    let stdio = ExecStdio {
        stdin: aegisclaw_sandbox::Stdio::Inherit,
        stdout: aegisclaw_sandbox::Stdio::Piped,
        stderr: aegisclaw_sandbox::Stdio::Piped,
    };
    let outcome = session.exec(exec, stdio).and_then(|mut execution| {
        let (out, err) = (execution.stdout.take(), execution.stderr.take());
        std::thread::scope(|s| {
            s.spawn(|| copy_redacted(out, std::io::stdout(), redactor));
            copy_redacted(err, std::io::stderr(), redactor);
        });
        execution.wait()
    });
    let degraded = session.degraded().to_vec();
    let destroyed = session.destroy();
    let exec = outcome?;
    destroyed?;
    Ok(RunReport {
        backend: backend.name().to_string(),
        exec,
        degraded,
    })
}

/// Copies a stream through the redactor until it ends. A closed output (`| head`) stops the
/// copy; the command then sees a broken pipe, as it would without us.
fn copy_redacted(
    from: Option<std::fs::File>,
    to: impl Write,
    redactor: &aegisclaw_redact::Redactor,
) {
    let Some(mut from) = from else { return };
    let mut writer = aegisclaw_redact::RedactWriter::new(redactor, to);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match std::io::Read::read(&mut from, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if writer
                    .write_all(&buf[..n])
                    .and_then(|()| writer.flush())
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = writer.finish();
}

/// On stderr: what the sandbox denied the command and which layers it ran without.
pub(crate) fn print_report_notes(report: &RunReport) {
    for denial in &report.exec.denials {
        eprintln!("aegisclaw: {denial}");
    }
    for d in &report.degraded {
        eprintln!(
            "aegisclaw: degraded: ran without {} ({})",
            d.layer, d.reason
        );
    }
}

/// A fresh id tying a run's records together.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sandbox-{}-{nanos:x}", std::process::id())
}

/// The audit record of a run: who, what (the program and how many arguments — arguments can hold
/// secrets a person typed, so they are not recorded), the scopes it was granted, the limits.
fn audit_record(spec: &SandboxSpec, program: &OsString, args: usize, run_id: &str) -> Record {
    let user = crate::commands::user_name();
    let mut record = Record::new(format!("cli:{user}"), "sandbox.run", "allow")
        .run(run_id)
        .attr("backend", "native")
        .attr("program", program.to_string_lossy())
        .attr("args", args.to_string())
        .attr("memory", spec.limits.memory.to_string())
        .attr("pids", spec.limits.pids.to_string())
        .attr(
            "timeout",
            humantime::format_duration(spec.limits.timeout).to_string(),
        );
    for path in &spec.read_only {
        record = record.scope(format!("files.read:{}", path.display()));
    }
    for path in &spec.read_write {
        record = record.scope(format!("files.write:{}", path.display()));
    }
    record
}

/// The `--json` summary of a run.
fn summary(report: &RunReport) -> serde_json::Value {
    serde_json::json!({
        "backend": report.backend,
        "status": report.exec.status,
        "exit_code": report.exec.code(),
        "duration_ms": u64::try_from(report.exec.duration.as_millis()).unwrap_or(u64::MAX),
        "timed_out": report.exec.timed_out,
        "denials": report.exec.denials,
        "degraded": report.degraded,
    })
}

#[allow(
    unsafe_code,
    reason = "E14 plants a canary in this process's environment while it is single-threaded"
)]
fn selftest(ctx: &Ctx, args: SelftestArgs) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let backend = args.backend.unwrap_or(config.sandbox.backend);
    if backend != SandboxBackend::Native {
        return Err(with_hint(
            format!(
                "the {backend} backend is not available yet; only the native backend can be attacked"
            ),
            "run `aegisclaw sandbox selftest --backend native`",
        ));
    }
    // SAFETY: the command runs on the main thread and no other thread exists yet (the suite
    // starts its own threads later).
    unsafe { escape::plant_runtime_canary() };
    let exe = std::env::current_exe().context("locate the aegisclaw executable")?;
    let opts = escape::SuiteOptions {
        backend: NativeBackend::new(&exe, &config.sandbox),
        probe: exe,
        limits: config.sandbox.limits.clone(),
        allow_degraded: config.sandbox.allow_degraded.clone(),
        runtime_home: Some(ctx.home.root().to_path_buf()),
        only: Vec::new(),
    };
    let report = escape::run_suite(&opts);
    if args.json {
        print_json(&report)?;
    } else {
        let mut rows = vec![vec![
            "case".to_string(),
            "result".into(),
            "attack".into(),
            "checks".into(),
        ]];
        for case in &report.cases {
            let result = match (case.passed, case.required) {
                (true, _) => "pass",
                (false, true) => "FAIL",
                (false, false) => "fail (reported)",
            };
            let passed = case.checks.iter().filter(|c| c.ok).count();
            rows.push(vec![
                case.id.clone(),
                result.into(),
                case.title.clone(),
                format!("{passed}/{} in {} ms", case.checks.len(), case.duration_ms),
            ]);
            for check in case.checks.iter().filter(|c| !c.ok) {
                rows.push(vec![
                    String::new(),
                    String::new(),
                    format!("  {}", check.what),
                    check.detail.clone(),
                ]);
            }
            for d in &case.degraded {
                rows.push(vec![
                    String::new(),
                    String::new(),
                    format!("  degraded: {}", d.layer),
                    d.reason.clone(),
                ]);
            }
        }
        print_table(&rows)?;
        println!();
        println!(
            "{}: {}/{} attacks held ({}/{} required: E01-E21, E30)",
            report.backend,
            report.passed,
            report.total,
            report.required_passed,
            report.required_total
        );
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}
