//! Steps 3 to 6 of a run: approval, enforcement, redaction and audit of a [`Plan`].

use std::io::{Read, Write};
use std::time::{Duration, SystemTime};

use aegisclaw_audit::Record;
use aegisclaw_core::{Decision, SandboxBackend};
use aegisclaw_redact::Redactor;
use aegisclaw_sandbox::{
    Backend, ExecSpec, ExecStdio, NativeBackend, RunReport, SandboxSpec, SecretFile, Stdio,
};
use aegisclaw_secrets::Broker;
use aegisclaw_state::{ApprovalStatus, NewApproval, Resolution};

use crate::Runtime;
use crate::approval::{Answer, ApprovalRequest, Approver, Pending, RequestedScope};
use crate::error::{Error, Result};
use crate::plan::{Outcome, Plan, mounts_of};
use crate::stage::stage;

/// Exit code of a run that was refused before anything executed (as `env` and `timeout` use
/// 125 for "the wrapper failed", so it cannot be mistaken for the skill's own exit code).
pub const EXIT_REFUSED: u8 = 125;

/// Where a run's output goes (after redaction).
pub struct Streams<'a> {
    pub stdout: &'a mut (dyn Write + Send),
    pub stderr: &'a mut (dyn Write + Send),
}

impl std::fmt::Debug for Streams<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streams")
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum RunResult {
    /// The policy, a human, a deadline or a missing protection refused it: nothing ran.
    Refused { run_id: String, reason: String },
    /// The skill ran; its report says how it ended.
    Completed { run_id: String, report: RunReport },
}

impl RunResult {
    /// The skill's exit code (128 + signal when killed), or [`EXIT_REFUSED`].
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused { .. } => EXIT_REFUSED,
            Self::Completed { report, .. } => (report.exec.code() & 0xff) as u8,
        }
    }

    pub fn run_id(&self) -> &str {
        match self {
            Self::Refused { run_id, .. } | Self::Completed { run_id, .. } => run_id,
        }
    }
}

