//! One module per command; `run` dispatches.

pub(crate) mod approvals;
pub(crate) mod completions;
pub(crate) mod config;
pub(crate) mod doctor;
pub(crate) mod guard;
pub(crate) mod init;
pub(crate) mod lockdown;
pub(crate) mod logs;
pub(crate) mod man;
pub(crate) mod policy;
pub(crate) mod run;
pub(crate) mod sandbox;
pub(crate) mod secrets;
pub(crate) mod skill;
pub(crate) mod trust;

use std::process::ExitCode;

use aegisclaw_core::{Config, Home};

use crate::cli::{Cli, Command};
use crate::error::with_hint;

/// What every command may need: where the home is, and its configuration.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) home: Home,
}

impl Ctx {
    /// Loads and validates `config.toml` (the embedded defaults when it does not exist).
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        Config::load(&self.home.config_file()).map_err(|e| {
            with_hint(
                format!("invalid configuration: {e}"),
                "fix that key (see README.md, section Configuration), then check with `aegisclaw config validate`",
            )
        })
    }
}

pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let home = match cli.global.home {
        Some(dir) => Home::at(dir),
        None => Home::from_env()?,
    };
    let ctx = Ctx { home };
    match cli.command {
        Command::Init(args) => init::run(&ctx, args),
        Command::Doctor(args) => doctor::run(&ctx, args),
        Command::Config(cmd) => config::run(&ctx, cmd),
        Command::Skill(cmd) => skill::run(&ctx, cmd),
        Command::Run(args) => run::run(&ctx, args),
        Command::Simulate(args) => run::simulate(&ctx, args),
        Command::Approvals(cmd) => approvals::run(&ctx, cmd),
        Command::Lockdown(cmd) => lockdown::run(&ctx, cmd),
        Command::Trust(cmd) => trust::run(&ctx, cmd),
        Command::Logs(cmd) => logs::run(&ctx, cmd),
        Command::Policy(cmd) => policy::run(&ctx, cmd),
        Command::Sandbox(cmd) => sandbox::run(&ctx, cmd),
        Command::Secrets(cmd) => secrets::run(&ctx, cmd),
        Command::Guard(cmd) => guard::run(&ctx, cmd),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

/// Who runs this command, for audit records and decisions (`$USER`, else the uid).
pub(crate) fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            let uid = std::fs::metadata("/proc/self")
                .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
                .unwrap_or(u32::MAX);
            format!("uid{uid}")
        })
}
