//! Hidden entry points of the binaries that embed this crate (`aegisclaw`, and the crate's
//! own helper binary): the sandbox launcher and the in-sandbox probe of the escape suite.
//!
//! They are dispatched from `argv[1]` before anything else runs (no argument parser, no
//! thread), because the launcher forks and must be single-threaded.

use std::ffi::OsString;

/// `argv[1]` of the launcher.
pub(crate) const LAUNCHER_ARG: &str = "__aegisclaw-sandbox-launcher";
/// `argv[1]` of the escape-suite probe that runs inside a sandbox.
pub(crate) const PROBE_ARG: &str = "__aegisclaw-sandbox-probe";

/// Runs the hidden entry point named by `argv[1]`, if any, and returns its exit code. Call it
/// first thing in `main`, before any thread exists:
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     if let Some(code) = aegisclaw_sandbox::internal_main() {
///         return code;
///     }
///     // ... the program's own work
/// #   std::process::ExitCode::SUCCESS
/// }
/// ```
pub fn internal_main() -> Option<std::process::ExitCode> {
    let mut args = std::env::args_os();
    let _argv0 = args.next();
    let first = args.next()?;
    let rest: Vec<OsString> = args.collect();
    let code = if first == LAUNCHER_ARG {
        crate::native::launcher::main()
    } else if first == PROBE_ARG {
        crate::probe::main(&rest)
    } else {
        return None;
    };
    Some(std::process::ExitCode::from(
        u8::try_from(code).unwrap_or(1),
    ))
}
