//! `aegisclaw logs`: read, verify, prove and export the tamper-evident audit log.

mod prove;
mod show;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use aegisclaw_audit::{AuditLog, Filter, Options, VerifierKey};
use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};

use crate::commands::Ctx;
use crate::error::with_hint;

#[derive(Debug, Subcommand)]
pub(crate) enum LogsCommand {
    /// Print entries, oldest first; filters combine
    Show(show::ShowArgs),
    /// Print the last entries; with -f, keep printing new ones as they are appended
    Tail(show::TailArgs),
    /// Recompute every hash, the chain and the Merkle tree, and check them against every signed
    /// checkpoint; exit 1 and name the first bad entry on any problem
    Verify(verify::VerifyArgs),
    /// Print an inclusion proof of entry SEQ against a signed checkpoint (JSON), or check one
    Prove(prove::ProveArgs),
    /// Sign a checkpoint of the whole log now and print it (a C2SP signed note); keep copies
    /// elsewhere to detect later deletion or rewriting
    Checkpoint,
    /// Export entries, one JSON object per line
    Export(ExportArgs),
    /// Print the log's public key (creating the signing key if there is none), to keep
    /// elsewhere and pass back to `logs verify --key`
    Key,
}

/// Filters shared by `show`, `tail` and `export`.
#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// Only entries at or after T: an RFC 3339 time (2025-06-01T12:00:00Z), a date
    /// (2025-06-01) or a duration ago (90m, 2h, 7days)
    #[arg(long, value_name = "T", value_parser = parse_since)]
    since: Option<SystemTime>,
    /// Only entries by this actor (exact)
    #[arg(long, value_name = "A")]
    actor: Option<String>,
    /// Only entries with this decision (exact): allow, deny, ask, ...
    #[arg(long, value_name = "D")]
    decision: Option<String>,
    /// Only entries of this action kind (exact): exec, tool_call, connect, ...
    #[arg(long, value_name = "K")]
    action: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> Filter {
        Filter {
            since: self.since,
            actor: self.actor.clone(),
            decision: self.decision.clone(),
            action: self.action.clone(),
            from_seq: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ExportFormat {
    /// JSON Lines: one entry per line, every field, hashes in hex
    Jsonl,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Output format
    #[arg(long, value_enum)]
    format: ExportFormat,
    #[command(flatten)]
    filter: FilterArgs,
}

pub(crate) fn run(ctx: &Ctx, cmd: LogsCommand) -> anyhow::Result<ExitCode> {
    let log = open(ctx)?;
    match cmd {
        LogsCommand::Show(args) => show::show(&log, &args),
        LogsCommand::Tail(args) => show::tail(&log, &args),
        LogsCommand::Verify(args) => verify::run(&log, &args),
        LogsCommand::Prove(args) => prove::run(&log, &args),
        LogsCommand::Checkpoint => {
            let signed = log.checkpoint().map_err(|e| writer_error(&log, e))?;
            print!("{}", signed.note);
            eprintln!(
                "checkpoint of {} entries; keep a copy outside this machine and check later with `aegisclaw logs verify --checkpoint FILE`",
                signed.checkpoint.size
            );
            Ok(ExitCode::SUCCESS)
        }
        LogsCommand::Export(args) => {
            let ExportFormat::Jsonl = args.format;
            show::export_jsonl(&log, &args.filter)
        }
        LogsCommand::Key => {
            let key = log
                .public_key_or_create()
                .map_err(|e| writer_error(&log, e))?;
            println!("{key}");
            eprintln!(
                "keep this line outside this machine; `aegisclaw logs verify --key '<line>'` checks the log against it"
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open(ctx: &Ctx) -> anyhow::Result<AuditLog> {
    let config = ctx.config()?;
    Ok(AuditLog::new(&ctx.home, Options::from(&config.audit)))
}

/// An error of a command that writes: say how to get out of it.
fn writer_error(log: &AuditLog, e: aegisclaw_audit::Error) -> anyhow::Error {
    use aegisclaw_audit::Error as E;
    let hint = match &e {
        E::Corrupt { .. } | E::ShorterThanCheckpoint { .. } | E::CheckpointMismatch { .. } => {
            format!(
                "run `aegisclaw logs verify` to see what changed; to start a new log, move {} aside (keep it as evidence)",
                log.dir().display()
            )
        }
        E::Key { .. } => "fix the key file as the message says (see `aegisclaw doctor`)".into(),
        _ => "see `aegisclaw doctor`".into(),
    };
    with_hint(format!("audit log: {e}"), hint)
}

/// `--key`: a verifier key line, or a file holding one.
pub(crate) fn parse_key(value: &str) -> anyhow::Result<VerifierKey> {
    if let Ok(key) = VerifierKey::parse(value) {
        return Ok(key);
    }
    let path = PathBuf::from(value);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        with_hint(
            format!("--key {value}: neither a public key line nor a readable file ({e})"),
            "pass the line printed by `aegisclaw logs key` (name+id+key), or a file holding it",
        )
    })?;
    VerifierKey::parse(&text).map_err(|e| {
        with_hint(
            format!("--key {}: {e}", path.display()),
            "the file must hold the line printed by `aegisclaw logs key`",
        )
    })
}

/// The key to check checkpoints with: `--key`, else the log's own.
pub(crate) fn key_or_own(log: &AuditLog, given: Option<&str>) -> anyhow::Result<VerifierKey> {
    if let Some(v) = given {
        return parse_key(v);
    }
    match log.public_key().context("load the audit log's key")? {
        Some((k, _)) => Ok(k),
        None => Err(with_hint(
            "the audit log has no key yet (nothing was ever logged)",
            "pass --key with the log's public key",
        )),
    }
}

fn parse_since(s: &str) -> Result<SystemTime, String> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if s.len() == 10
        && let Ok(t) = humantime::parse_rfc3339_weak(&format!("{s}T00:00:00Z"))
    {
        return Ok(t);
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return SystemTime::now()
            .checked_sub(d)
            .ok_or_else(|| format!("{s} ago is before the epoch"));
    }
    Err(format!(
        "expected an RFC 3339 time (2025-06-01T12:00:00Z), a date (2025-06-01) or a duration ago (90m, 2h, 7days), got {s:?}"
    ))
}

/// Makes untrusted text safe for a terminal: control characters and bidirectional overrides
/// are shown escaped, so that an entry cannot move the cursor, recolour or reorder the screen.
pub(crate) fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}
