//! A hermetic AegisClaw home per test, and a runner for the real binary.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub(crate) struct TestHome {
    dir: tempfile::TempDir,
}

impl TestHome {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The AegisClaw home (not created until a command creates it).
    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.home().join(rel)
    }

    /// A scratch directory beside the home.
    pub(crate) fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// `aegisclaw ARGS…` with this home and no inherited log settings.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("aegisclaw").expect("binary built");
        cmd.env("AEGISCLAW_HOME", self.home())
            .env_remove("RUST_LOG")
            .args(args);
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("aegisclaw runs")
    }

    pub(crate) fn init(&self) {
        let out = self.run(&["init", "--yes"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "init failed: {}",
            text(&out.stderr)
        );
    }
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}
