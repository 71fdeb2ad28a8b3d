//! Steps 1 and 2 of a run, without side effects: what `aegisclaw simulate` prints, and what
//! [`Runtime::run`](crate::Runtime::run) then executes.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aegisclaw_core::{
    Action, ActionKind, Actor, CommandLine, Decision, Limits, Obligations, PriorApproval,
    Provenance, Reason, Risk, Scope, ScopeSet, SkillRef,
};
use aegisclaw_guard::{Guard, Plane, ScanContext};
use aegisclaw_policy::PolicyRef;
use aegisclaw_skills::{
    ArgValue, Arguments, InstalledSkill, SignatureStatus, SkillStore, TrustStore,
};
use serde::Serialize;

use crate::Runtime;
use crate::binding::binding;
use crate::error::{Error, Result};

/// Who the skill is, as verified just now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillSummary {
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub description: String,
    /// Content digest of every file, `sha256:…`.
    pub digest: String,
    /// `signed`, `unsigned` or `invalid`.
    pub signature: &'static str,
    /// The trusted key that signed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// One requested scope: its risk and what the policy decided about it, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedScope {
    pub scope: String,
    pub risk: Risk,
    pub decision: Decision,
    pub reason: String,
}

/// What the sandbox would show of the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Mounts {
    pub read_only: Vec<PathBuf>,
    pub read_write: Vec<PathBuf>,
}

/// A secret the run would lease, and how it would reach the skill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedSecret {
    pub name: String,
    /// `file:/run/secrets/NAME` or `env:VAR`.
    pub delivery: String,
}

/// What the guard found in one argument of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardCheck {
    /// The parameter whose value was scanned.
    pub argument: String,
    /// `allow`, `flag` (recorded, the action is tainted) or `block`.
    pub verdict: &'static str,
    pub score: f32,
    pub findings: Vec<aegisclaw_core::Finding>,
}

/// Whether the run would go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It would run now.
    Run,
    /// It would wait for a human's approval first.
    Ask,
    /// It would be refused.
    Refused,
}

/// Everything decided about one run before anything executes.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub outcome: Outcome,
    /// Why the run would be refused (the policy's deny reasons, or what this machine cannot
    /// enforce), when it would.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    pub skill: SkillSummary,
    /// The command line, parameters substituted.
    pub command: Vec<String>,
    pub arguments: Arguments,
    pub scopes: Vec<PlannedScope>,
    /// The policy's verdict over every scope.
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    /// Whether a human would be asked.
    pub approval_required: bool,
    /// An earlier approval "for a duration" of exactly this action, until when it holds.
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub standing_grant: Option<SystemTime>,
    /// The hash an approval of this run is bound to.
    pub binding: String,
    pub mounts: Mounts,
    /// Hosts the run could reach (`host[:port]`); empty means no network at all.
    pub network: Vec<String>,
    pub secrets: Vec<PlannedSecret>,
    /// Arguments the guard flagged or blocked (empty when all were clean).
    pub guard: Vec<GuardCheck>,
    pub limits: Limits,
    pub obligations: Obligations,
    /// The policy that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyRef>,
    #[serde(skip)]
    pub(crate) skill_dir: PathBuf,
    #[serde(skip)]
    pub(crate) granted: ScopeSet,
    #[serde(skip)]
    pub(crate) leases: Vec<aegisclaw_secrets::SecretGrant>,
}

