//! The learned classifier: logistic regression over hashed character 3-, 4- and 5-grams and word
//! 1- and 2-grams of the normalised text.
//!
//! The weights are trained by `guard-train` (see the crate README) and shipped in
//! `model/classifier.bin`: a 16-byte header (`AGCL`, version, hash bits, bias, scale) and one
//! little-endian `i16` per hash bucket. Long texts are scored in overlapping windows and the
//! highest window counts, so an injection hidden in a long document is not diluted.

use std::sync::LazyLock;

/// Hash bits: 2^18 buckets (512 KiB of `i16` weights).
pub(crate) const BITS: u32 = 18;
pub(crate) const DIM: usize = 1 << BITS;
const MAGIC: &[u8; 4] = b"AGCL";
const VERSION: u8 = 1;

/// Window size for long texts, in bytes; texts up to `WINDOW + STRIDE` are scored whole.
const WINDOW: usize = 1024;
const STRIDE: usize = 512;

static SHIPPED_BYTES: &[u8] = include_bytes!("../model/classifier.bin");

/// The shipped model, parsed on first use.
pub(crate) static SHIPPED: LazyLock<Option<Model>> =
    LazyLock::new(|| Model::from_bytes(SHIPPED_BYTES).ok());

/// A model file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("not a guard classifier file (bad magic or version)")]
    Format,
    #[error("classifier file has {found} bytes, expected {expected}")]
    Size { found: usize, expected: usize },
}

/// A quantised linear model.
#[derive(Debug, Clone)]
pub struct Model {
    pub bias: f32,
    pub scale: f32,
    pub weights: Vec<i16>,
}

impl Model {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.len() < 16
            || &bytes[..4] != MAGIC
            || bytes[4] != VERSION
            || u32::from(bytes[5]) != BITS
        {
            return Err(ModelError::Format);
        }
        let expected = 16 + DIM * 2;
        if bytes.len() != expected {
            return Err(ModelError::Size {
                found: bytes.len(),
                expected,
            });
        }
        let f = |at: usize| {
            f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let weights = bytes[16..]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        Ok(Self {
            bias: f(8),
            scale: f(12),
            weights,
        })
    }

    /// Quantises float weights: the largest magnitude maps to `i16::MAX`.
    pub fn quantize(bias: f32, weights: &[f32]) -> Self {
        let max = weights.iter().fold(0f32, |m, w| m.max(w.abs())).max(1e-9);
        let scale = max / f32::from(i16::MAX);
        let weights = weights
            .iter()
            .map(|w| (w / scale).round().clamp(-32767.0, 32767.0) as i16)
            .collect();
        Self {
            bias,
            scale,
            weights,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.weights.len() * 2);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(BITS as u8);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.bias.to_le_bytes());
        out.extend_from_slice(&self.scale.to_le_bytes());
        for w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// The logit for a normalised text. A long text is scored in windows of about 1 KiB (every
    /// 256 bytes) and the highest window counts; window sums come from prefix sums of each
    /// position's feature weights, so the cost stays linear.
    pub fn logit(&self, text: &str) -> f32 {
        if text.len() <= WINDOW + STRIDE {
            let (mut sum, mut count) = (0i64, 0u32);
            for_each_feature(text, |_, b| {
                sum += i64::from(self.weights[b as usize]);
                count += 1;
            });
            if count == 0 {
                return self.bias;
            }
            return self.bias + self.scale * sum as f32 / (count as f32).sqrt();
        }
        // Sums per block of WINDOW / 4 bytes; a window is four consecutive blocks.
        const BLOCK: usize = WINDOW / 4;
        let blocks = text.len() / BLOCK + 1;
        let mut sum = vec![0i64; blocks];
        let mut count = vec![0u32; blocks];
        for_each_feature(text, |pos, b| {
            sum[pos / BLOCK] += i64::from(self.weights[b as usize]);
            count[pos / BLOCK] += 1;
        });
        let mut best = f32::NEG_INFINITY;
        for start in 0..blocks.saturating_sub(3).max(1) {
            let end = (start + 4).min(blocks);
            let c: u32 = count[start..end].iter().sum();
            if c > 0 {
                let s: i64 = sum[start..end].iter().sum();
                best = best.max(self.bias + self.scale * s as f32 / (c as f32).sqrt());
            }
        }
        best
    }
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn bucket(h: u64) -> u32 {
    (h.wrapping_mul(K) >> (64 - BITS)) as u32
}

/// The hashed features of a normalised text, one bucket index per occurrence.
pub(crate) fn features(text: &str, out: &mut Vec<u32>) {
    for_each_feature(text, |_, b| out.push(b));
}

/// Calls `sink(position, bucket)` for every feature: character 3/4/5-grams of ` text ` (at the
/// byte where they start, clamped into the text) and words and word bigrams (at the word's start).
fn for_each_feature(text: &str, mut sink: impl FnMut(usize, u32)) {
    let bytes = text.as_bytes();
    let last = bytes.len().saturating_sub(1);
    // Character n-grams over " text ", read 8 bytes at a time.
    let mut padded = Vec::with_capacity(bytes.len() + 10);
    padded.push(b' ');
    padded.extend_from_slice(bytes);
    padded.push(b' ');
    let n = padded.len();
    padded.extend_from_slice(&[0; 8]);
    for i in 0..n {
        let word = u64::from_le_bytes([
            padded[i],
            padded[i + 1],
            padded[i + 2],
            padded[i + 3],
            padded[i + 4],
            padded[i + 5],
            padded[i + 6],
            padded[i + 7],
        ]);
        let pos = i.saturating_sub(1).min(last);
        for (len, salt) in [
            (3u32, 0x3000_0000_0000_0000u64),
            (4, 0x4000_0000_0000_0000),
            (5, 0x5000_0000_0000_0000),
        ] {
            if i + len as usize > n {
                break;
            }
            let mask = (1u64 << (8 * len)) - 1;
            sink(pos, bucket((word & mask) ^ salt));
        }
    }
    // Words and word bigrams.
    let mut prev: u64 = 0x1234_5678;
    let mut h: u64 = 0;
    let mut start: Option<usize> = None;
    let is_word = |c: char| c.is_alphanumeric() || c == '\'';
    for (at, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if is_word(c) {
            if start.is_none() {
                start = Some(at);
                h = 0xcbf2_9ce4_8422_2325;
            }
            let mut tmp = [0u8; 4];
            for &b in c.encode_utf8(&mut tmp).as_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        } else if let Some(s) = start.take() {
            sink(s, bucket(h ^ 0x7700_0000_0000_0001));
            sink(s, bucket(h.rotate_left(17) ^ prev ^ 0x7800_0000_0000_0002));
            prev = h.wrapping_mul(31);
        }
    }
}
