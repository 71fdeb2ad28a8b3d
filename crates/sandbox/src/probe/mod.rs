//! The escape-suite probe: attacks run from inside a sandbox (placeholder until the suite lands).

use std::ffi::OsString;

pub(crate) fn main(_args: &[OsString]) -> i32 {
    2
}