impl Runtime {
    /// Executes `plan`: asks `approver` when the policy says ask, runs the skill in the sandbox
    /// with exactly the granted scopes, streams its redacted output to `streams`, and records
    /// every step. Errors (the sandbox could not be built, the audit log cannot be written) are
    /// returned; refusals are a [`RunResult::Refused`].
    ///
    /// `broker` hands out the secrets the plan needs; it may be `None` when
    /// [`Plan::secrets`] is empty.
    pub fn run(
        &self,
        plan: &Plan,
        approver: &mut dyn Approver,
        broker: Option<&Broker>,
        streams: Streams<'_>,
    ) -> Result<RunResult> {
        let run_id = new_run_id();
        let actor = format!("skill:{}@{}", plan.skill.name, plan.skill.version);
        let base = |action: &str, decision: &str| {
            let mut r = Record::new(actor.clone(), action, decision)
                .run(run_id.clone())
                .attr("requested_by", self.actor.clone())
                .attr("digest", plan.skill.digest.clone())
                .attr("signature", plan.skill.signature)
                .attr("binding", plan.binding.clone());
            if let Some(signer) = &plan.skill.signer {
                r = r.attr("signer", signer.clone());
            }
            for s in &plan.scopes {
                r = r.scope(s.scope.clone());
            }
            r
        };

        let mut decided = base("policy.decide", plan.decision.as_str())
            .attr("program", plan.command.first().cloned().unwrap_or_default())
            .attr("args", plan.command.len().saturating_sub(1).to_string());
        for reason in &plan.reasons {
            decided = decided.reason(reason.to_string());
        }
        // What the guard found (rule, place and decodings; never the argument's text).
        for check in &plan.guard {
            for f in &check.findings {
                decided = decided.reason(format!(
                    "guard {} on --{}: {} {:.2} ({})",
                    check.verdict, check.argument, f.kind, f.score, f.detail
                ));
            }
        }
        if let Some(refusal) = &plan.refusal {
            decided = decided.result(format!("refused: {refusal}"));
        }
        self.append("the policy decision", decided)?;
        if plan.outcome == Outcome::Refused {
            return Ok(RunResult::Refused {
                run_id,
                reason: plan
                    .refusal
                    .clone()
                    .unwrap_or_else(|| "refused by policy".into()),
            });
        }

        let state = self.state()?;
        if plan.outcome == Outcome::Ask {
            let request = self.request(plan, &run_id);
            let queued = state.create_approval(&NewApproval {
                binding: plan.binding.clone(),
                request: serde_json::to_value(&request).unwrap_or_default(),
                timeout: self.config.approvals.timeout,
            })?;
            self.append(
                "the approval request",
                base("approval", "pending").attr("approval_id", queued.id.clone()),
            )?;
            let pending = Pending {
                id: queued.id.clone(),
                request: &request,
                expires_at: queued.expires_at,
                state: &state,
            };
            // An approver that fails has not approved.
            let answer = approver.ask(&pending).unwrap_or(Answer::Deny);
            let by = format!("terminal:{}", self.actor);
            let resolution = match answer {
                Answer::AllowOnce => Some(Resolution::Approve { grant_for: None }),
                Answer::AllowFor(wanted) => Some(Resolution::Approve {
                    grant_for: Some(cap_grant(wanted, request.max_grant)),
                }),
                Answer::Deny => Some(Resolution::Deny),
                Answer::Elsewhere => None,
            };
            if let Some(resolution) = resolution {
                let mut state = self.state()?;
                // Losing a race to another decider (or the deadline) is fine: what is stored
                // is the decision.
                if let Err(e) = state.decide_approval(&queued.id, resolution, &by, None)
                    && !matches!(e, aegisclaw_state::Error::NotPending { .. })
                {
                    return Err(e.into());
                }
            }
            let final_state = state
                .approval(&queued.id)?
                .ok_or_else(|| aegisclaw_state::Error::UnknownApproval(queued.id.clone()))?;
            let mut record = base("approval", &final_state.status.to_string())
                .attr("approval_id", queued.id.clone());
            if let Some(by) = &final_state.decided_by {
                record = record.attr("decided_by", by.clone());
            }
            if let Some(grant) = final_state.grant_for {
                record = record.attr("grant_for", humantime::format_duration(grant).to_string());
            }
            self.append("the approval decision", record)?;
            if final_state.status != ApprovalStatus::Approved {
                let who = final_state
                    .decided_by
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default();
                return Ok(RunResult::Refused {
                    run_id,
                    reason: format!("approval {} was {}{who}", queued.id, final_state.status),
                });
            }
        }

        // The approval may have taken minutes: lockdown and symlinks are checked again now.
        if state.lockdown()?.active {
            self.append(
                "the refusal",
                base("exec", Decision::Deny.as_str()).result("refused: lockdown is on"),
            )?;
            return Ok(RunResult::Refused {
                run_id,
                reason: "lockdown is on: every action is refused until it is lifted".into(),
            });
        }
        let mounts = mounts_of(&plan.granted).map_err(Error::Unsupported)?;
        if self.config.sandbox.backend != SandboxBackend::Native {
            return Err(Error::Unsupported(format!(
                "the {} backend is not available in this build; set sandbox.backend = \"native\"",
                self.config.sandbox.backend
            )));
        }

        // Secrets are leased only now, after every decision, for as long as the run may take.
        let lease = match (plan.leases.is_empty(), broker) {
            (true, _) => None,
            (false, None) => {
                return Err(Error::Unsupported(
                    "the run needs secrets and no secret store was opened".into(),
                ));
            }
            (false, Some(broker)) => {
                Some(broker.lease(&run_id, &plan.leases, plan.limits.timeout)?)
            }
        };
        if let Some(lease) = &lease {
            let record = lease.record();
            let mut leased = base("secrets.lease", Decision::Allow.as_str())
                .attr("lease", record.lease_id.clone())
                .attr("lease.expires_at", record.expires_at.clone());
            for s in &record.secrets {
                let delivery = match &s.delivery {
                    aegisclaw_secrets::Delivery::File => "file".to_string(),
                    aegisclaw_secrets::Delivery::Env { var } => format!("env:{var}"),
                };
                leased = leased.attr(format!("secret.{}", s.name), delivery);
            }
            self.append("the secret lease", leased)?;
        }

        let staged = stage(&plan.skill_dir, &plan.skill.digest)?;
        let mut spec = SandboxSpec::new(plan.limits.clone());
        spec.read_only.push(staged.path().to_path_buf());
        spec.read_only.extend(mounts.read_only);
        spec.read_write.extend(mounts.read_write);
        spec.hidden.push(self.home.root().to_path_buf());
        spec.workdir = Some(staged.path().to_path_buf());
        spec.allow_degraded = self.config.sandbox.allow_degraded.clone();
        spec.owner = Some(self.sandbox_owner());
        let (program, args) = plan
            .command
            .split_first()
            .ok_or_else(|| Error::Unsupported("the skill has an empty command".into()))?;
        let mut exec = ExecSpec::new(program).args(args);
        let redactor = match &lease {
            Some(lease) => {
                lease.check()?;
                spec.limits.timeout = spec.limits.timeout.min(lease.remaining());
                for (name, value) in lease.files() {
                    spec.secrets.push(SecretFile::new(name, value.to_vec()));
                }
                for (var, value) in lease.env_vars() {
                    exec.env.push((var.to_string(), value.to_string()));
                }
                lease.redactor()
            }
            None => Redactor::empty(),
        };
        let backend = NativeBackend::from_current_exe(&self.config.sandbox)?;
        self.append(
            "the start of the run",
            base("exec", Decision::Allow.as_str())
                .result("started")
                .attr("backend", backend.name())
                .attr("memory", spec.limits.memory.to_string())
                .attr("pids", spec.limits.pids.to_string())
                .attr(
                    "timeout",
                    humantime::format_duration(spec.limits.timeout).to_string(),
                ),
        )?;

        let outcome = execute(&backend, spec, &exec, &redactor, streams);
        let report = match outcome {
            Ok(report) => report,
            Err(e) => {
                self.append_end(base("exec", "error").result(format!("failed: {e}")));
                return Err(e);
            }
        };
        self.append_end(with_report(base("exec", Decision::Allow.as_str()), &report));
        drop(staged);
        drop(lease);
        Ok(RunResult::Completed { run_id, report })
    }

