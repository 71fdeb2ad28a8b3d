//! `logs prove`.

use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_audit::{AuditLog, Error, InclusionProof, SignedCheckpoint};
use anyhow::Context as _;
use clap::Args;

use super::{clean, key_or_own, writer_error};
use crate::error::{EXIT_NEGATIVE, with_hint};
use crate::output::print_json;

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// The entry to prove
    #[arg(required_unless_present = "check", conflicts_with = "check")]
    seq: Option<u64>,
    /// Prove against this checkpoint (a file from `aegisclaw logs checkpoint`) instead of the
    /// newest one
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Check a proof file printed by `logs prove` instead (exit 1 when it does not hold)
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
    /// The log's public key (a line from `aegisclaw logs key`, or a file holding it);
    /// default: the key in the home
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
}

pub(crate) fn run(log: &AuditLog, args: &ProveArgs) -> anyhow::Result<ExitCode> {
    let key = key_or_own(log, args.key.as_deref())?;
    if let Some(path) = &args.check {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read proof {}", path.display()))?;
        let proof: InclusionProof = serde_json::from_str(&text).map_err(|e| {
            with_hint(
                format!("{}: not a proof: {e}", path.display()),
                "pass the JSON printed by `aegisclaw logs prove SEQ`",
            )
        })?;
        return Ok(match proof.check(&key) {
            Ok(entry) => {
                let r = &entry.record;
                println!(
                    "valid: entry {} ({} {} {}) is in the tree of {} entries signed by {key}",
                    entry.seq,
                    clean(&r.actor),
                    clean(&r.action),
                    clean(&r.decision),
                    proof.tree_size
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                println!("invalid: {e}");
                ExitCode::from(EXIT_NEGATIVE)
            }
        });
    }
    let Some(seq) = args.seq else {
        return Err(with_hint("no entry given", "pass SEQ or --check FILE"));
    };
    let checkpoint = match &args.checkpoint {
        Some(path) => {
            let note = std::fs::read_to_string(path)
                .with_context(|| format!("read checkpoint {}", path.display()))?;
            SignedCheckpoint::open(&note, &key).map_err(|e| {
                with_hint(
                    format!("{}: {e}", path.display()),
                    "pass a checkpoint printed by `aegisclaw logs checkpoint` for this log",
                )
            })?
        }
        None => {
            let latest = log.latest_checkpoint(&key)?;
            match latest {
                Some(c) if c.checkpoint.size > seq => c,
                _ => {
                    // Not covered yet: sign a checkpoint of the log as it is now.
                    let c = log.checkpoint().map_err(|e| writer_error(log, e))?;
                    if c.checkpoint.size <= seq {
                        return Err(with_hint(
                            format!(
                                "entry {seq} does not exist: the log has {} entries",
                                c.checkpoint.size
                            ),
                            "see `aegisclaw logs tail` for the newest entries",
                        ));
                    }
                    eprintln!(
                        "signed a new checkpoint of {} entries to cover entry {seq}",
                        c.checkpoint.size
                    );
                    c
                }
            }
        }
    };
    let proof = match log.prove(seq, &checkpoint) {
        Ok(p) => p,
        Err(e @ Error::CheckpointMismatch { .. }) => {
            eprintln!("error: {e}");
            eprintln!("hint: run `aegisclaw logs verify` to see what changed");
            return Ok(ExitCode::from(EXIT_NEGATIVE));
        }
        Err(e @ Error::NotCovered { .. }) => {
            return Err(with_hint(
                e.to_string(),
                "prove against a newer checkpoint (omit --checkpoint)",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    print_json(&proof)?;
    eprintln!(
        "entry {seq} is leaf {seq} of the tree of {} entries; check with `aegisclaw logs prove --check FILE --key KEY`",
        proof.tree_size
    );
    Ok(ExitCode::SUCCESS)
}
