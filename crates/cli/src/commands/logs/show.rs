//! `logs show`, `logs tail`, `logs export`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use aegisclaw_audit::{AuditLog, Entry, Error, Filter, TornTail};
use clap::Args;

use super::{FilterArgs, clean};
use crate::error::with_hint;

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Print a JSON array of entries: {"seq", "time", "actor", "action", "scopes", "decision",
    /// "reasons", "result", "session", "run", "tool_call", "attrs", "prev", "hash"}
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// How many entries to print first
    #[arg(short = 'n', long, default_value_t = 10, value_name = "N")]
    lines: usize,
    /// Keep running and print entries as they are appended (Ctrl-C stops)
    #[arg(short, long)]
    follow: bool,
    /// One JSON object per line (the fields of `logs show --json`)
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    filter: FilterArgs,
}

/// One aligned line per entry.
fn line(e: &Entry) -> String {
    let r = &e.record;
    let mut summary = clean(&r.result);
    if !r.reasons.is_empty() {
        let reasons: Vec<String> = r.reasons.iter().map(|s| clean(s)).collect();
        if !summary.is_empty() {
            summary.push_str(" — ");
        }
        summary.push_str(&reasons.join("; "));
    }
    format!(
        "{:>6}  {}  {:<20}  {:<12}  {:<8}  {}",
        e.seq,
        humantime::format_rfc3339_seconds(r.time),
        clean(&r.actor),
        clean(&r.action),
        clean(&r.decision),
        summary
    )
    .trim_end()
    .to_string()
}

fn warn_torn(torn: Option<&TornTail>) {
    if let Some(t) = torn {
        eprintln!(
            "warning: the log ends in a torn record (entry {}, {} byte {}): a write was interrupted; the next append quarantines it; run `aegisclaw logs verify`",
            t.seq,
            t.path.display(),
            t.offset
        );
    }
}

fn damaged(e: Error) -> anyhow::Error {
    with_hint(
        format!("audit log: {e}"),
        "the entries above it were printed; run `aegisclaw logs verify` for a full check",
    )
}

pub(crate) fn show(log: &AuditLog, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let mut entries = log.entries(args.filter.filter())?;
    let mut out = std::io::stdout().lock();
    let mut first = true;
    if args.json {
        write!(out, "[")?;
    }
    let mut failure = None;
    for e in entries.by_ref() {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                failure = Some(err);
                break;
            }
        };
        if args.json {
            write!(out, "{}\n  ", if first { "" } else { "," })?;
            serde_json::to_writer(&mut out, &e)?;
        } else {
            writeln!(out, "{}", line(&e))?;
        }
        first = false;
    }
    if args.json {
        writeln!(out, "{}]", if first { "" } else { "\n" })?;
    }
    out.flush()?;
    warn_torn(entries.torn_tail());
    match failure {
        Some(e) => Err(damaged(e)),
        None => Ok(ExitCode::SUCCESS),
    }
}

pub(crate) fn tail(log: &AuditLog, args: &TailArgs) -> anyhow::Result<ExitCode> {
    let filter = args.filter.filter();
    let (last, torn) = log.last(args.lines, &filter).map_err(damaged)?;
    let mut out = std::io::stdout().lock();
    let print = |out: &mut std::io::StdoutLock<'_>, e: &Entry| -> anyhow::Result<()> {
        if args.json {
            serde_json::to_writer(&mut *out, e)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", line(e))?;
        }
        Ok(())
    };
    for e in &last {
        print(&mut out, e)?;
    }
    out.flush()?;
    warn_torn(torn.as_ref());
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    // Follow from the entry after the last one printed (or the current end of the log).
    let from = match last.last() {
        Some(e) => e.seq + 1,
        None => log
            .last(1, &Filter::default())
            .map_err(damaged)?
            .0
            .first()
            .map_or(0, |e| e.seq + 1),
    };
    let mut follower = log.follow(from)?;
    loop {
        for e in follower.poll().map_err(damaged)? {
            if matches_filter(&filter, &e) {
                print(&mut out, &e)?;
            }
        }
        out.flush()?;
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn matches_filter(f: &Filter, e: &Entry) -> bool {
    let r = &e.record;
    f.since.is_none_or(|t| r.time >= t)
        && f.actor.as_deref().is_none_or(|a| a == r.actor)
        && f.decision.as_deref().is_none_or(|d| d == r.decision)
        && f.action.as_deref().is_none_or(|a| a == r.action)
}

pub(crate) fn export_jsonl(log: &AuditLog, filter: &FilterArgs) -> anyhow::Result<ExitCode> {
    let mut entries = log.entries(filter.filter())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failure = None;
    for e in entries.by_ref() {
        match e {
            Ok(e) => {
                serde_json::to_writer(&mut out, &e)?;
                writeln!(out)?;
            }
            Err(err) => {
                failure = Some(err);
                break;
            }
        }
    }
    out.flush()?;
    warn_torn(entries.torn_tail());
    match failure {
        Some(e) => Err(damaged(e)),
        None => Ok(ExitCode::SUCCESS),
    }
}