    fn request(&self, plan: &Plan, run_id: &str) -> ApprovalRequest {
        ApprovalRequest {
            kind: "skill.run".into(),
            requested_by: self.actor.clone(),
            run_id: run_id.to_string(),
            skill: plan.skill.name.clone(),
            version: plan.skill.version.clone(),
            publisher: plan.skill.publisher.clone(),
            digest: plan.skill.digest.clone(),
            signature: plan.skill.signature.to_string(),
            signer: plan.skill.signer.clone(),
            command: plan.command.clone(),
            scopes: plan
                .scopes
                .iter()
                .map(|s| RequestedScope {
                    scope: s.scope.clone(),
                    risk: s.risk,
                    decision: s.decision,
                    reason: s.reason.clone(),
                })
                .collect(),
            max_grant: plan
                .obligations
                .approval_ttl
                .or(Some(self.config.approvals.grant_ttl)),
        }
    }

    fn append(&self, what: &'static str, record: Record) -> Result<()> {
        self.audit
            .append(&[record])
            .map(drop)
            .map_err(|source| Error::Audit { what, source })
    }

    /// The end of a run that already happened cannot be undone; failing to record it is
    /// reported, not fatal.
    fn append_end(&self, record: Record) {
        if let Err(e) = self.audit.append(&[record]) {
            tracing::warn!("the end of a run could not be recorded in the audit log: {e}");
        }
    }
}

/// `record` with how a run ended: status, exit code, duration, timeout, what the sandbox denied
/// and which layers it went without. The same fields for every kind of run.
pub fn with_report(record: Record, report: &RunReport) -> Record {
    let mut record = record
        .result(report.exec.status.to_string())
        .attr("exit_code", report.exec.code().to_string())
        .attr("duration_ms", report.exec.duration.as_millis().to_string())
        .attr("timed_out", report.exec.timed_out.to_string());
    for (i, d) in report.exec.denials.iter().enumerate() {
        record = record.attr(format!("denial.{i}"), d.to_string());
    }
    for d in &report.degraded {
        record = record.attr(format!("degraded.{}", d.layer), d.reason.clone());
    }
    record
}

/// A grant lasts what the human asked, at most what the policy allows.
fn cap_grant(wanted: Duration, max: Option<Duration>) -> Duration {
    max.map_or(wanted, |m| wanted.min(m))
}

/// Runs the command with piped output, each stream redacted on its way to the caller.
fn execute(
    backend: &NativeBackend,
    spec: SandboxSpec,
    exec: &ExecSpec,
    redactor: &Redactor,
    streams: Streams<'_>,
) -> Result<RunReport> {
    let mut session = backend.prepare(spec)?;
    let result = (|| -> Result<aegisclaw_sandbox::ExecReport> {
        let mut execution = session.exec(
            exec,
            ExecStdio {
                stdin: Stdio::Null,
                stdout: Stdio::Piped,
                stderr: Stdio::Piped,
            },
        )?;
        let (out, err) = (execution.stdout.take(), execution.stderr.take());
        let (a, b) = std::thread::scope(|s| {
            let stderr = streams.stderr;
            let b = s.spawn(move || pump(err, redactor, stderr));
            let a = pump(out, redactor, streams.stdout);
            (a, b.join())
        });
        let report = execution.wait()?;
        a?;
        b.map_err(|_| Error::Unsupported("the output reader panicked".into()))??;
        Ok(report)
    })();
    let degraded = session.degraded().to_vec();
    let destroyed = session.destroy();
    let exec_report = result?;
    destroyed?;
    Ok(RunReport {
        backend: backend.name().to_string(),
        exec: exec_report,
        degraded,
    })
}

/// Copies a stream through the redactor as it arrives (live output, nothing held back but the
/// few bytes that could be the start of a secret).
fn pump(
    stream: Option<std::fs::File>,
    redactor: &Redactor,
    out: &mut (dyn Write + Send),
) -> Result<()> {
    let Some(mut stream) = stream else {
        return Ok(());
    };
    let mut redacting = redactor.stream();
    let mut buf = vec![0u8; 16 * 1024];
    let mut clean = Vec::with_capacity(buf.len());
    let write_err =
        |e: std::io::Error| Error::io("write the output of", std::path::Path::new("the run"), e);
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::io(
                    "read the output of",
                    std::path::Path::new("the run"),
                    e,
                ));
            }
        };
        clean.clear();
        redacting.push_into(&buf[..n], &mut clean);
        out.write_all(&clean).map_err(write_err)?;
        out.flush().map_err(write_err)?;
    }
    out.write_all(&redacting.finish()).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    Ok(())
}

fn new_run_id() -> String {
    let mut bytes = [0u8; 6];
    if getrandom::fill(&mut bytes).is_err() {
        // The id only correlates records; the time keeps it unique enough without randomness.
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        return format!("run-{nanos:x}");
    }
    format!("run-{}", hex::encode(bytes))
}
