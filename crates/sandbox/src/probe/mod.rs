//! The escape-suite probe: runs inside a sandbox and attempts the attacks the host side of each
//! case asks for, one `op=argument` per command-line argument, in order. Every attempt prints
//! one JSON line (`{"op","arg","ok","out"}`) on stdout.
//!
//! The probe decides nothing: the host-side oracle of each case looks at what reached the host
//! (canary listeners, files, processes, the launcher's seccomp record). The lines are supporting
//! evidence, and the carrier of anything the probe managed to read (so that a leaked token shows
//! up in the output the oracle scans).

mod fs_ops;
mod kernel_ops;
mod net_ops;
mod proc_ops;

use std::ffi::OsString;
use std::io::Write;

use serde::{Deserialize, Serialize};

/// One attempt, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Line {
    pub(crate) op: String,
    pub(crate) arg: String,
    pub(crate) ok: bool,
    pub(crate) out: String,
}

pub(crate) fn emit(op: &str, arg: &str, result: std::result::Result<String, String>) {
    let (ok, out) = match result {
        Ok(out) => (true, out),
        Err(out) => (false, out),
    };
    let line = Line {
        op: op.to_string(),
        arg: arg.to_string(),
        ok,
        out,
    };
    if let Ok(json) = serde_json::to_string(&line) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{json}");
        let _ = stdout.flush();
    }
}

/// The text of the last OS error.
pub(crate) fn os_err() -> String {
    std::io::Error::last_os_error().to_string()
}

/// `Ok(detail)` when a libc call returned non-negative, else the OS error.
pub(crate) fn check(
    ret: i64,
    detail: impl FnOnce(i64) -> String,
) -> std::result::Result<String, String> {
    if ret < 0 {
        Err(os_err())
    } else {
        Ok(detail(ret))
    }
}

/// Runs the operations named in `args`; returns the exit code.
pub(crate) fn main(args: &[OsString]) -> i32 {
    for arg in args {
        let arg = arg.to_string_lossy();
        let (op, value) = arg.split_once('=').unwrap_or((&arg, ""));
        if !(fs_ops::run(op, value)
            || net_ops::run(op, value)
            || proc_ops::run(op, value)
            || kernel_ops::run(op, value))
        {
            emit(op, value, Err("unknown probe operation".into()));
            return 2;
        }
    }
    0
}

/// Parses the lines a probe printed (other output is ignored).
pub(crate) fn parse(stdout: &[u8]) -> Vec<Line> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
