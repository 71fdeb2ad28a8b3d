//! Integration tests of `aegisclaw-guard`, one binary for the crate.
//!
//! - `api`: verdicts per mode and plane, hard negatives, spans and transformations, provenance;
//! - `evaluation`: the targets on the validation splits shipped in `data/`;
//! - `evasion`: every obfuscation (and combinations) applied to the validation attacks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod suite;
