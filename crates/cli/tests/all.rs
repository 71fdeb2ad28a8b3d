//! Integration tests of the `aegisclaw` binary, one binary for the whole crate (faster linking).
//! Each module covers one command; `common` holds the hermetic home and command runner.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod common;
mod suite;
