use std::path::PathBuf;
use std::process::ExitCode;

use aegisclaw_skills::TrustStore;
use clap::Subcommand;

use crate::commands::Ctx;
use crate::output::{print_json, print_table};

#[derive(Debug, Subcommand)]
pub(crate) enum TrustCommand {
    /// Trust a public key to sign skills: an ECDSA P-256 PEM key (cosign.pub) or a minisign key
    Add {
        /// The public key file
        file: PathBuf,
        /// The signer's name in the trust store [default: the file name without extension]
        #[arg(long)]
        name: Option<String>,
    },
    /// List the trusted keys
    List {
        /// JSON: [{"name", "scheme", "fingerprint"}]
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting a key
    Remove {
        /// The signer's name
        name: String,
    },
}

pub(crate) fn run(ctx: &Ctx, cmd: TrustCommand) -> anyhow::Result<ExitCode> {
    let mut store = TrustStore::open(&ctx.home.trust_dir())?;
    match cmd {
        TrustCommand::Add { file, name } => {
            let key = store.add(&file, name.as_deref())?;
            println!("trusted {} ({}, {})", key.name, key.scheme, key.fingerprint);
        }
        TrustCommand::List { json } => {
            if json {
                print_json(&store.keys())?;
            } else if store.keys().is_empty() {
                eprintln!("no trusted keys; add one with `aegisclaw trust add KEY.pub`");
            } else {
                let rows: Vec<Vec<String>> = store
                    .keys()
                    .iter()
                    .map(|k| vec![k.name.clone(), k.scheme.to_string(), k.fingerprint.clone()])
                    .collect();
                print_table(&rows)?;
            }
        }
        TrustCommand::Remove { name } => {
            let key = store.remove(&name)?;
            println!("no longer trusting {} ({})", key.name, key.fingerprint);
        }
    }
    Ok(ExitCode::SUCCESS)
}
