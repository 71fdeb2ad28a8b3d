//! Trains the guard's classifier from the datasets in `crates/guard/data/` and writes
//! `crates/guard/model/classifier.bin`.
//!
//! ```text
//! cargo run -p aegisclaw-guard --release --bin guard-train [-- --epochs N --data DIR --out FILE]
//! ```
//!
//! Trains on the train splits (the hand-written hard negatives in `data/` are a test set, not
//! training data: adding them hurt the validation splits), then chooses the
//! classifier's bias on the validation splits: the highest worst-split F1 whose worst-split
//! false-positive rate stays at or under 2.5%. Deterministic.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_guard::train::{self, Options};
use aegisclaw_guard::{Example, Model, read_jsonl};

const TRAIN: &[&str] = &[
    "s-labs-train.jsonl",
    "neuralchemy-train.jsonl",
    "benign-code.jsonl",
];
const VALIDATION: &[&str] = &["s-labs-validation.jsonl", "neuralchemy-validation.jsonl"];
const MAX_FPR: f64 = 0.025;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut data = manifest.join("data");
    let mut out = manifest.join("model/classifier.bin");
    let mut opts = Options::default();
    let mut errors = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--data" => data = PathBuf::from(value()?),
            "--out" => out = PathBuf::from(value()?),
            "--epochs" => opts.epochs = value()?.parse()?,
            "--lr" => opts.learning_rate = value()?.parse()?,
            "--errors" => errors = true,
            "--l2" => opts.l2 = value()?.parse()?,
            _ => return Err(format!("unknown argument {arg}").into()),
        }
    }
    let mut examples: Vec<Example> = Vec::new();
    for name in TRAIN {
        let path = data.join(name);
        if path.exists() {
            let part = read_jsonl(&path)?;
            println!("train: {name}: {} examples", part.len());
            examples.extend(part);
        }
    }
    let (bias, weights) = train::train(&examples, &opts);
    let mut model = Model::quantize(bias, &weights);
    let splits: Vec<(&str, Vec<train::Scored>)> = VALIDATION
        .iter()
        .map(|name| {
            Ok((
                *name,
                train::score_all(&model, &read_jsonl(&data.join(name))?),
            ))
        })
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    let mut best: Option<(f64, f32)> = None;
    for step in -160..=160 {
        let shift = step as f32 * 0.025;
        let per: Vec<(f64, f64, f64)> = splits
            .iter()
            .map(|(_, s)| train::metrics(s, shift))
            .collect();
        let worst_f1 = per.iter().map(|m| m.0).fold(f64::INFINITY, f64::min);
        let worst_fpr = per.iter().map(|m| m.1).fold(0.0, f64::max);
        if worst_fpr <= MAX_FPR && best.is_none_or(|(f, _)| worst_f1 > f) {
            best = Some((worst_f1, shift));
        }
    }
    let shift = best.map_or(0.0, |b| b.1);
    for (name, scored) in &splits {
        let (f1, fpr, recall) = train::metrics(scored, shift);
        println!("validation: {name}: F1 {f1:.4}  FPR {fpr:.4}  recall {recall:.4}");
    }
    if errors {
        for (name, scored) in &splits {
            for s in scored {
                if train::flagged(s, shift) != (s.label == 1) {
                    let rules: Vec<&str> = s.findings.iter().map(|f| f.rule.as_str()).collect();
                    let text: String = s.text.chars().take(160).collect();
                    println!(
                        "{name} label {} logit {:.2} rules {rules:?}: {text:?}",
                        s.label,
                        s.logit + shift
                    );
                }
            }
        }
    }
    println!("bias {:.4} + shift {shift:.3}", model.bias);
    model.bias += shift;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, model.to_bytes())?;
    println!("wrote {}", out.display());
    Ok(())
}
