//! Integration tests of the sandbox crate: one binary (faster linking). `common` builds
//! backends around the crate's helper binary; `suite::run` covers the run interface
//! (streams, exit codes, limits, secrets, sessions); `suite::escape` runs every case of the
//! escape suite (E01–E30) as root and as an unprivileged user.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod common;
mod suite;
