use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::commands;

/// AegisClaw: a secure-by-default envelope for personal AI agents.
///
/// Every action an agent attempts (a command, a skill, an MCP tool call, a model call, a network
/// connection, a secret read) goes through one gate: guardrails, a default-deny policy, human
/// approval for risky actions, short-lived scoped secrets, a hardened sandbox, redaction of
/// outputs and a tamper-evident audit log.
#[derive(Debug, Parser)]
#[command(
    name = "aegisclaw",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The AegisClaw home directory [default: ~/.aegisclaw]
    #[arg(long, global = true, env = aegisclaw_core::HOME_ENV, value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Set up the home: detect this machine, choose a sandbox backend and a policy template
    Init(commands::init::InitArgs),
    /// Check the home, the configuration and every protection layer, with a fix for each problem
    Doctor(commands::doctor::DoctorArgs),
    /// Show, locate or validate the configuration
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Sign, verify and inspect skills
    #[command(subcommand)]
    Skill(commands::skill::SkillCommand),
    /// Run an installed skill through the whole pipeline: verify, policy, approval, sandbox,
    /// redaction, audit
    ///
    /// Exits with the skill's exit code, 125 when the run was refused (by the policy, a human,
    /// an approval deadline or lockdown), 2 on errors.
    Run(commands::run::RunArgs),
    /// Show what `run` would do (signature, each scope's decision and reason, approvals, mounts,
    /// network, secrets) without executing anything
    ///
    /// Exits 0 when the run would proceed, 3 when it would ask a human, 1 when it would be
    /// refused, 2 on errors.
    Simulate(commands::run::SimulateArgs),
    /// List, approve and deny pending approvals (from any shell)
    #[command(subcommand)]
    Approvals(commands::approvals::ApprovalsCommand),
    /// The panic button: kill every sandbox and refuse every action until lifted
    #[command(subcommand)]
    Lockdown(commands::lockdown::LockdownCommand),
    /// Manage the public keys trusted to sign skills
    #[command(subcommand)]
    Trust(commands::trust::TrustCommand),
    /// Read, verify, prove and export the tamper-evident audit log
    #[command(subcommand)]
    Logs(commands::logs::LogsCommand),
    /// Show, choose, check and evaluate the policy that decides every action
    ///
    /// `policy eval` and `policy explain` exit 0 for allow, 1 for deny, 3 for ask (2 when the
    /// action cannot be built, e.g. an unknown scope).
    #[command(subcommand)]
    Policy(commands::policy::PolicyCommand),
    /// Run commands in the sandbox, or attack it to see that it holds
    #[command(subcommand)]
    Sandbox(commands::sandbox::SandboxCommand),
    /// Store secrets encrypted (age file or Vault/OpenBao), list them, reveal one (audited),
    /// rotate the key, and scan files for secrets that are not in the store
    #[command(subcommand)]
    Secrets(commands::secrets::SecretsCommand),
    /// Scan text for prompt injection, jailbreaks, indirect injection and secrets; evaluate the
    /// detector
    ///
    /// `guard scan` exits 0 for allow, 1 when flagged (mode warn), 3 when blocked (mode block),
    /// 2 on errors.
    #[command(subcommand)]
    Guard(commands::guard::GuardCommand),
    /// Print a shell completion script
    Completions(commands::completions::CompletionsArgs),
    /// Print the manual page, or write one page per command into a directory
    Man(commands::man::ManArgs),
}
