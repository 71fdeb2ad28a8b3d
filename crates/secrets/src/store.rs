use std::fmt;
use std::time::SystemTime;

use aegisclaw_core::{Home, SecretName, SecretsBackend, SecretsConfig};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::age_store::AgeStore;
use crate::error::Result;
use crate::vault::VaultStore;

/// What a store tells about one secret without revealing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretInfo {
    pub name: String,
    /// When the secret was first stored.
    #[serde(serialize_with = "ser_time")]
    pub created: SystemTime,
    /// When its value last changed.
    #[serde(serialize_with = "ser_time")]
    pub updated: SystemTime,
}

fn ser_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*t))
}

/// A time as RFC 3339 in UTC, to the second.
pub fn format_time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A place where secret values are kept.
///
/// Values are bytes and come back wrapped in [`Zeroizing`], so that the memory is wiped when
/// they are dropped. No method logs or returns a value except [`Store::get`].
pub trait Store: fmt::Debug + Send + Sync {
    /// The backend's name, for messages (`age`, `vault`).
    fn backend(&self) -> &'static str;

    /// The value of `name`; [`crate::Error::NotFound`] when there is none.
    fn get(&self, name: &SecretName) -> Result<Zeroizing<Vec<u8>>>;

    /// Stores `value` under `name`, replacing any previous value.
    fn set(&self, name: &SecretName, value: &[u8]) -> Result<()>;

    /// Every stored secret's name and dates, sorted by name.
    fn list(&self) -> Result<Vec<SecretInfo>>;

    /// Deletes `name`; [`crate::Error::NotFound`] when there is none.
    fn remove(&self, name: &SecretName) -> Result<()>;

    /// Re-encrypts everything under a new key and retires the old one, where the backend holds
    /// the key (the age store). Other backends answer [`crate::Error::Unsupported`].
    fn rotate_key(&self) -> Result<()> {
        Err(crate::Error::Unsupported {
            operation: "rotate-key",
            backend: self.backend(),
        })
    }
}

/// The store `config` names: the age file under `home`, or Vault KV v2.
///
/// The age store must have been created with [`AgeStore::init`] first.
pub fn open_store(home: &Home, config: &SecretsConfig) -> Result<Box<dyn Store>> {
    Ok(match config.backend {
        SecretsBackend::Age => Box::new(AgeStore::open(home)?),
        SecretsBackend::Vault => Box::new(VaultStore::new(&config.vault)?),
    })
}
