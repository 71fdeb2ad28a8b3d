//! The pipeline of AegisClaw, composed from the concern crates; the CLI and the daemon both
//! drive actions through it.
//!
//! A skill run goes through every stage of DESIGN.md, in order:
//!
//! 1. **verify**: the installed skill's digest and signature are checked again
//!    ([`Runtime::plan`]); **guard**: every text argument is scanned as input, and what the
//!    guard finds goes into the policy input (and blocks, in block mode);
//! 2. **policy**: every requested scope is decided, with its risk and reason; a standing grant
//!    from an earlier approval "for a duration" counts as approval for exactly the same action;
//! 3. **approval**: an `ask` becomes a pending approval in the state database, answered by an
//!    [`Approver`] (the terminal prompt) or from another process (`aegisclaw approvals`);
//! 4. **lease** and **enforce**: granted secrets are leased for this run only and appear as
//!    files on the sandbox's private tmpfs; the skill is copied out of the home, its copy verified, and run in the
//!    sandbox with the granted scopes as mounts and nothing else;
//! 5. **redact**: its output is streamed through the redactor of the leased values;
//! 6. **audit**: each step is appended to the audit log, and a run that cannot be audited does
//!    not start.
//!
//! [`Runtime::plan`] does steps 1–2 without side effects: it is what `aegisclaw simulate`
//! prints, and [`Runtime::run`] executes exactly that plan.

mod approval;
mod binding;
mod error;
mod plan;
mod run;
mod stage;

use aegisclaw_audit::{AuditLog, Options as AuditOptions};
use aegisclaw_core::{Config, Home};
use aegisclaw_policy::{PolicyEngine, ScopeRegistry};

pub use approval::{Answer, ApprovalRequest, Approver, Pending, RequestedScope, WaitApprover};
pub use binding::binding;
pub use error::{Error, Result};
pub use plan::{GuardCheck, Mounts, Outcome, Plan, PlannedScope, PlannedSecret, SkillSummary};
pub use run::{EXIT_REFUSED, RunResult, Streams, with_report};

/// The pipeline, loaded for one home and configuration.
#[derive(Debug)]
pub struct Runtime {
    home: Home,
    config: Config,
    engine: PolicyEngine,
    audit: AuditLog,
    /// Who the actions are attributed to (`cli:alice`, `agent:claude-code`).
    actor: String,
}

impl Runtime {
    /// Loads the active policy and opens the audit log of `home`.
    pub fn new(home: Home, config: Config, actor: impl Into<String>) -> Self {
        let engine = PolicyEngine::new(
            aegisclaw_policy::PolicySource::File(aegisclaw_policy::active_policy_path(
                &home, &config,
            )),
            ScopeRegistry::from_config(&config.scopes),
        );
        let audit = AuditLog::new(&home, AuditOptions::from(&config.audit));
        Self {
            home,
            config,
            engine,
            audit,
            actor: actor.into(),
        }
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The label of this installation's sandboxes ([`aegisclaw_sandbox::SandboxSpec::owner`]).
    pub fn sandbox_owner(&self) -> String {
        sandbox_owner(&self.home)
    }

    fn state(&self) -> Result<aegisclaw_state::State> {
        Ok(aegisclaw_state::State::open(&self.home)?)
    }
}

/// The label of the sandboxes an installation starts: 12 hex digits of a hash of its home's
/// path, so that lockdown stops this installation's sandboxes and no other's.
pub fn sandbox_owner(home: &Home) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(home.root().as_os_str().as_encoded_bytes());
    hex::encode(&hash[..6])
}
