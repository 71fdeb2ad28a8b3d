mod age;
mod broker;
mod vault;

use aegisclaw_core::{Home, SecretName};

/// A fresh home in a temporary directory (kept alive by the returned guard).
pub(crate) fn temp_home() -> (tempfile::TempDir, Home) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path().join("home"));
    home.create().unwrap();
    (dir, home)
}

pub(crate) fn name(s: &str) -> SecretName {
    SecretName::parse(s).unwrap()
}
