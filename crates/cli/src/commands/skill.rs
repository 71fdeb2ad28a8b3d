use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_skills::{Scheme, SignatureStatus, SkillDigest, SkillStore, TrustStore};
use clap::{Subcommand, ValueEnum};
use serde::Serialize;

use crate::commands::Ctx;
use crate::error::EXIT_NEGATIVE;
use crate::output::{print_json, print_table};

#[derive(Debug, Subcommand)]
pub(crate) enum SkillCommand {
    /// Install a skill directory into the home (its manifest is validated and its signature,
    /// if any, must verify)
    Install {
        /// The skill directory (with skill.yaml)
        path: PathBuf,
        /// Replace an installed skill of the same name
        #[arg(long)]
        force: bool,
    },
    /// List installed skills
    List {
        /// JSON: [{"name", "version", "digest", "signature", "source", "installed_at"}]
        #[arg(long)]
        json: bool,
    },
    /// Show an installed skill: manifest, digest, signature, parameters and scopes
    Info {
        /// The skill's name
        name: String,
        /// JSON: {"manifest", "record", "digest", "signature", "dir"}
        #[arg(long)]
        json: bool,
    },
    /// Uninstall a skill
    Remove {
        /// The skill's name
        name: String,
    },
    /// Sign a skill directory: the signature covers the digest of every file in it
    Sign {
        /// The skill directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The private key: ECDSA P-256 PEM (writes skill.sig) or minisign (writes skill.minisig)
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// An environment variable holding the password of an encrypted minisign key
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
    },
    /// Verify a skill's signature against the trust store; exit 1 unless a trusted signer verifies it
    Verify {
        /// The skill directory
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// JSON: {"digest", "signature": {"status", "signer", "scheme", "reason"}}
        #[arg(long)]
        json: bool,
    },
    /// Print the digest of a skill directory (the exact blob `cosign sign-blob` should sign)
    Digest {
        /// The skill directory
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Create a signing key pair: PREFIX.key (private, 0600) and PREFIX.pub
    Keygen {
        /// Path prefix of the two files
        prefix: PathBuf,
        /// The signature scheme
        #[arg(long, value_enum, default_value_t = KeyScheme::Minisign)]
        scheme: KeyScheme,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KeyScheme {
    /// Ed25519, compatible with the minisign tool
    Minisign,
    /// ECDSA P-256, compatible with cosign sign-blob / verify-blob
    Ecdsa,
}

#[derive(Debug, Serialize)]
struct VerifyReport {
    digest: SkillDigest,
    signature: SignatureStatus,
}

pub(crate) fn run(ctx: &Ctx, cmd: SkillCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SkillCommand::Install { path, force } => {
            let config = ctx.config()?;
            let custom = config.scopes.custom_names();
            let trust = TrustStore::open(&ctx.home.trust_dir())?;
            let installed =
                SkillStore::new(ctx.home.skills_dir()).install(&path, &trust, &custom, force)?;
            println!(
                "installed {} {} ({}, {})",
                installed.manifest.name,
                installed.manifest.version,
                installed.digest,
                signature_summary(&installed.signature)
            );
        }
        SkillCommand::List { json } => {
            let records = SkillStore::new(ctx.home.skills_dir()).list()?;
            if json {
                print_json(&records)?;
            } else if records.is_empty() {
                eprintln!("no skills installed; install one with `aegisclaw skill install DIR`");
            } else {
                let rows: Vec<Vec<String>> = records
                    .iter()
                    .map(|r| {
                        vec![
                            r.name.clone(),
                            r.version.clone(),
                            signature_summary(&r.signature),
                            r.digest.clone(),
                        ]
                    })
                    .collect();
                print_table(&rows)?;
            }
        }
        SkillCommand::Info { name, json } => {
            let config = ctx.config()?;
            let custom = config.scopes.custom_names();
            let trust = TrustStore::open(&ctx.home.trust_dir())?;
            let skill = SkillStore::new(ctx.home.skills_dir()).load(&name, &trust, &custom)?;
            if json {
                print_json(&serde_json::json!({
                    "manifest": skill.manifest,
                    "record": skill.record,
                    "digest": skill.digest,
                    "signature": skill.signature,
                    "dir": skill.dir,
                }))?;
            } else {
                let m = &skill.manifest;
                println!("{} {} by {}", m.name, m.version, m.publisher);
                println!("  {}", m.description);
                println!("digest:     {}", skill.digest);
                println!("signature:  {}", signature_summary(&skill.signature));
                println!("command:    {}", m.entrypoint.command.join(" "));
                println!("{}", m.usage());
                for p in &m.parameters {
                    println!(
                        "  --{:<14} {:<8} {}",
                        p.name,
                        p.kind.to_string(),
                        p.description
                    );
                }
                println!(
                    "scopes:     {}",
                    if m.scopes.is_empty() {
                        "none".into()
                    } else {
                        m.scopes.join(", ")
                    }
                );
                println!(
                    "installed:  {} from {}",
                    humantime::format_rfc3339_seconds(skill.record.installed_at),
                    skill.record.source.display()
                );
            }
        }
        SkillCommand::Remove { name } => {
            let record = SkillStore::new(ctx.home.skills_dir()).remove(&name)?;
            println!("removed {} {}", record.name, record.version);
        }
        SkillCommand::Sign {
            dir,
            key,
            password_env,
        } => {
            let password = match password_env {
                Some(var) => Some(std::env::var(&var).map_err(|_| {
                    anyhow::anyhow!("--password-env {var}: the variable is not set")
                })?),
                None => None,
            };
            let (scheme, path) = aegisclaw_skills::sign(&dir, &key, password)?;
            println!(
                "signed {} ({scheme}) -> {}",
                SkillDigest::of_dir(&dir)?,
                path.display()
            );
        }
        SkillCommand::Verify { dir, json } => {
            let trust = TrustStore::open(&ctx.home.trust_dir())?;
            let digest = SkillDigest::of_dir(&dir)?;
            let status = aegisclaw_skills::verify(&dir, &digest, &trust)?;
            let verified = status.is_verified();
            if json {
                print_json(&VerifyReport {
                    digest,
                    signature: status,
                })?;
            } else {
                println!("digest: {digest}");
                match &status {
                    SignatureStatus::Verified { signer, scheme } => {
                        println!("verified: signed by {signer} ({scheme})")
                    }
                    SignatureStatus::Unsigned => {
                        println!("unsigned: no skill.sig or skill.minisig")
                    }
                    SignatureStatus::Invalid { reason } => println!("INVALID: {reason}"),
                }
            }
            return Ok(if verified {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_NEGATIVE)
            });
        }
        SkillCommand::Digest { dir } => println!("{}", SkillDigest::of_dir(&dir)?),
        SkillCommand::Keygen { prefix, scheme } => {
            let scheme = match scheme {
                KeyScheme::Minisign => Scheme::Minisign,
                KeyScheme::Ecdsa => Scheme::CosignEcdsaP256,
            };
            let (secret, public) = aegisclaw_skills::generate_key_pair(&prefix, scheme)?;
            println!("private key: {} (keep it secret)", secret.display());
            println!(
                "public key:  {} (give it to `aegisclaw trust add`)",
                public.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn signature_summary(status: &SignatureStatus) -> String {
    match status {
        SignatureStatus::Verified { signer, scheme } => format!("signed by {signer} ({scheme})"),
        SignatureStatus::Unsigned => "unsigned".into(),
        SignatureStatus::Invalid { .. } => "INVALID signature".into(),
    }
}
