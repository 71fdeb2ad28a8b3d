//! `aegisclaw approvals list|approve|deny`: decide pending approvals from any shell.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use aegisclaw_runtime::ApprovalRequest;
use aegisclaw_state::{Approval, ApprovalStatus, Resolution, State};
use clap::{Args, Subcommand};

use crate::commands::Ctx;
use crate::error::with_hint;
use crate::output::{print_json, print_table};

#[derive(Debug, Subcommand)]
pub(crate) enum ApprovalsCommand {
    /// List pending approvals (each with its id), newest first
    List(ListArgs),
    /// Approve a pending request: this run only, or with --for identical runs until it ends
    Approve(ApproveArgs),
    /// Deny a pending request
    Deny(DenyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Every approval, decided or not
    #[arg(long)]
    all: bool,
    /// Print the approvals as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The approval id (from `aegisclaw approvals list`)
    id: String,
    /// Also allow identical runs (same skill digest, command and scopes) for this long, e.g. 8h
    /// (at most what the policy allows)
    #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
    grant_for: Option<Duration>,
}

#[derive(Debug, Args)]
pub(crate) struct DenyArgs {
    /// The approval id (from `aegisclaw approvals list`)
    id: String,
    /// Why (recorded with the decision)
    #[arg(long)]
    reason: Option<String>,
}

pub(crate) fn run(ctx: &Ctx, cmd: ApprovalsCommand) -> anyhow::Result<ExitCode> {
    let mut state = State::open(&ctx.home)?;
    match cmd {
        ApprovalsCommand::List(args) => list(&state, &args),
        ApprovalsCommand::Approve(args) => {
            let approval = pending(&state, &args.id)?;
            let request: Option<ApprovalRequest> = serde_json::from_value(approval.request).ok();
            let max = request.as_ref().and_then(|r| r.max_grant);
            let grant_for = match (args.grant_for, max) {
                (Some(wanted), Some(max)) if wanted > max => {
                    eprintln!(
                        "aegisclaw: the policy allows grants of at most {}; granting that",
                        humantime::format_duration(max)
                    );
                    Some(max)
                }
                (wanted, _) => wanted,
            };
            let decided = decide(
                &mut state,
                &args.id,
                Resolution::Approve { grant_for },
                None,
            )?;
            match decided.grant_for {
                Some(d) => println!(
                    "approved {} (identical runs allowed for {})",
                    decided.id,
                    humantime::format_duration(d)
                ),
                None => println!("approved {} (this run only)", decided.id),
            }
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsCommand::Deny(args) => {
            pending(&state, &args.id)?;
            let decided = decide(
                &mut state,
                &args.id,
                Resolution::Deny,
                args.reason.as_deref(),
            )?;
            println!("denied {}", decided.id);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn pending(state: &State, id: &str) -> anyhow::Result<Approval> {
    let approval = state.approval(id)?.ok_or_else(|| {
        with_hint(
            format!("no approval has the id {id:?}"),
            "list pending approvals with `aegisclaw approvals list`",
        )
    })?;
    if approval.status != ApprovalStatus::Pending {
        return Err(with_hint(
            format!("approval {id} is already {}", approval.status),
            "only pending approvals can be decided; start the run again for a new request",
        ));
    }
    Ok(approval)
}

fn decide(
    state: &mut State,
    id: &str,
    resolution: Resolution,
    reason: Option<&str>,
) -> anyhow::Result<Approval> {
    let by = format!("cli:{}", crate::commands::user_name());
    state
        .decide_approval(id, resolution, &by, reason)
        .map_err(|e| match e {
            aegisclaw_state::Error::NotPending { status, .. } => with_hint(
                format!("approval {id} is already {status}"),
                "someone decided it first, or its deadline passed",
            ),
            other => anyhow::Error::new(other),
        })
}

fn list(state: &State, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let status = (!args.all).then_some(ApprovalStatus::Pending);
    let approvals = state.list_approvals(status)?;
    if args.json {
        print_json(&approvals.iter().map(json_of).collect::<Vec<_>>())?;
        return Ok(ExitCode::SUCCESS);
    }
    if approvals.is_empty() {
        println!(
            "{}",
            if args.all {
                "no approvals"
            } else {
                "no pending approvals"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![vec![
        "id".to_string(),
        "status".into(),
        "expires".into(),
        "skill".into(),
        "asks for".into(),
    ]];
    for a in &approvals {
        let request: Option<ApprovalRequest> = serde_json::from_value(a.request.clone()).ok();
        let (skill, scopes) = match &request {
            Some(r) => (
                format!("{} {} ({})", r.skill, r.version, r.signature),
                r.scopes
                    .iter()
                    .filter(|s| s.decision != aegisclaw_core::Decision::Allow)
                    .map(|s| format!("{} [{}]", s.scope, s.risk))
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            None => ("?".into(), a.request.to_string()),
        };
        rows.push(vec![
            a.id.clone(),
            a.status.to_string(),
            relative(a.expires_at),
            skill,
            scopes,
        ]);
    }
    print_table(&rows)?;
    Ok(ExitCode::SUCCESS)
}

fn relative(time: SystemTime) -> String {
    match time.duration_since(SystemTime::now()) {
        Ok(left) => format!(
            "in {}",
            humantime::format_duration(Duration::from_secs(left.as_secs()))
        ),
        Err(_) => "passed".into(),
    }
}

fn json_of(a: &Approval) -> serde_json::Value {
    let time = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    serde_json::json!({
        "id": a.id,
        "status": a.status,
        "binding": a.binding,
        "created_at": time(a.created_at),
        "expires_at": time(a.expires_at),
        "decided_at": a.decided_at.map(time),
        "decided_by": a.decided_by,
        "grant_for": a.grant_for.map(|d| humantime::format_duration(d).to_string()),
        "reason": a.reason,
        "request": a.request,
    })
}