impl Runtime {
    /// Verifies the installed skill `name`, parses `args` against its parameters (relative paths
    /// resolved against `cwd`) and asks the policy about every scope it would need. Nothing runs
    /// and nothing is recorded.
    pub fn plan(&self, name: &str, args: &[String], cwd: &Path) -> Result<Plan> {
        let trust = TrustStore::open(&self.home.trust_dir())?;
        let custom: Vec<&str> = self
            .config
            .scopes
            .custom
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        let skill = SkillStore::new(self.home.skills_dir()).load(name, &trust, &custom)?;
        let invocation =
            skill
                .manifest
                .invocation(args, cwd)
                .map_err(|message| Error::Arguments {
                    skill: name.to_string(),
                    message,
                })?;
        let summary = summarise(&skill);
        let scope_strings: Vec<String> = invocation.scopes.iter().map(Scope::to_string).collect();
        let binding = binding(
            &summary.name,
            &summary.digest,
            &invocation.argv,
            &scope_strings,
        );

        let state = self.state()?;
        let lockdown = state.lockdown()?.active;
        let standing = state.active_grant(&binding)?;

        let mut action = Action::new(
            self.actor.clone(),
            ActionKind::Exec,
            invocation.scopes.clone(),
        );
        action.actor = Actor {
            agent: self.actor.clone(),
            skill: Some(SkillRef {
                name: summary.name.clone(),
                version: Some(summary.version.clone()),
                digest: Some(summary.digest.clone()),
                signature: core_signature(&skill.signature),
                signer: summary.signer.clone(),
            }),
        };
        let (program, rest) = invocation
            .argv
            .split_first()
            .map(|(p, r)| (p.clone(), r.to_vec()))
            .unwrap_or_default();
        action.command = Some(CommandLine {
            program,
            args: rest,
        });
        action.arguments = serde_json::to_value(&invocation.arguments).ok();
        action.provenance = Provenance {
            tainted: false,
            sources: vec!["user".into()],
        };
        action.environment.lockdown = lockdown;
        if let Some(grant) = &standing {
            action.session.approvals.push(PriorApproval {
                scopes: invocation.scopes.clone(),
                expires_at: grant.expires_at,
            });
        }

        let guard = self.guard_arguments(&invocation.arguments);
        for check in &guard {
            action.findings.extend(check.findings.iter().cloned());
            // Input the guard flagged counts as untrusted, whatever its origin.
            action.provenance.tainted = true;
            action
                .provenance
                .sources
                .push(format!("guard:flagged:{}", check.argument));
        }

        let explanation = self.engine.explain(&action);
        let verdict = explanation.verdict.clone();
        let registry = self.engine.registry();
        let mut scopes = Vec::new();
        for (scope, raw) in invocation.scopes.iter().zip(&scope_strings) {
            let decision = explanation
                .scopes
                .iter()
                .find(|d| &d.scope == raw)
                .map_or(Decision::Deny, |d| d.decision);
            let reason: Vec<String> = explanation
                .fired
                .iter()
                .filter(|f| f.decision == decision && f.scope.as_ref().is_none_or(|s| s == raw))
                .map(|f| f.message.clone())
                .collect();
            let reason = if reason.is_empty() {
                "no rule allows it (default deny)".to_string()
            } else {
                reason.join("; ")
            };
            scopes.push(PlannedScope {
                scope: raw.clone(),
                // The engine already refused unknown scopes; `Critical` keeps it conservative.
                risk: registry.risk(scope).unwrap_or(Risk::Critical),
                decision,
                reason,
            });
        }

        let mut granted = ScopeSet::new();
        for scope in &invocation.scopes {
            granted.insert(scope.clone());
        }
        let mut refusal = None;
        let mounts = match mounts_of(&granted) {
            Ok(m) => m,
            Err(why) => {
                refusal = Some(why);
                Mounts::default()
            }
        };
        let network: Vec<String> = granted
            .egress_rules()
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut secrets = Vec::new();
        let mut leases = Vec::new();
        for name in granted.secret_names() {
            let env = skill
                .manifest
                .secrets
                .iter()
                .find(|r| r.name == name.as_str())
                .and_then(|r| r.env.clone());
            secrets.push(PlannedSecret {
                name: name.as_str().to_string(),
                delivery: match &env {
                    Some(var) => format!("env:{var}"),
                    None => format!("file:{}/{}", aegisclaw_sandbox::SECRETS_DIR, name.as_str()),
                },
            });
            leases.push(match env {
                Some(var) => aegisclaw_secrets::SecretGrant::env(name.clone(), var),
                None => aegisclaw_secrets::SecretGrant::file(name.clone()),
            });
        }
        if refusal.is_none() {
            refusal = self.unsupported(&skill, &network);
        }
        if let Some(blocked) = guard.iter().find(|g| g.verdict == "block") {
            let kinds: Vec<&str> = blocked.findings.iter().map(|f| f.kind.as_str()).collect();
            refusal = Some(format!(
                "the guard blocked --{}: {} (score {:.2})",
                blocked.argument,
                kinds.join(", "),
                blocked.score
            ));
        }
        let obligations = verdict.obligations.clone();
        let limits = limits_for(&self.config.sandbox.limits, &skill, &obligations);

        let mut outcome = match (verdict.decision, &refusal) {
            (Decision::Deny, _) | (_, Some(_)) => Outcome::Refused,
            (Decision::Ask, None) => Outcome::Ask,
            (Decision::Allow, None) => Outcome::Run,
        };
        // A secret in an environment variable is easier to leak (child processes, crash
        // reports) than a file: a human confirms every such run, even where the policy allows.
        if outcome == Outcome::Run
            && standing.is_none()
            && secrets.iter().any(|s| s.delivery.starts_with("env:"))
        {
            outcome = Outcome::Ask;
        }
        if verdict.decision == Decision::Deny {
            let reasons: Vec<String> = verdict.reasons.iter().map(ToString::to_string).collect();
            let denied = format!("denied by policy: {}", reasons.join("; "));
            refusal = Some(match refusal {
                Some(first) => format!("{first}; {denied}"),
                None => denied,
            });
        }
        Ok(Plan {
            outcome,
            refusal,
            skill: summary,
            command: invocation.argv,
            arguments: invocation.arguments,
            scopes,
            decision: verdict.decision,
            reasons: verdict.reasons,
            approval_required: outcome == Outcome::Ask,
            standing_grant: standing.map(|g| g.expires_at),
            binding,
            mounts,
            network,
            secrets,
            guard,
            limits,
            obligations,
            policy: explanation.policy,
            skill_dir: skill.dir,
            granted,
            leases,
        })
    }

