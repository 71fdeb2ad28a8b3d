//! The sandbox crate's helper binary: the hidden entry points (launcher, probe) and the escape
//! suite, for this crate's tests and benchmarks. The `aegisclaw` binary ships the same code.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(code) = aegisclaw_sandbox::internal_main() {
        return code;
    }
    aegisclaw_sandbox::escape::helper_main()
}
