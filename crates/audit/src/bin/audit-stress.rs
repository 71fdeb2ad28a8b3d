//! A load generator for the audit log: appends synthetic entries as one process among many.
//! The crash and concurrency tests run it as separate processes; it also drives quick manual
//! benchmarks.
//!
//! ```text
//! audit-stress --home DIR [--count N | --forever] [--batch B] [--actor A] [--payload BYTES]
//!              [--one-shot] [--no-close] [--segment-size BYTES] [--checkpoint-every N]
//! ```
//!
//! After each durable batch it prints `committed <first> <end>` (end exclusive) on stdout.
//! `--one-shot` opens a new appender per batch, like separate CLI commands do.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use aegisclaw_audit::{AuditLog, Options, Record};
use aegisclaw_core::Home;

struct Args {
    home: String,
    count: Option<u64>,
    batch: u64,
    actor: String,
    payload: usize,
    one_shot: bool,
    close: bool,
    options: Options,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        home: String::new(),
        count: Some(100),
        batch: 10,
        actor: format!("stress-{}", std::process::id()),
        payload: 0,
        one_shot: false,
        close: true,
        options: Options::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--home" => a.home = value()?,
            "--count" => a.count = Some(number(value()?)?),
            "--forever" => a.count = None,
            "--batch" => a.batch = number(value()?)?.max(1),
            "--actor" => a.actor = value()?,
            "--payload" => a.payload = number(value()?)? as usize,
            "--one-shot" => a.one_shot = true,
            "--no-close" => a.close = false,
            "--segment-size" => a.options.segment_size = number(value()?)?,
            "--checkpoint-every" => a.options.checkpoint_every = number(value()?)?,
            "--checkpoint-interval-ms" => {
                a.options.checkpoint_interval = Duration::from_millis(number(value()?)?);
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.home.is_empty() {
        return Err("--home is required".into());
    }
    Ok(a)
}

fn run(a: &Args) -> Result<(), aegisclaw_audit::Error> {
    let log = AuditLog::new(&Home::at(&a.home), a.options.clone());
    let mut appender = log.appender()?;
    let payload = "x".repeat(a.payload);
    let mut done = 0u64;
    let mut out = std::io::stdout().lock();
    while a.count.is_none_or(|c| done < c) {
        let n = a.count.map_or(a.batch, |c| a.batch.min(c - done));
        let records: Vec<Record> = (0..n)
            .map(|i| {
                Record::new(&a.actor, "stress", "allow")
                    .result(format!("{}", done + i))
                    .attr("payload", &payload)
            })
            .collect();
        let range = if a.one_shot {
            log.append(&records)?
        } else {
            appender.append(&records)?
        };
        let _ = writeln!(out, "committed {} {}", range.start, range.end);
        let _ = out.flush();
        done += n;
    }
    if a.close {
        appender.close()?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("audit-stress: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit-stress: {e}");
            ExitCode::from(1)
        }
    }
}
