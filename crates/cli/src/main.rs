//! The `aegisclaw` command.
//!
//! Exit codes: 0 success; 1 the command ran and its answer is negative (a failed check, a
//! finding); 2 the command could not do what was asked (bad input, bad config, an error).
//! Commands that document their own codes (such as `guard scan`) extend this scheme.

// The binary is the one place that writes to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod error;
mod hardening;
mod logging;
mod output;
mod prompt;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The sandbox launcher and probe are hidden entry points of this binary; they must run
    // before anything else (the launcher forks, so no thread may exist yet).
    if let Some(code) = aegisclaw_sandbox::internal_main() {
        return code;
    }
    hardening::harden_process();
    let cli = cli::Cli::parse();
    if let Err(e) = logging::init(cli.global.verbose, cli.global.quiet) {
        return error::report(&e);
    }
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => error::report(&e),
    }
}
