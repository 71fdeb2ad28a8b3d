use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, write_atomic};
use aegisclaw_core::{Config, PolicyTemplate, SandboxBackend};
use aegisclaw_sandbox::HostReport;
use anyhow::Context;
use clap::Args;

use crate::commands::Ctx;
use crate::commands::doctor::environment_rows;
use crate::error::with_hint;
use crate::output::print_table;

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Do not ask: take the flags given and the recommendations for the rest (no terminal needed)
    #[arg(short, long)]
    yes: bool,
    /// The policy template to start from
    #[arg(long, value_enum)]
    template: Option<PolicyTemplate>,
    /// The sandbox backend [default: the one recommended for this machine]
    #[arg(long, value_enum)]
    backend: Option<SandboxBackend>,
    /// Replace an existing configuration and policy; the old files are kept as timestamped backups
    #[arg(long)]
    force: bool,
}

/// What the user chose, interactively or by flags.
#[derive(Debug)]
struct Choices {
    backend: SandboxBackend,
    template: PolicyTemplate,
}

pub(crate) fn run(ctx: &Ctx, args: InitArgs) -> anyhow::Result<ExitCode> {
    let home = &ctx.home;
    let interactive = !args.yes;
    if interactive && !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(with_hint(
            "`aegisclaw init` asks questions, but this is not a terminal",
            "run `aegisclaw init --yes` (optionally with --template and --backend) to take the recommendations",
        ));
    }

    // The configuration and any policy a template would be written to: none is replaced
    // without --force.
    let policy_file = |t: PolicyTemplate| home.policies_dir().join(format!("{t}.rego"));
    let existing: Vec<PathBuf> = std::iter::once(home.config_file())
        .chain(PolicyTemplate::ALL.map(policy_file))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() && !args.force {
        let names: Vec<String> = existing.iter().map(|p| p.display().to_string()).collect();
        return Err(with_hint(
            format!(
                "AegisClaw is already initialised: {} exists; nothing was changed",
                names.join(", ")
            ),
            "edit the file, or pass --force to replace it (the current files are kept as timestamped backups)",
        ));
    }

    println!("AegisClaw home: {}", home.root().display());
    println!();
    println!("This machine:");
    let report = HostReport::detect();
    print_table(&environment_rows(&report))?;
    println!();
    let recommended = report.recommended_backend();
    match &recommended {
        Some((backend, why)) => println!("Recommended sandbox backend: {backend} ({why})"),
        None => println!(
            "No sandbox backend can run here yet: enable user namespaces, Landlock and seccomp, or install a Docker engine, or KVM with QEMU."
        ),
    }

    let default_backend = recommended
        .as_ref()
        .map_or(SandboxBackend::Native, |(b, _)| *b);
    let choices = if interactive {
        ask(&args, default_backend)?
    } else {
        Choices {
            backend: args.backend.unwrap_or(default_backend),
            template: args.template.unwrap_or(PolicyTemplate::Standard),
        }
    };

    home.create()?;
    let policy_path = policy_file(choices.template);
    // Only the files about to be replaced are backed up; other templates' files stay as they are.
    let replaced: Vec<&PathBuf> = existing
        .iter()
        .filter(|p| **p == home.config_file() || **p == policy_path)
        .collect();
    let mut backups = Vec::new();
    for path in &replaced {
        backups.push(backup(path)?);
    }
    let mut config = Config::default();
    config.sandbox.backend = choices.backend;
    config.policy.template = choices.template;
    let rendered = format!(
        "# AegisClaw configuration. Every key is described in README.md, section Configuration.\n\
         # Check changes with `aegisclaw config validate`.\n\n{}",
        config.to_toml()
    );
    write_atomic(
        &policy_path,
        aegisclaw_policy::templates::source(choices.template).as_bytes(),
        PRIVATE_FILE_MODE,
    )?;
    write_atomic(&home.config_file(), rendered.as_bytes(), PRIVATE_FILE_MODE)?;

    println!();
    for (old, saved) in replaced.iter().zip(&backups) {
        println!("Kept the previous {} as {}", old.display(), saved.display());
    }
    println!("Wrote {}", home.config_file().display());
    println!("Wrote {} (the active policy)", policy_path.display());
    println!("  sandbox backend: {}", choices.backend);
    println!("  policy template: {}", choices.template);
    if recommended
        .as_ref()
        .is_some_and(|(b, _)| *b != choices.backend)
        || recommended.is_none()
    {
        println!(
            "warning: the {} backend is not fully available on this machine; `aegisclaw doctor` says what is missing",
            choices.backend
        );
    }
    println!();
    println!("Next: `aegisclaw doctor` checks every protection layer.");
    Ok(ExitCode::SUCCESS)
}

fn ask(args: &InitArgs, default_backend: SandboxBackend) -> anyhow::Result<Choices> {
    let theme = dialoguer::theme::SimpleTheme;
    let backend = match args.backend {
        Some(b) => b,
        None => {
            let labels: Vec<String> = SandboxBackend::ALL
                .iter()
                .map(|b| {
                    if *b == default_backend {
                        format!("{b} (recommended)")
                    } else {
                        b.to_string()
                    }
                })
                .collect();
            let default = SandboxBackend::ALL
                .iter()
                .position(|b| *b == default_backend)
                .unwrap_or(0);
            let picked = dialoguer::Select::with_theme(&theme)
                .with_prompt("Sandbox backend")
                .items(&labels)
                .default(default)
                .interact()
                .context("no answer for the sandbox backend")?;
            SandboxBackend::ALL[picked]
        }
    };
    let template = match args.template {
        Some(t) => t,
        None => {
            let labels = [
                "strict      deny unsigned skills; ask for everything above low risk",
                "standard    allow low-risk reads; ask for writes, exec, network and secrets",
                "permissive  allow up to medium risk; ask for high and critical",
            ];
            let picked = dialoguer::Select::with_theme(&theme)
                .with_prompt("Policy template")
                .items(labels)
                .default(1)
                .interact()
                .context("no answer for the policy template")?;
            PolicyTemplate::ALL[picked]
        }
    };
    Ok(Choices { backend, template })
}

/// Keeps the current `path` as `path.bak-<UTC time>` (a hard link, so the later atomic rename of
/// the new file cannot lose it).
pub(crate) fn backup(path: &Path) -> anyhow::Result<PathBuf> {
    let stamp: String = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut candidate = path.with_file_name(format!("{file_name}.bak-{stamp}"));
    let mut n = 1;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{file_name}.bak-{stamp}.{n}"));
        n += 1;
    }
    std::fs::hard_link(path, &candidate).with_context(|| {
        format!(
            "cannot keep a backup of {} as {}",
            path.display(),
            candidate.display()
        )
    })?;
    Ok(candidate)
}
