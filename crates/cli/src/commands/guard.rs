//! `aegisclaw guard`: scan a text for prompt injection, jailbreaks, indirect injection and
//! secrets; evaluate the detector on a labelled file.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_core::{GuardConfig, GuardMode};
use aegisclaw_guard::{Guard, Plane, ScanContext, ScanMode, Verdict, read_jsonl};
use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use crate::commands::Ctx;
use crate::error::{EXIT_NEGATIVE, with_hint};
use crate::output::{print_json, print_table};

/// Exit code of `guard scan` when the text is blocked.
pub(crate) const EXIT_BLOCKED: u8 = 3;

#[derive(Debug, Subcommand)]
pub(crate) enum GuardCommand {
    /// Scan a text and print the verdict, the score and the findings
    ///
    /// The plane's mode in the configuration ([guard] host, tools, model, network) decides what
    /// a detection leads to. Exit codes: 0 allow, 1 flagged (mode warn), 3 blocked (mode
    /// block), 2 error.
    Scan {
        /// What the text is: input (a prompt, arguments), output (an answer), data (untrusted
        /// content such as a tool result, a page, an email)
        #[arg(long, value_enum, default_value_t = ModeArg::Input)]
        mode: ModeArg,
        /// The plane whose mode applies
        #[arg(long, value_enum, default_value_t = PlaneArg::Model)]
        plane: PlaneArg,
        /// The data's source label for --mode data [default: file:FILE or stdin]
        #[arg(long, value_name = "LABEL")]
        source: Option<String>,
        /// The file to scan; `-` or nothing reads standard input
        file: Option<PathBuf>,
        /// JSON: {"verdict", "score", "findings": [{"detector", "kind", "rule", "score", "span", "transforms"}], "enforcement", "mode", "provenance"}
        #[arg(long)]
        json: bool,
    },
    /// Measure the detector on a JSON Lines file of {"text": …, "label": 0|1}
    ///
    /// Prints precision, recall, F1, false-positive rate, accuracy, mean and p99 latency per
    /// item and throughput. A text counts as detected when its score reaches the threshold,
    /// whatever the configured modes.
    Eval {
        /// The labelled file
        file: PathBuf,
        /// JSON: {"examples", "attacks", "true_positives", …, "precision", "recall", "f1", "false_positive_rate", "accuracy", "mean_latency_us", "p99_latency_us", "throughput_mb_s"}
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ModeArg {
    Input,
    Output,
    Data,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PlaneArg {
    Host,
    Tools,
    Model,
    Network,
}

pub(crate) fn run(ctx: &Ctx, cmd: GuardCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GuardCommand::Scan {
            mode,
            plane,
            source,
            file,
            json,
        } => scan(ctx, mode, plane, source, file, json),
        GuardCommand::Eval { file, json } => eval(&file, json),
    }
}

fn scan(
    ctx: &Ctx,
    mode: ModeArg,
    plane: PlaneArg,
    source: Option<String>,
    file: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let (text, label) = match file.as_deref() {
        None => (read_stdin()?, "stdin".to_owned()),
        Some(p) if p.as_os_str() == "-" => (read_stdin()?, "stdin".to_owned()),
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            (
                String::from_utf8_lossy(&bytes).into_owned(),
                format!("file:{}", p.display()),
            )
        }
    };
    let plane = match plane {
        PlaneArg::Host => Plane::Host,
        PlaneArg::Tools => Plane::Tools,
        PlaneArg::Model => Plane::Model,
        PlaneArg::Network => Plane::Network,
    };
    let ctx = match mode {
        ModeArg::Input => ScanContext::input(plane),
        ModeArg::Output => ScanContext::output(plane),
        ModeArg::Data => ScanContext::data(plane, source.as_deref().unwrap_or(&label)),
    };
    let guard = Guard::new(&config.guard);
    let report = guard.scan(&text, &ctx);
    if json {
        print_json(&report)?;
    } else {
        println!(
            "{}  score {:.2}  ({} mode {})",
            report.verdict.as_str(),
            report.score,
            match ctx.mode {
                ScanMode::Input => "input",
                ScanMode::Output => "output",
                ScanMode::Data => "data",
            },
            report.enforcement
        );
        if report.enforcement == GuardMode::Off {
            eprintln!(
                "the guard is off for this plane; set [guard] in config.toml to warn or block"
            );
        }
        if !report.findings.is_empty() {
            let mut rows = vec![vec![
                "DETECTOR".to_owned(),
                "KIND".to_owned(),
                "RULE".to_owned(),
                "SCORE".to_owned(),
                "BYTES".to_owned(),
                "AFTER".to_owned(),
            ]];
            for f in &report.findings {
                rows.push(vec![
                    f.detector.clone(),
                    f.kind.clone(),
                    f.rule.clone(),
                    format!("{:.2}", f.score),
                    format!("{}..{}", f.span.0, f.span.1),
                    f.transforms.join(", "),
                ]);
            }
            print_table(&rows)?;
        }
    }
    Ok(match report.verdict {
        Verdict::Allow => ExitCode::SUCCESS,
        Verdict::Flag => ExitCode::from(EXIT_NEGATIVE),
        Verdict::Block => ExitCode::from(EXIT_BLOCKED),
    })
}

fn read_stdin() -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn eval(file: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let examples = read_jsonl(file).map_err(|e| {
        with_hint(
            e.to_string(),
            r#"each line must be a JSON object such as {"text": "…", "label": 1}"#,
        )
    })?;
    let config = GuardConfig {
        host: GuardMode::Warn,
        tools: GuardMode::Warn,
        model: GuardMode::Warn,
        network: GuardMode::Warn,
    };
    let report = Guard::new(&config).evaluate(&examples);
    if json {
        print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows = vec![
        vec![
            "examples".to_owned(),
            format!("{} ({} attacks)", report.examples, report.attacks),
        ],
        vec![
            "confusion".to_owned(),
            format!(
                "TP {}  FP {}  TN {}  FN {}",
                report.true_positives,
                report.false_positives,
                report.true_negatives,
                report.false_negatives
            ),
        ],
        vec!["precision".to_owned(), format!("{:.4}", report.precision)],
        vec!["recall".to_owned(), format!("{:.4}", report.recall)],
        vec!["F1".to_owned(), format!("{:.4}", report.f1)],
        vec![
            "false-positive rate".to_owned(),
            format!("{:.4}", report.false_positive_rate),
        ],
        vec!["accuracy".to_owned(), format!("{:.4}", report.accuracy)],
        vec![
            "mean latency".to_owned(),
            format!("{:.1} µs/item", report.mean_latency_us),
        ],
        vec![
            "p99 latency".to_owned(),
            format!("{:.1} µs/item", report.p99_latency_us),
        ],
        vec![
            "throughput".to_owned(),
            format!("{:.1} MB/s", report.throughput_mb_s),
        ],
    ];
    print_table(&rows)?;
    Ok(ExitCode::SUCCESS)
}
