//! The run interface: output, exit codes, working directory, environment.

use aegisclaw_sandbox::{Backend, ExecSpec, ExecStdio};

use crate::common::{backend, spec};

#[test]
fn echo_prints_and_exits_zero() {
    let out = backend()
        .run(
            spec(),
            &ExecSpec::new("echo").arg("Hello Safe World"),
            ExecStdio::piped(),
        )
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Hello Safe World\n");
    assert_eq!(out.report.exec.code(), 0);
}
