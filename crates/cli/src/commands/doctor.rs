use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::ExitCode;

use aegisclaw_audit::{AuditLog, Options as AuditOptions, VerifyOptions};
use aegisclaw_core::{Config, Home, SandboxBackend};
use aegisclaw_sandbox::{CgroupVersion, HostReport, Probe};
use clap::Args;
use serde::Serialize;

use crate::commands::Ctx;
use crate::error::EXIT_NEGATIVE;
use crate::output::{print_json, print_table};

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Print the checks as JSON: {"ok", "counts", "checks": [{"name", "status", "detail", "fix"}]}
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Warn,
    Fail,
}

/// One row of the report.
#[derive(Debug, Serialize)]
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) status: Status,
    pub(crate) detail: String,
    /// How to fix it; `null` when the check passed.
    pub(crate) fix: Option<String>,
}

impl Check {
    fn pass(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }
    fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    /// Fails when `required`, else only warns.
    fn missing(
        name: &str,
        required: bool,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        if required {
            Self::fail(name, detail, fix)
        } else {
            Self::warn(name, detail, fix)
        }
    }
}

#[derive(Debug, Serialize)]
struct Counts {
    pass: usize,
    warn: usize,
    fail: usize,
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    counts: Counts,
    checks: Vec<Check>,
}

