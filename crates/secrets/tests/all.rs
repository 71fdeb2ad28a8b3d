//! Integration tests of the secrets crate: one binary (faster linking). `suite::age` attacks
//! the local store (wrong key, corruption, concurrent writers, permissions, plaintext on disk),
//! `suite::broker` the leases, `suite::vault` runs the Vault backend against a real OpenBao dev
//! server started on a free loopback port.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod suite;
