//! `aegisclaw lockdown on|off|status`: the panic button.

use std::process::ExitCode;
use std::time::Duration;

use aegisclaw_audit::{AuditLog, Options as AuditOptions, Record};
use aegisclaw_state::{ApprovalStatus, Resolution, State};
use clap::{Args, Subcommand};

use crate::commands::Ctx;
use crate::error::{EXIT_NEGATIVE, with_hint};
use crate::output::print_json;

/// How long `lockdown on` waits for the last sandboxed process to die.
const KILL_WAIT: Duration = Duration::from_secs(5);

#[derive(Debug, Subcommand)]
pub(crate) enum LockdownCommand {
    /// Kill every running sandbox of this installation, deny every pending approval, end every grant, and refuse
    /// every new action until `lockdown off` (survives restarts). Exit 1 if a sandboxed process
    /// survived
    On(OnArgs),
    /// Lift the lockdown
    Off(JsonArgs),
    /// Whether the lockdown is on, since when, by whom and why
    Status(JsonArgs),
}

#[derive(Debug, Args)]
pub(crate) struct OnArgs {
    /// Why (recorded in the audit log and shown by `status`)
    #[arg(long, default_value = "lockdown requested on the command line")]
    reason: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct JsonArgs {
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &Ctx, cmd: LockdownCommand) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let mut state = State::open(&ctx.home)?;
    let audit = AuditLog::new(&ctx.home, AuditOptions::from(&config.audit));
    let by = format!("cli:{}", crate::commands::user_name());
    let record = |decision: &str| Record::new(by.clone(), "lockdown", decision);
    match cmd {
        LockdownCommand::On(args) => {
            // Refuse new actions first, then stop what runs: nothing can start in between.
            state.set_lockdown(true, &by, &args.reason)?;
            let killed = aegisclaw_sandbox::kill_every_sandbox(
                Some(&aegisclaw_runtime::sandbox_owner(&ctx.home)),
                KILL_WAIT,
            );
            let grants = state.revoke_grants()?;
            let mut denied = 0;
            for a in state.list_approvals(Some(ApprovalStatus::Pending))? {
                if state
                    .decide_approval(&a.id, Resolution::Deny, &by, Some("lockdown"))
                    .is_ok()
                {
                    denied += 1;
                }
            }
            let ms = u64::try_from(killed.elapsed.as_millis()).unwrap_or(u64::MAX);
            let entry = record("on")
                .reason(args.reason.clone())
                .result(format!(
                    "killed {} sandboxes ({} processes) in {ms} ms; {} survived",
                    killed.sandboxes, killed.processes, killed.survivors
                ))
                .attr("revoked_grants", grants.to_string())
                .attr("denied_approvals", denied.to_string());
            audit.append(&[entry]).map_err(|e| {
                with_hint(
                    format!("lockdown is on, but it could not be recorded in the audit log: {e}"),
                    "check the audit log with `aegisclaw logs verify`",
                )
            })?;
            if args.json {
                print_json(&serde_json::json!({
                    "active": true,
                    "sandboxes_killed": killed.sandboxes,
                    "processes_killed": killed.processes,
                    "survivors": killed.survivors,
                    "kill_ms": ms,
                    "grants_revoked": grants,
                    "approvals_denied": denied,
                }))?;
            } else {
                println!(
                    "lockdown is on: killed {} sandboxes ({} processes) in {ms} ms, ended {grants} grants, denied {denied} pending approvals",
                    killed.sandboxes, killed.processes
                );
            }
            if killed.survivors > 0 {
                eprintln!(
                    "aegisclaw: {} sandboxed processes were still alive after {}s",
                    killed.survivors,
                    KILL_WAIT.as_secs()
                );
                return Ok(ExitCode::from(EXIT_NEGATIVE));
            }
            Ok(ExitCode::SUCCESS)
        }
        LockdownCommand::Off(args) => {
            state.set_lockdown(false, &by, "lifted on the command line")?;
            audit.append(&[record("off")]).map_err(|e| {
                with_hint(
                    format!("lockdown is off, but it could not be recorded in the audit log: {e}"),
                    "check the audit log with `aegisclaw logs verify`",
                )
            })?;
            status(&state, args.json)
        }
        LockdownCommand::Status(args) => status(&state, args.json),
    }
}

fn status(state: &State, json: bool) -> anyhow::Result<ExitCode> {
    let l = state.lockdown()?;
    let time = |t: std::time::SystemTime| humantime::format_rfc3339_seconds(t).to_string();
    if json {
        print_json(&serde_json::json!({
            "active": l.active,
            "changed_at": l.changed_at.map(time),
            "changed_by": l.changed_by,
            "reason": l.reason,
        }))?;
    } else if l.active {
        println!(
            "lockdown is ON since {} (by {}: {})",
            l.changed_at.map(time).unwrap_or_default(),
            l.changed_by.unwrap_or_default(),
            l.reason.unwrap_or_default()
        );
    } else {
        println!("lockdown is off");
    }
    Ok(ExitCode::SUCCESS)
}