    /// What this machine cannot enforce for the skill yet; such a run is refused, never run
    /// with less protection than its scopes promise.
    fn unsupported(&self, skill: &InstalledSkill, network: &[String]) -> Option<String> {
        if let aegisclaw_skills::Runtime::Image(image) = &skill.manifest.runtime {
            return Some(format!(
                "the skill runs in the container image {image}, and the Docker backend is not available in this build"
            ));
        }
        if !network.is_empty() {
            return Some(format!(
                "the skill needs network access ({}), and the egress proxy that enforces net.outbound scopes is not available in this build",
                network.join(", ")
            ));
        }
        None
    }

    /// Scans every text argument as input on the host plane; returns what was found.
    fn guard_arguments(&self, arguments: &Arguments) -> Vec<GuardCheck> {
        let guard = Guard::new(&self.config.guard);
        let ctx = ScanContext::input(Plane::Host);
        arguments
            .iter()
            .filter_map(|(name, value)| match value {
                ArgValue::Text(text) => Some((name, guard.scan(text, &ctx))),
                ArgValue::Flag(_) => None,
            })
            .filter(|(_, report)| report.detected())
            .map(|(name, report)| GuardCheck {
                argument: name.clone(),
                verdict: report.verdict.as_str(),
                score: report.score,
                findings: report.to_core_findings(),
            })
            .collect()
    }
}

fn summarise(skill: &InstalledSkill) -> SkillSummary {
    let m = &skill.manifest;
    SkillSummary {
        name: m.name.clone(),
        version: m.version.clone(),
        publisher: m.publisher.clone(),
        description: m.description.clone(),
        digest: skill.digest.to_string(),
        signature: match core_signature(&skill.signature) {
            aegisclaw_core::SignatureStatus::Signed => "signed",
            aegisclaw_core::SignatureStatus::Unsigned => "unsigned",
            aegisclaw_core::SignatureStatus::Invalid => "invalid",
        },
        signer: skill.signature.signer().map(str::to_owned),
    }
}

fn core_signature(status: &SignatureStatus) -> aegisclaw_core::SignatureStatus {
    match status {
        SignatureStatus::Verified { .. } => aegisclaw_core::SignatureStatus::Signed,
        SignatureStatus::Unsigned => aegisclaw_core::SignatureStatus::Unsigned,
        SignatureStatus::Invalid { .. } => aegisclaw_core::SignatureStatus::Invalid,
    }
}

/// The mounts of the granted file scopes, each checked on the host now: it must exist, and
/// must not be (or pass through) a symlink, because the policy decided about this path and
/// not about wherever a link points.
pub(crate) fn mounts_of(granted: &ScopeSet) -> Result<Mounts, String> {
    let check = |p: &aegisclaw_core::FilePath| -> Result<PathBuf, String> {
        let path = p.as_path();
        let resolved = path
            .canonicalize()
            .map_err(|e| format!("{} cannot be granted: {e}", path.display()))?;
        if resolved != path {
            return Err(format!(
                "{} resolves to {} through a symbolic link; grant the resolved path instead",
                path.display(),
                resolved.display()
            ));
        }
        Ok(resolved)
    };
    Ok(Mounts {
        read_only: granted
            .read_only_paths()
            .into_iter()
            .map(check)
            .collect::<Result<_, _>>()?,
        read_write: granted
            .read_write_paths()
            .into_iter()
            .map(check)
            .collect::<Result<_, _>>()?,
    })
}

/// The configured limits, lowered by the skill's own and by the policy's obligations (a skill
/// can ask for less, never for more).
fn limits_for(base: &Limits, skill: &InstalledSkill, obligations: &Obligations) -> Limits {
    let wanted = &skill.manifest.limits;
    let mut limits = base.clone();
    if let Some(m) = wanted.memory {
        limits.memory = limits.memory.min(m);
    }
    if let Some(p) = wanted.pids {
        limits.pids = limits.pids.min(p);
    }
    if let Some(t) = wanted.timeout {
        limits.timeout = limits.timeout.min(t);
    }
    if let Some(c) = wanted.cpu_time {
        limits.cpu_time = limits.cpu_time.min(c);
    }
    if let Some(f) = wanted.file_size {
        limits.file_size = limits.file_size.min(f);
    }
    if let Some(max) = obligations.max_runtime {
        limits.timeout = limits.timeout.min(max);
    }
    limits
}
