use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_core::Config;
use clap::Subcommand;

use crate::commands::Ctx;
use crate::error::with_hint;
use crate::output::print_json;

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the path of config.toml
    Path,
    /// Print the effective configuration (the file merged over the defaults)
    Show {
        /// JSON instead of TOML
        #[arg(long)]
        json: bool,
    },
    /// Check a configuration file (default: the home's config.toml); exit 2 when invalid
    Validate {
        /// The file to check
        file: Option<PathBuf>,
    },
}

pub(crate) fn run(ctx: &Ctx, cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Path => println!("{}", ctx.home.config_file().display()),
        ConfigCommand::Show { json } => {
            let config = ctx.config()?;
            if json {
                print_json(&config)?;
            } else {
                print!("{}", config.to_toml());
            }
        }
        ConfigCommand::Validate { file } => {
            let file = file.unwrap_or_else(|| ctx.home.config_file());
            if !file.exists() {
                return Err(with_hint(
                    format!("{} does not exist", file.display()),
                    "create it with `aegisclaw init`",
                ));
            }
            Config::load(&file).map_err(|e| {
                with_hint(
                    format!("invalid configuration: {e}"),
                    "see README.md, section Configuration",
                )
            })?;
            println!("{}: valid", file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
