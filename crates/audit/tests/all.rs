//! Integration tests of the audit log, one binary for the crate.
//!
//! `append` covers writing and reading, `keys` the signing key, `mutation` tampering that
//! verify must catch, `recovery` torn tails, `crash` and `concurrency` real processes (the
//! `audit-stress` binary) killed or racing, `proofs` inclusion proofs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod common;
mod suite;
