//! Integration tests of the policy engine, one binary for the crate.
//!
//! - `templates`: the written-out decision tables of every template, and the templates' own tests;
//! - `engine`: fail-closed behaviour (missing, broken, slow, writable or malformed policies),
//!   hot reload, deterministic combination, attempts to slip a scope past the policy;
//! - `check`: the linter and the test runner of `policy check`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod common;
mod suite;
