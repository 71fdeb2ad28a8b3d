//! Backends and specs for the tests.

use aegisclaw_core::{Limits, SandboxConfig};
use aegisclaw_sandbox::{NativeBackend, SandboxSpec};

/// The crate's helper binary (launcher and probe entry points).
pub(crate) fn helper() -> &'static str {
    env!("CARGO_BIN_EXE_aegisclaw-sandbox-helper")
}

pub(crate) fn backend() -> NativeBackend {
    NativeBackend::new(helper(), &SandboxConfig::default())
}

pub(crate) fn spec() -> SandboxSpec {
    SandboxSpec::new(Limits::default())
}
