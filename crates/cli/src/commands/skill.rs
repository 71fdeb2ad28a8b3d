use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_skills::{Scheme, SignatureStatus, SkillDigest, TrustStore};
use clap::{Subcommand, ValueEnum};
use serde::Serialize;

use crate::commands::Ctx;
use crate::error::EXIT_NEGATIVE;
use crate::output::print_json;

#[derive(Debug, Subcommand)]
pub(crate) enum SkillCommand {
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
