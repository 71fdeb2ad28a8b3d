//! The escape suite.

/// The helper binary's main.
pub fn helper_main() -> std::process::ExitCode {
    std::process::ExitCode::from(2)
}
