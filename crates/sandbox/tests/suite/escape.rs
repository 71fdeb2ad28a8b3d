//! Every case of the escape suite, run through the helper binary's `selftest` entry (the same
//! code as `aegisclaw sandbox selftest`), once as the invoking user (root in CI) and once as an
//! unprivileged user. The oracles are host-side: see `aegisclaw_sandbox::escape`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::helper;

/// The uid/gid the unprivileged runs use (no passwd entry needed).
const UNPRIVILEGED: u32 = 61_234;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs one case; panics with every failed check when it does not pass.
fn run_case(id: &str, unprivileged: bool) {
    let mut keep = None;
    let mut cmd = if unprivileged && is_root() {
        // The build directory may be private to root: run a copy the unprivileged user can reach.
        let dir = tempfile::Builder::new()
            .prefix("aegisclaw-escape-user-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy: PathBuf = dir.path().join("aegisclaw-sandbox-helper");
        std::fs::copy(helper(), &copy).unwrap();
        let mut cmd = Command::new(&copy);
        cmd.uid(UNPRIVILEGED)
            .gid(UNPRIVILEGED)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .current_dir(dir.path());
        keep = Some(dir);
        cmd
    } else {
        Command::new(helper())
    };
    cmd.args(["selftest", "--case", id, "--json"]);
    if unprivileged || !is_root() {
        // Unprivileged users get no cgroup of their own on this CI host (cgroup v1).
        cmd.args(["--allow-degraded", "cgroups"]);
    }
    let out = cmd.output().unwrap();
    drop(keep);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "selftest output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let case = &report["cases"][0];
    assert_eq!(case["id"], id, "{report}");
    let failed: Vec<String> = case["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] != true)
        .map(|c| format!("{}: {}", c["what"], c["detail"]))
        .collect();
    assert!(
        case["passed"] == true && failed.is_empty(),
        "{id} failed{}:\n{}",
        if unprivileged { " (unprivileged)" } else { "" },
        failed.join("\n")
    );
    assert!(!case["checks"].as_array().unwrap().is_empty());
}

macro_rules! cases {
    ($($name:ident => $id:literal),* $(,)?) => {
        mod as_invoking_user {
            $(#[test] fn $name() { super::run_case($id, false) })*
        }
        mod as_unprivileged_user {
            $(#[test] fn $name() { super::run_case($id, true) })*
        }
    };
}

cases! {
    e01_read_host_secrets => "E01",
    e02_write_outside_workspace => "E02",
    e03_symlink_hardlink_rename => "E03",
    e04_protected_path_setup => "E04",
    e05_protected_path_writes => "E05",
    e06_direct_egress => "E06",
    e07_proxy_policy => "E07",
    e08_proxy_bypass => "E08",
    e09_dns_exfiltration => "E09",
    e10_host_unix_sockets => "E10",
    e11_abstract_sockets => "E11",
    e12_inherited_fds => "E12",
    e13_ptrace_and_memory => "E13",
    e14_secret_in_environment => "E14",
    e15_signals_out => "E15",
    e16_mount_and_namespace_games => "E16",
    e17_privilege_escalation => "E17",
    e18_kernel_surface => "E18",
    e19_arch_confusion => "E19",
    e20_proc_and_sys_writes => "E20",
    e21_devices => "E21",
    e22_fork_bomb => "E22",
    e23_memory_bomb => "E23",
    e24_disk_fill => "E24",
    e25_timeout_and_orphans => "E25",
    e26_persistence => "E26",
    e27_cross_sandbox => "E27",
    e28_host_loopback => "E28",
    e29_info_leak => "E29",
    e30_fail_closed => "E30",
}
