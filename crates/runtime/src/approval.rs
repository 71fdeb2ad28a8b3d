//! Step 3: a human decides an `ask`, bound to exactly the action.
//!
//! The request lives in the state database, so any process can resolve it: the terminal prompt
//! of the run itself, `aegisclaw approvals approve ID` from another shell, later the daemon and
//! the dashboard. The first decision wins; a deadline passing is a denial.

use std::io::Write;
use std::time::{Duration, SystemTime};

use aegisclaw_core::{Decision, Risk};
use aegisclaw_state::{Approval, ApprovalStatus, State};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// What a human sees when asked, stored with the pending approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// `skill.run`.
    pub kind: String,
    /// Who asked for the run.
    pub requested_by: String,
    pub run_id: String,
    pub skill: String,
    pub version: String,
    pub publisher: String,
    pub digest: String,
    /// `signed`, `unsigned` or `invalid`.
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The command line, parameters substituted.
    pub command: Vec<String>,
    pub scopes: Vec<RequestedScope>,
    /// The longest an approval "for a duration" may last (the policy's obligation).
    #[serde(default, with = "humantime_serde")]
    pub max_grant: Option<Duration>,
}

/// One scope in a request, with the policy's view of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedScope {
    pub scope: String,
    pub risk: Risk,
    pub decision: Decision,
    pub reason: String,
}

/// A human's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// This run only.
    AllowOnce,
    /// This run, and identical runs until the duration ends (capped by the policy).
    AllowFor(Duration),
    Deny,
    /// Decided elsewhere (another shell, the daemon) or timed out: read the stored approval.
    Elsewhere,
}

/// A queued approval, as handed to an [`Approver`].
#[derive(Debug)]
pub struct Pending<'a> {
    pub id: String,
    pub request: &'a ApprovalRequest,
    pub expires_at: SystemTime,
    pub(crate) state: &'a State,
}

/// How often a waiting process looks for a decision made elsewhere.
const POLL: Duration = Duration::from_millis(100);

impl Pending<'_> {
    /// The approval, if another process has decided it (or it expired) meanwhile.
    pub fn decided_elsewhere(&self) -> Result<Option<Approval>> {
        Ok(self
            .state
            .approval(&self.id)?
            .filter(|a| a.status != ApprovalStatus::Pending))
    }

    /// Blocks until someone decides or the deadline passes.
    pub fn wait(&self) -> Result<Approval> {
        Ok(self.state.wait_approval(&self.id, POLL)?)
    }

    /// Time left before the request counts as denied.
    pub fn remaining(&self) -> Duration {
        self.expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }
}

/// Asks a human. Implementations: a terminal prompt (the CLI's), [`WaitApprover`] for runs
/// without a terminal.
pub trait Approver {
    /// Returns the human's answer; [`Answer::Elsewhere`] when it was decided by another process
    /// or the deadline passed. Interrupts and errors must answer [`Answer::Deny`].
    fn ask(&mut self, pending: &Pending<'_>) -> Result<Answer>;
}

/// For runs without a terminal: says how to decide from another shell, then waits.
#[derive(Debug)]
pub struct WaitApprover<W> {
    out: W,
}

impl<W: Write> WaitApprover<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write> Approver for WaitApprover<W> {
    fn ask(&mut self, pending: &Pending<'_>) -> Result<Answer> {
        let r = pending.request;
        let scopes: Vec<String> = r
            .scopes
            .iter()
            .filter(|s| s.decision == Decision::Ask)
            .map(|s| format!("{} ({} risk)", s.scope, s.risk))
            .collect();
        // A message the user cannot see does not change the outcome: the wait is bounded.
        let _ = writeln!(
            self.out,
            "aegisclaw: {} {} needs approval for {}\n  approve: aegisclaw approvals approve {id}   (or --for 8h)\n  deny:    aegisclaw approvals deny {id}\n  waiting up to {}...",
            r.skill,
            r.version,
            scopes.join(", "),
            humantime::format_duration(Duration::from_secs(pending.remaining().as_secs())),
            id = pending.id,
        );
        let _ = self.out.flush();
        pending.wait()?;
        Ok(Answer::Elsewhere)
    }
}
