//! `aegisclaw run` and `aegisclaw simulate`: a skill through the whole pipeline, or the dry run
//! of it.

use std::io::IsTerminal;
use std::process::ExitCode;

use aegisclaw_core::Decision;
use aegisclaw_runtime::{Outcome, Plan, RunResult, Runtime, Streams, WaitApprover};
use aegisclaw_secrets::Broker;
use anyhow::Context;
use clap::Args;

use crate::commands::Ctx;
use crate::error::with_hint;
use crate::output::{print_json, print_table};
use crate::prompt::TerminalApprover;

/// Exit code of `simulate` when the run would wait for a human.
const EXIT_ASK: u8 = 3;

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The installed skill (see `aegisclaw skill list`)
    skill: String,
    /// Never show the approval prompt: wait for `aegisclaw approvals approve|deny` from another
    /// shell (the default when stdin or stderr is not a terminal)
    #[arg(long)]
    no_prompt: bool,
    /// After the skill's own output, print a one-line JSON summary on stdout:
    /// {"run_id","status","exit_code","reason","denials"}
    #[arg(long)]
    json: bool,
    /// The skill's parameters, e.g. `-- --dir ~/Downloads --dry-run`
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// The installed skill (see `aegisclaw skill list`)
    skill: String,
    /// Print the plan as JSON
    #[arg(long)]
    json: bool,
    /// The skill's parameters, as for `aegisclaw run`
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

fn runtime(ctx: &Ctx) -> anyhow::Result<Runtime> {
    let config = ctx.config()?;
    Ok(Runtime::new(
        ctx.home.clone(),
        config,
        format!("cli:{}", crate::commands::user_name()),
    ))
}

fn plan(runtime: &Runtime, skill: &str, args: &[String]) -> anyhow::Result<Plan> {
    let cwd = std::env::current_dir().context("read the current directory")?;
    runtime.plan(skill, args, &cwd).map_err(|e| match e.hint() {
        Some(hint) => with_hint(e.to_string(), hint),
        None => anyhow::Error::new(e),
    })
}

pub(crate) fn run(ctx: &Ctx, args: RunArgs) -> anyhow::Result<ExitCode> {
    let runtime = runtime(ctx)?;
    let plan = plan(&runtime, &args.skill, &args.args)?;
    let interactive =
        !args.no_prompt && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let streams = Streams {
        stdout: &mut stdout,
        stderr: &mut stderr,
    };
    // The store is opened (and a protected identity unlocked) only for runs that need it.
    let broker = if plan.secrets.is_empty() || plan.outcome == Outcome::Refused {
        None
    } else {
        let config = ctx.config()?;
        Some(Broker::new(crate::commands::secrets::open_secret_store(
            ctx, &config,
        )?))
    };
    let result = if interactive {
        runtime.run(
            &plan,
            &mut TerminalApprover::new(),
            broker.as_ref(),
            streams,
        )
    } else {
        let mut approver = WaitApprover::new(std::io::stderr());
        runtime.run(&plan, &mut approver, broker.as_ref(), streams)
    }
    .map_err(|e| match e.hint() {
        Some(hint) => with_hint(e.to_string(), hint),
        None => anyhow::Error::new(e),
    })?;
    match &result {
        RunResult::Refused { reason, .. } => {
            eprintln!("aegisclaw: refused: {reason}");
            for s in plan.scopes.iter().filter(|s| s.decision == Decision::Deny) {
                eprintln!("  {}: denied ({})", s.scope, s.reason);
            }
        }
        RunResult::Completed { report, .. } => {
            crate::commands::sandbox::print_report_notes(report);
        }
    }
    if args.json {
        let summary = match &result {
            RunResult::Refused { run_id, reason } => serde_json::json!({
                "run_id": run_id, "status": "refused", "exit_code": result.exit_code(),
                "reason": reason, "denials": [],
            }),
            RunResult::Completed { run_id, report } => serde_json::json!({
                "run_id": run_id, "status": report.exec.status, "exit_code": report.exec.code(),
                "reason": null, "denials": report.exec.denials,
            }),
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    Ok(ExitCode::from(result.exit_code()))
}

pub(crate) fn simulate(ctx: &Ctx, args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let runtime = runtime(ctx)?;
    let plan = plan(&runtime, &args.skill, &args.args)?;
    if args.json {
        print_json(&plan)?;
    } else {
        print_plan(&plan)?;
    }
    Ok(ExitCode::from(match plan.outcome {
        Outcome::Run => 0,
        Outcome::Ask => EXIT_ASK,
        Outcome::Refused => crate::error::EXIT_NEGATIVE,
    }))
}

fn print_plan(plan: &Plan) -> anyhow::Result<()> {
    let s = &plan.skill;
    let signer = s
        .signer
        .as_ref()
        .map(|k| format!(" by {k}"))
        .unwrap_or_default();
    let mut rows = vec![
        vec![
            "skill".to_string(),
            format!("{} {} ({})", s.name, s.version, s.publisher),
        ],
        vec!["signature".into(), format!("{}{signer}", s.signature)],
        vec!["digest".into(), s.digest.clone()],
        vec!["command".into(), plan.command.join(" ")],
    ];
    let none = || "none".to_string();
    let list = |paths: &[std::path::PathBuf]| {
        if paths.is_empty() {
            none()
        } else {
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    rows.push(vec!["read-only".into(), list(&plan.mounts.read_only)]);
    rows.push(vec!["read-write".into(), list(&plan.mounts.read_write)]);
    rows.push(vec![
        "network".into(),
        if plan.network.is_empty() {
            none()
        } else {
            plan.network.join(", ")
        },
    ]);
    rows.push(vec![
        "secrets".into(),
        if plan.secrets.is_empty() {
            none()
        } else {
            plan.secrets
                .iter()
                .map(|x| format!("{} ({})", x.name, x.delivery))
                .collect::<Vec<_>>()
                .join(", ")
        },
    ]);
    rows.push(vec![
        "limits".into(),
        format!(
            "memory {}, {} processes, timeout {}",
            plan.limits.memory,
            plan.limits.pids,
            humantime::format_duration(plan.limits.timeout)
        ),
    ]);
    for check in &plan.guard {
        let kinds: Vec<String> = check
            .findings
            .iter()
            .map(|f| format!("{} ({})", f.kind, f.detail))
            .collect();
        rows.push(vec![
            "guard".into(),
            format!(
                "--{}: {} at score {:.2}: {}",
                check.argument,
                check.verdict,
                check.score,
                kinds.join("; ")
            ),
        ]);
    }
    print_table(&rows)?;
    println!();
    let mut table = vec![vec![
        "scope".to_string(),
        "risk".into(),
        "decision".into(),
        "reason".into(),
    ]];
    for scope in &plan.scopes {
        table.push(vec![
            scope.scope.clone(),
            scope.risk.to_string(),
            scope.decision.to_string(),
            scope.reason.clone(),
        ]);
    }
    if plan.scopes.is_empty() {
        println!("scopes: none requested");
    } else {
        print_table(&table)?;
    }
    println!();
    match plan.outcome {
        Outcome::Run => match plan.standing_grant {
            Some(until) => println!(
                "would run: approved earlier for this exact action until {}",
                humantime::format_rfc3339_seconds(until)
            ),
            None => println!("would run"),
        },
        Outcome::Ask => println!("would ask a human to approve, then run"),
        Outcome::Refused => println!(
            "would be refused: {}",
            plan.refusal.as_deref().unwrap_or("denied by policy")
        ),
    }
    Ok(())
}
