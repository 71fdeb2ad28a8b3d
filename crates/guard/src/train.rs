//! Training the classifier (used by the `guard-train` binary; not part of the stable API).
//!
//! Logistic regression by stochastic gradient descent with AdaGrad step sizes, class-balanced
//! weights and L2 decay on the touched weights, over the features of the normalised text.
//! Deterministic: a fixed seed shuffles, and the same data gives the same bytes.

use crate::classifier::{DIM, Model, features};
use crate::eval::Example;
use crate::{GuardFinding, ScanMode, THRESHOLD, combine, detect, normalize};

/// Training settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            epochs: 3,
            learning_rate: 0.1,
            l2: 1e-5,
            seed: 0x5eed,
        }
    }
}

/// Sparse features of one example: (bucket, value), values scaled by 1/sqrt(occurrences).
fn sparse(text: &str) -> Vec<(u32, f32)> {
    let norm = normalize::normalize(text);
    let mut raw = Vec::new();
    features(&norm.text, &mut raw);
    if raw.is_empty() {
        return Vec::new();
    }
    let scale = 1.0 / (raw.len() as f32).sqrt();
    raw.sort_unstable();
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(raw.len());
    for b in raw {
        match out.last_mut() {
            Some((last, v)) if *last == b => *v += scale,
            _ => out.push((b, scale)),
        }
    }
    out
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// Trains float weights; returns (bias, weights).
pub fn train(examples: &[Example], opts: &Options) -> (f32, Vec<f32>) {
    let data: Vec<(Vec<(u32, f32)>, f32)> = examples
        .iter()
        .map(|e| (sparse(&e.text), f32::from(e.label)))
        .collect();
    let pos = data.iter().filter(|d| d.1 > 0.5).count().max(1) as f32;
    let neg = (data.len() as f32 - pos).max(1.0);
    let total = data.len() as f32;
    let (w_pos, w_neg) = (total / (2.0 * pos), total / (2.0 * neg));
    let mut w = vec![0f32; DIM];
    let mut g2 = vec![1e-8f32; DIM];
    let mut bias = 0f32;
    let mut bias_g2 = 1e-8f32;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = opts.seed | 1;
    for _ in 0..opts.epochs {
        for i in (1..order.len()).rev() {
            let j = (xorshift(&mut rng) % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &k in &order {
            let (x, y) = &data[k];
            let z = bias + x.iter().map(|(b, v)| w[*b as usize] * v).sum::<f32>();
            let p = 1.0 / (1.0 + (-z).exp());
            let weight = if *y > 0.5 { w_pos } else { w_neg };
            let g = (p - y) * weight;
            for (b, v) in x {
                let b = *b as usize;
                let grad = g * v + opts.l2 * w[b];
                g2[b] += grad * grad;
                w[b] -= opts.learning_rate * grad / g2[b].sqrt();
            }
            bias_g2 += g * g;
            bias -= opts.learning_rate * g / bias_g2.sqrt();
        }
    }
    (bias, w)
}

/// The pieces of a detection that do not depend on the classifier's bias: rule and secret
/// findings and the classifier's logit.
#[derive(Debug)]
pub struct Scored {
    pub findings: Vec<GuardFinding>,
    pub logit: f32,
    pub label: u8,
    pub text: String,
}

/// Scores examples with a model (rules included), for choosing the bias.
pub fn score_all(model: &Model, examples: &[Example]) -> Vec<Scored> {
    examples
        .iter()
        .map(|e| {
            let (findings, logit) = detect(&e.text, ScanMode::Input, Some(model));
            Scored {
                findings,
                logit: logit.unwrap_or(f32::NEG_INFINITY),
                label: e.label,
                text: e.text.clone(),
            }
        })
        .collect()
}

/// Whether a scored example is flagged with the classifier's logit shifted.
pub fn flagged(s: &Scored, shift: f32) -> bool {
    let p = 1.0 / (1.0 + (-(s.logit + shift)).exp());
    combine(&s.findings, p) >= THRESHOLD
}

/// (F1, false-positive rate, recall) of scored examples with the classifier's logit shifted.
pub fn metrics(scored: &[Scored], shift: f32) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut tn, mut fn_) = (0f64, 0f64, 0f64, 0f64);
    for s in scored {
        let p = 1.0 / (1.0 + (-(s.logit + shift)).exp());
        let flagged = combine(&s.findings, p) >= THRESHOLD;
        match (flagged, s.label == 1) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, false) => tn += 1.0,
            (false, true) => fn_ += 1.0,
        }
    }
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (f1, if fp + tn > 0.0 { fp / (fp + tn) } else { 0.0 }, recall)
}
