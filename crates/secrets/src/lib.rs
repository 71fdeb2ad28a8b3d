//! Secrets of AegisClaw: where values are kept, and how one run gets them.
//!
//! - [`Store`]: get, set, list (names and dates only) and remove, with two backends:
//!   [`AgeStore`], one age-encrypted file under the home (X25519 identity in `keys/`, 0600;
//!   atomic, locked writes; a corrupt or undecryptable store is an error and is never
//!   overwritten; [`Store::rotate_key`]), and [`VaultStore`], HashiCorp Vault or OpenBao KV
//!   version 2 over HTTP. [`open_store`] picks the one `config.toml` names.
//! - [`Broker`]: turns the secret names granted to a run into a [`Lease`]: values for that run
//!   only, as files for the sandbox's private tmpfs (or, when asked for, environment
//!   variables), a [`aegisclaw_redact::Redactor`] of every leased value, an expiry, and a
//!   [`LeaseRecord`] for the audit log that names secrets but never holds a value.
//!
//! ```no_run
//! use std::time::Duration;
//! use aegisclaw_core::{Home, SecretName, SecretsConfig};
//! use aegisclaw_secrets::{Broker, SecretGrant, open_store};
//!
//! let home = Home::from_env()?;
//! let broker = Broker::new(open_store(&home, &SecretsConfig::default())?);
//! let name = SecretName::parse("GITHUB_TOKEN").map_err(std::io::Error::other)?;
//! let lease = broker.lease("run-1", &[SecretGrant::file(name)], Duration::from_secs(300))?;
//! for (file, value) in lease.files() {
//!     // the runtime writes `value` to /run/secrets/<file> in the sandbox
//! #   let _ = (file, value);
//! }
//! let safe = lease.redactor().redact("output that may echo the token");
//! # let _ = safe;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod age_store;
mod broker;
mod error;
mod store;
mod vault;

pub use age_store::{AgeStore, InitOutcome};
pub use broker::{Broker, Delivery, Lease, LeaseRecord, LeasedName, SecretGrant};
pub use error::{Error, PASSPHRASE_ENV, Result};
pub use store::{SecretInfo, Store, format_time, open_store};
pub use vault::VaultStore;
