//! The evaluation harness: labelled examples in, detection metrics and latency out.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::{Guard, Plane, ScanContext};

/// One labelled text: `{"text": …, "label": 0|1}` (other keys are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    /// 1 for an attack, 0 for benign.
    pub label: u8,
}

/// A JSON Lines file of examples that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected {{\"text\": string, \"label\": 0 or 1}}: {source}")]
    Line {
        path: String,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{path}:{line}: label must be 0 or 1, got {label}")]
    Label {
        path: String,
        line: usize,
        label: u8,
    },
}

/// Reads a JSON Lines file of examples; blank lines are skipped.
pub fn read_jsonl(path: &Path) -> Result<Vec<Example>, ReadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let ex: Example = serde_json::from_str(line).map_err(|source| ReadError::Line {
            path: shown.clone(),
            line: i + 1,
            source,
        })?;
        if ex.label > 1 {
            return Err(ReadError::Label {
                path: shown,
                line: i + 1,
                label: ex.label,
            });
        }
        out.push(ex);
    }
    Ok(out)
}

/// Detection quality and speed over a set of examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub examples: usize,
    pub attacks: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub true_negatives: usize,
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub false_positive_rate: f64,
    pub accuracy: f64,
    /// Mean scan time per example, microseconds.
    pub mean_latency_us: f64,
    /// 99th percentile scan time per example, microseconds.
    pub p99_latency_us: f64,
    /// Input bytes scanned per second of scan time, in MB/s (10^6 bytes).
    pub throughput_mb_s: f64,
}

impl EvalReport {
    /// Metrics from confusion counts and per-example latencies (seconds) and total bytes.
    pub fn from_counts(
        tp: usize,
        fp: usize,
        tn: usize,
        fn_: usize,
        latencies: &mut [f64],
        bytes: usize,
    ) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        latencies.sort_by(f64::total_cmp);
        let total: f64 = latencies.iter().sum();
        let n = latencies.len();
        let p99 = if n == 0 {
            0.0
        } else {
            latencies[((n as f64 * 0.99).ceil() as usize).clamp(1, n) - 1]
        };
        Self {
            examples: tp + fp + tn + fn_,
            attacks: tp + fn_,
            true_positives: tp,
            false_positives: fp,
            true_negatives: tn,
            false_negatives: fn_,
            precision,
            recall,
            f1,
            false_positive_rate: ratio(fp, fp + tn),
            accuracy: ratio(tp + tn, tp + fp + tn + fn_),
            mean_latency_us: if n == 0 { 0.0 } else { total / n as f64 * 1e6 },
            p99_latency_us: p99 * 1e6,
            throughput_mb_s: if total == 0.0 {
                0.0
            } else {
                bytes as f64 / total / 1e6
            },
        }
    }
}

impl Guard {
    /// Scans every example as a model prompt ([`ScanContext::input`] on [`Plane::Model`]) and
    /// counts a detection whenever the score reaches the threshold, whatever the plane's mode.
    pub fn evaluate(&self, examples: &[Example]) -> EvalReport {
        let ctx = ScanContext::input(Plane::Model);
        // Build the rules and load the model before timing anything.
        crate::analyze("warm up", ctx.mode);
        let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
        let mut latencies = Vec::with_capacity(examples.len());
        let mut bytes = 0;
        for ex in examples {
            let start = Instant::now();
            let (score, _) = crate::analyze(&ex.text, ctx.mode);
            latencies.push(start.elapsed().as_secs_f64());
            bytes += ex.text.len();
            match (score >= crate::THRESHOLD, ex.label == 1) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, false) => tn += 1,
                (false, true) => fn_ += 1,
            }
        }
        EvalReport::from_counts(tp, fp, tn, fn_, &mut latencies, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics() {
        let r = EvalReport::from_counts(8, 1, 9, 2, &mut [1e-6, 3e-6], 100);
        assert!((r.precision - 8.0 / 9.0).abs() < 1e-9);
        assert!((r.recall - 0.8).abs() < 1e-9);
        assert!((r.false_positive_rate - 0.1).abs() < 1e-9);
        assert!((r.accuracy - 0.85).abs() < 1e-9);
        assert!((r.mean_latency_us - 2.0).abs() < 1e-6);
        assert!((r.p99_latency_us - 3.0).abs() < 1e-6);
    }
}
