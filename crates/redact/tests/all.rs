//! Integration tests of `aegisclaw-redact`, one binary for the crate.
//!
//! - `redaction`: known values and their encodings, split across chunks at every point;
//! - `scanner`: rule behaviour on hand-written positives and near misses;
//! - `corpus`: recall and false-positive rate on the labelled cases in `data/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod suite;