pub(crate) fn run(ctx: &Ctx, args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let checks = checks(&ctx.home);
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    let counts = Counts {
        pass: count(Status::Pass),
        warn: count(Status::Warn),
        fail: count(Status::Fail),
    };
    let ok = counts.fail == 0;
    if args.json {
        print_json(&Report { ok, counts, checks })?;
    } else {
        let mut rows = Vec::new();
        for c in &checks {
            let status = match c.status {
                Status::Pass => "pass",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            rows.push(vec![status.to_string(), c.name.clone(), c.detail.clone()]);
            if let Some(fix) = &c.fix {
                rows.push(vec![String::new(), String::new(), format!("fix: {fix}")]);
            }
        }
        print_table(&rows)?;
        println!();
        println!(
            "{} passed, {} warnings, {} failed",
            counts.pass, counts.warn, counts.fail
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}

fn checks(home: &Home) -> Vec<Check> {
    let mut checks = home_checks(home);
    let config = match Config::load(&home.config_file()) {
        Ok(config) => {
            let source = if home.config_file().exists() {
                "valid"
            } else {
                "no file; embedded defaults"
            };
            checks.push(Check::pass(
                "config",
                format!("{} ({source})", home.config_file().display()),
            ));
            config
        }
        Err(e) => {
            checks.push(Check::fail(
                "config",
                e.to_string(),
                "correct that key, then run `aegisclaw config validate`",
            ));
            Config::default()
        }
    };
    checks.extend(audit_checks(home, &config));
    checks.push(policy_check(home, &config));
    let report = HostReport::detect();
    checks.extend(sandbox_checks(&config, &report));
    if config.sandbox.backend == SandboxBackend::Native {
        checks.push(sandbox_run_check(&config));
    }
    checks
}

/// Builds a real native sandbox and runs `true` in it: every layer applied, or the first that
/// cannot be, with its fix.
fn sandbox_run_check(config: &Config) -> Check {
    use aegisclaw_sandbox::{Backend, ExecSpec, ExecStdio, NativeBackend, SandboxSpec};
    let backend = match NativeBackend::from_current_exe(&config.sandbox) {
        Ok(b) => b,
        Err(e) => return Check::fail("sandbox", e.to_string(), "reinstall aegisclaw"),
    };
    let mut spec = SandboxSpec::new(config.sandbox.limits.clone());
    spec.allow_degraded = config.sandbox.allow_degraded.clone();
    let started = std::time::Instant::now();
    match backend.run(spec, &ExecSpec::new("true"), ExecStdio::default()) {
        Ok(out) if out.report.exec.code() == 0 && out.report.degraded.is_empty() => Check::pass(
            "sandbox",
            format!(
                "ran `true` in a native sandbox with every layer in {} ms",
                started.elapsed().as_millis()
            ),
        ),
        Ok(out) if out.report.exec.code() == 0 => Check::warn(
            "sandbox",
            format!(
                "runs degraded, without: {}",
                out.report
                    .degraded
                    .iter()
                    .map(|d| format!("{} ({})", d.layer, d.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "fix the missing layers, then remove them from sandbox.allow_degraded",
        ),
        Ok(out) => Check::fail(
            "sandbox",
            format!(
                "`true` failed inside the sandbox: {}",
                out.report.exec.status
            ),
            "run `aegisclaw sandbox run -- true` to see why",
        ),
        Err(e) => Check::fail(
            "sandbox",
            e.to_string(),
            e.hint()
                .unwrap_or_else(|| "run `aegisclaw sandbox selftest`".into()),
        ),
    }
}

/// The audit log verifies; its signing key is private.
fn audit_checks(home: &Home, config: &Config) -> Vec<Check> {
    let log = AuditLog::new(home, AuditOptions::from(&config.audit));
    let log_check = match log.verify(&VerifyOptions::default()) {
        Ok(r) if r.ok && r.entries == 0 => Check::pass("audit log", "empty (no entries yet)"),
        Ok(r) if r.ok => Check::pass(
            "audit log",
            format!(
                "{} entries in {} segments verify{}",
                r.entries,
                r.segments,
                r.latest_checkpoint
                    .map(|s| format!("; the newest signed checkpoint covers {s}"))
                    .unwrap_or_default()
            ),
        ),
        Ok(r) => {
            let first = r.problems.first().map_or(String::new(), |p| {
                format!(": {}: {}", p.location, p.message)
            });
            Check::fail(
                "audit log",
                format!(
                    "{} problem{}{}{first}",
                    r.problems.len(),
                    if r.problems.len() == 1 { "" } else { "s" },
                    r.first_bad_seq
                        .map(|s| format!(", the first bad entry is {s}"))
                        .unwrap_or_default()
                ),
                "run `aegisclaw logs verify` for every problem; restore the audit directory from a backup, or move it aside to start a new log",
            )
        }
        Err(e) => Check::fail(
            "audit log",
            e.to_string(),
            "run `aegisclaw logs verify` for details",
        ),
    };
    let path = log.signing_key_path();
    let owner = std::fs::metadata(home.root()).map(|m| m.uid()).ok();
    let key_check = match std::fs::metadata(&path) {
        Err(_) if log.dir().join("checkpoint").exists() => Check::fail(
            "audit key",
            format!(
                "{} is missing, but checkpoints signed by it exist",
                path.display()
            ),
            "restore the key from a backup (without it no new checkpoint can be signed)",
        ),
        Err(_) => Check::pass(
            "audit key",
            format!(
                "{} not created yet (created with the first entry)",
                path.display()
            ),
        ),
        Ok(m) if m.permissions().mode() & 0o077 != 0 => Check::fail(
            "audit key",
            format!(
                "{} is {:o}: other users can read the log signing key",
                path.display(),
                m.permissions().mode() & 0o777
            ),
            format!("chmod 600 {}", path.display()),
        ),
        Ok(m) if Some(m.uid()) != owner => Check::fail(
            "audit key",
            format!("{} belongs to another user than the home", path.display()),
            format!("chown it to the owner of {}", home.root().display()),
        ),
        Ok(m) => Check::pass(
            "audit key",
            format!("{} is {:o}", path.display(), m.permissions().mode() & 0o777),
        ),
    };
    vec![log_check, key_check]
}

/// The active policy compiles and honours the contract; without it every action is denied.
fn policy_check(home: &Home, config: &Config) -> Check {
    let path = aegisclaw_policy::active_policy_path(home, config);
    match aegisclaw_policy::PolicyEngine::for_home(home, config).status() {
        Ok(status) => {
            let origin = if config.policy.file.is_some() {
                "policy.file".to_string()
            } else {
                format!("{} template", config.policy.template)
            };
            Check::pass(
                "policy",
                format!(
                    "{} ({origin}; compiles, {} tests)",
                    path.display(),
                    status.tests.len()
                ),
            )
        }
        Err(aegisclaw_policy::Error::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Check::fail(
                "policy",
                format!("{} is missing: every action is denied", path.display()),
                format!(
                    "run `aegisclaw policy use {}` to write it from the template",
                    config.policy.template
                ),
            )
        }
        Err(e) => Check::fail(
            "policy",
            format!("{e}: every action is denied"),
            format!(
                "fix the file and check it with `aegisclaw policy check`, or start over with `aegisclaw policy use --force {}`",
                config.policy.template
            ),
        ),
    }
}

fn home_checks(home: &Home) -> Vec<Check> {
    if !home.root().exists() {
        return vec![Check::fail(
            "home",
            format!("{} does not exist", home.root().display()),
            "run `aegisclaw init`",
        )];
    }
    // Every directory must belong to whoever owns the home itself.
    let owner = std::fs::metadata(home.root()).map(|m| m.uid()).ok();
    let mut loose = Vec::new();
    for dir in home.dirs() {
        match std::fs::metadata(&dir) {
            Ok(m) if m.permissions().mode() & 0o777 != 0o700 => {
                loose.push(format!(
                    "{} is {:o}",
                    dir.display(),
                    m.permissions().mode() & 0o777
                ));
            }
            Ok(m) if Some(m.uid()) != owner => {
                loose.push(format!("{} has another owner", dir.display()));
            }
            Ok(_) => {
                loose.extend(loose_files(&dir));
            }
            Err(_) => loose.push(format!("{} is missing", dir.display())),
        }
    }
    let mut checks = Vec::new();
    if loose.is_empty() {
        checks.push(Check::pass(
            "home",
            format!("{} (directories 0700, files 0600)", home.root().display()),
        ));
    } else {
        checks.push(Check::fail(
            "home",
            loose.join("; "),
            format!(
                "run `aegisclaw init` to create missing directories, and `chmod -R go-rwx {}`",
                home.root().display()
            ),
        ));
    }
    checks
}

/// Files directly in `dir` that the group or others can access.
fn loose_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![format!("{} cannot be listed", dir.display())];
    };
    entries
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            (m.is_file() && m.permissions().mode() & 0o077 != 0).then(|| {
                format!(
                    "{} is {:o}",
                    e.path().display(),
                    m.permissions().mode() & 0o777
                )
            })
        })
        .collect()
}

fn sandbox_checks(config: &Config, report: &HostReport) -> Vec<Check> {
    let backend = config.sandbox.backend;
    let native = backend == SandboxBackend::Native;
    let mut checks = vec![Check::pass(
        "kernel",
        format!(
            "Linux {}{}",
            report.kernel,
            if report.running_as_root {
                ", running as root"
            } else {
                ""
            }
        ),
    )];
    let layer = |name: &str, probe: &Probe, required: bool, fix: &str| {
        if probe.available {
            Check::pass(name, probe.detail.clone())
        } else {
            Check::missing(name, required, probe.detail.clone(), fix)
        }
    };
    checks.push(layer(
        "user namespaces",
        &report.user_namespaces,
        native,
        "allow user namespaces (sysctl user.max_user_namespaces=15000), or choose the docker backend",
    ));
    checks.push(layer(
        "landlock",
        &report.landlock,
        native,
        "boot a kernel with CONFIG_SECURITY_LANDLOCK and `lsm=landlock,...`, or choose the docker backend",
    ));
    checks.push(layer(
        "seccomp",
        &report.seccomp,
        native,
        "use a kernel with CONFIG_SECCOMP_FILTER, or choose the docker backend",
    ));
    let controllers = &report.cgroups.controllers;
    let has = |c: &str| controllers.iter().any(|x| x.starts_with(c));
    if has("memory") && has("pids") {
        checks.push(Check::pass(
            "cgroups",
            format!("{:?}: {}", report.cgroups.version, controllers.join(", ")).to_lowercase(),
        ));
    } else {
        let detail = if report.cgroups.version == CgroupVersion::None {
            "no cgroup hierarchy is mounted at /sys/fs/cgroup".to_string()
        } else {
            format!(
                "memory and pids controllers needed, found: {}",
                controllers.join(", ")
            )
        };
        checks.push(Check::missing(
            "cgroups",
            native,
            detail,
            "mount cgroup2 at /sys/fs/cgroup with the memory and pids controllers enabled",
        ));
    }
    match backend {
        SandboxBackend::Native => {}
        SandboxBackend::Docker => checks.push(match &report.docker {
            Ok(d) if d.runtimes.iter().any(|r| r == config.sandbox.runtime.as_str()) => Check::pass(
                "docker",
                format!("engine {} at {}, runtimes: {}", d.version, d.socket.display(), d.runtimes.join(", ")),
            ),
            Ok(d) => Check::fail(
                "docker",
                format!(
                    "the engine has no `{}` runtime (it has: {})",
                    config.sandbox.runtime,
                    d.runtimes.join(", ")
                ),
                "register the runtime in /etc/docker/daemon.json and restart dockerd, or change sandbox.runtime",
            ),
            Err(e) => Check::fail("docker", e.clone(), "install docker.io and start dockerd"),
        }),
        SandboxBackend::Microvm => {
            checks.push(layer("kvm", &report.kvm, true, "enable hardware virtualisation and load the kvm module"));
            checks.push(layer("qemu", &report.qemu, true, "apt-get install qemu-system-x86"));
        }
    }
    checks
}

/// The host summary shown by `init` (and reused by `doctor`'s checks).
pub(crate) fn environment_rows(report: &HostReport) -> Vec<Vec<String>> {
    let mark = |p: &Probe| if p.available { "yes" } else { "no" }.to_string();
    let docker = match &report.docker {
        Ok(d) => (
            "yes".to_string(),
            format!(
                "{} (runtimes: {})",
                d.version,
                if d.runtimes.is_empty() {
                    "none".into()
                } else {
                    d.runtimes.join(", ")
                }
            ),
        ),
        Err(e) => ("no".to_string(), e.clone()),
    };
    vec![
        vec![
            "  kernel".into(),
            "".into(),
            format!("Linux {}", report.kernel),
        ],
        vec![
            "  user namespaces".into(),
            mark(&report.user_namespaces),
            report.user_namespaces.detail.clone(),
        ],
        vec![
            "  landlock".into(),
            mark(&report.landlock),
            report.landlock.detail.clone(),
        ],
        vec![
            "  seccomp".into(),
            mark(&report.seccomp),
            report.seccomp.detail.clone(),
        ],
        vec![
            "  cgroups".into(),
            format!("{:?}", report.cgroups.version).to_lowercase(),
            report.cgroups.controllers.join(", "),
        ],
        vec!["  docker".into(), docker.0, docker.1],
        vec![
            "  /dev/kvm".into(),
            mark(&report.kvm),
            report.kvm.detail.clone(),
        ],
        vec![
            "  qemu".into(),
            mark(&report.qemu),
            report.qemu.detail.clone(),
        ],
        vec![
            "  firecracker".into(),
            mark(&report.firecracker),
            report.firecracker.detail.clone(),
        ],
    ]
}
