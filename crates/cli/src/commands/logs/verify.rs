//! `logs verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_audit::{AuditLog, KeySource, VerifyOptions};
use anyhow::Context as _;
use clap::Args;

use super::parse_key;
use crate::error::EXIT_NEGATIVE;
use crate::output::print_json;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The log's public key, kept elsewhere (the line `aegisclaw logs key` printed, or a file
    /// holding it); default: the key in the home
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// A checkpoint kept elsewhere (the output of `aegisclaw logs checkpoint`); the log must
    /// still contain exactly what it signed. Repeatable
    #[arg(long = "checkpoint", value_name = "FILE")]
    checkpoints: Vec<PathBuf>,
    /// Print the report as JSON: {"ok", "entries", "segments", "root", "key", "key_source",
    /// "checkpoints_verified", "latest_checkpoint", "uncovered_entries", "first_bad_seq",
    /// "problems": [{"seq", "location", "message"}], "notices"}
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(log: &AuditLog, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let key = args.key.as_deref().map(parse_key).transpose()?;
    let mut checkpoints = Vec::new();
    for path in &args.checkpoints {
        let note = std::fs::read_to_string(path)
            .with_context(|| format!("read checkpoint {}", path.display()))?;
        checkpoints.push((path.display().to_string(), note));
    }
    let report = log.verify(&VerifyOptions { key, checkpoints })?;
    if args.json {
        print_json(&report)?;
    } else {
        println!("audit log: {}", log.dir().display());
        println!(
            "entries:   {} in {} segment{}; tree root {}",
            report.entries,
            report.segments,
            if report.segments == 1 { "" } else { "s" },
            report.root
        );
        let source = match report.key_source {
            Some(KeySource::Given) => "given with --key",
            Some(KeySource::SigningKey) => "keys/audit-log.key",
            Some(KeySource::PublicFile) => "audit/log.pub",
            None => "none",
        };
        println!(
            "signed:    {} checkpoint{} verified{}; key {} ({source})",
            report.checkpoints_verified,
            if report.checkpoints_verified == 1 {
                ""
            } else {
                "s"
            },
            report
                .latest_checkpoint
                .map(|s| format!(", the newest covers {s} entries"))
                .unwrap_or_default(),
            report.key.as_deref().unwrap_or("-"),
        );
        for n in &report.notices {
            println!("notice:    {n}");
        }
        for p in &report.problems {
            let seq = p.seq.map(|s| format!("entry {s}: ")).unwrap_or_default();
            println!("FAIL       {seq}{}: {}", p.location, p.message);
        }
        if report.ok {
            println!("OK: every entry, the hash chain and the Merkle tree verify");
        } else {
            println!(
                "verify failed: {} problem{}{}",
                report.problems.len(),
                if report.problems.len() == 1 { "" } else { "s" },
                report
                    .first_bad_seq
                    .map(|s| format!("; the first bad entry is {s}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NEGATIVE)
    })
}
