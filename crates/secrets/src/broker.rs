//! The broker: granted secret names become a [`Lease`] for one run.

use std::fmt;
use std::time::{Duration, SystemTime};

use aegisclaw_core::SecretName;
use aegisclaw_redact::{MIN_SECRET_LEN, Redactor};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::{Store, format_time};

/// How a leased secret reaches the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Delivery {
    /// A file `/run/secrets/NAME` on the sandbox's private tmpfs (the default).
    File,
    /// An environment variable of the sandboxed process; only when a skill asks for it
    /// explicitly and the policy allows it (environments leak more easily than files).
    Env { var: String },
}

/// One secret granted to a run (`secrets.access:NAME`) and how to deliver it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretGrant {
    pub name: SecretName,
    pub delivery: Delivery,
}

impl SecretGrant {
    /// A grant delivered as a file.
    pub fn file(name: SecretName) -> Self {
        Self {
            name,
            delivery: Delivery::File,
        }
    }

    /// A grant delivered as the environment variable `var`.
    pub fn env(name: SecretName, var: impl Into<String>) -> Self {
        Self {
            name,
            delivery: Delivery::Env { var: var.into() },
        }
    }
}

/// Hands out leases of the secrets in one store.
#[derive(Debug)]
pub struct Broker {
    store: Box<dyn Store>,
}

impl Broker {
    pub fn new(store: Box<dyn Store>) -> Self {
        Self { store }
    }

    /// The store behind the broker.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Reads every granted secret and returns a lease valid for `ttl` from now.
    ///
    /// All or nothing: a missing secret ([`Error::NotFound`] naming it), a value too short to
    /// redact reliably, a secret granted twice or an unusable environment delivery fails the
    /// whole lease.
    pub fn lease(&self, run_id: &str, grants: &[SecretGrant], ttl: Duration) -> Result<Lease> {
        let mut secrets: Vec<Leased> = Vec::with_capacity(grants.len());
        let mut redactor = Redactor::builder();
        for grant in grants {
            if secrets.iter().any(|s| s.name == grant.name) {
                return Err(Error::DuplicateGrant {
                    name: grant.name.to_string(),
                });
            }
            let value = self.store.get(&grant.name)?;
            if value.len() < MIN_SECRET_LEN {
                return Err(Error::TooShort {
                    name: grant.name.to_string(),
                    len: value.len(),
                    min: MIN_SECRET_LEN,
                });
            }
            if let Delivery::Env { var } = &grant.delivery {
                check_env_delivery(&grant.name, var, &value, &secrets)?;
            }
            redactor.secret(grant.name.as_str(), &value)?;
            secrets.push(Leased {
                name: grant.name.clone(),
                delivery: grant.delivery.clone(),
                value,
            });
        }
        let issued_at = SystemTime::now();
        Ok(Lease {
            id: new_lease_id()?,
            run_id: run_id.to_string(),
            issued_at,
            expires_at: issued_at + ttl,
            secrets,
            redactor: redactor.build(),
        })
    }
}

fn check_env_delivery(
    name: &SecretName,
    var: &str,
    value: &[u8],
    earlier: &[Leased],
) -> Result<()> {
    let fail = |reason: &str| {
        Err(Error::BadEnvDelivery {
            name: name.to_string(),
            var: var.to_string(),
            reason: reason.to_string(),
        })
    };
    let mut bytes = var.bytes();
    let ident = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ident {
        return fail("not a variable name (a letter or _, then letters, digits or _)");
    }
    // Variables that change how the process itself is loaded or run are not secret carriers.
    if var.starts_with("LD_")
        || matches!(
            var,
            "PATH" | "HOME" | "SHELL" | "IFS" | "ENV" | "BASH_ENV" | "PYTHONPATH" | "NODE_OPTIONS"
        )
    {
        return fail("this variable controls how programs start");
    }
    if earlier
        .iter()
        .any(|s| matches!(&s.delivery, Delivery::Env { var: v } if v == var))
    {
        return fail("another secret of this lease uses the same variable");
    }
    match std::str::from_utf8(value) {
        Ok(text) if !text.contains('\0') => Ok(()),
        _ => fail("the value is not UTF-8 text without NUL bytes; deliver it as a file"),
    }
}

fn new_lease_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(format!("lease-{}", hex::encode(bytes)))
}

struct Leased {
    name: SecretName,
    delivery: Delivery,
    value: Zeroizing<Vec<u8>>,
}

/// The secrets of one run, valid until [`Lease::expires_at`].
///
/// Values live only here (wiped when the lease is dropped) and leave it only through
/// [`Lease::files`] and [`Lease::env_vars`], which yield nothing once the lease has expired: the
/// runtime writes the files onto the sandbox's private tmpfs (`/run/secrets/NAME`), caps the
/// run's time at [`Lease::remaining`], and passes every output through [`Lease::redactor`]. The
/// audit log gets [`Lease::record`], which has names but never values.
pub struct Lease {
    id: String,
    run_id: String,
    issued_at: SystemTime,
    expires_at: SystemTime,
    secrets: Vec<Leased>,
    redactor: Redactor,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("id", &self.id)
            .field("run_id", &self.run_id)
            .field("expires_at", &format_time(self.expires_at))
            .field(
                "secrets",
                &self
                    .secrets
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// A random id, `lease-` and 32 hex digits.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// Whether the lease is over at `now`.
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        now >= self.expires_at
    }

    pub fn is_expired(&self) -> bool {
        self.is_expired_at(SystemTime::now())
    }

    /// Time left (zero once expired): the most a run under this lease may take.
    pub fn remaining(&self) -> Duration {
        self.expires_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }

    /// [`Error::LeaseExpired`] once the lease is over.
    pub fn check(&self) -> Result<()> {
        if self.is_expired() {
            return Err(Error::LeaseExpired {
                id: self.id.clone(),
                expired_at: format_time(self.expires_at),
            });
        }
        Ok(())
    }

    /// The leased secret names, in grant order.
    pub fn names(&self) -> impl Iterator<Item = &SecretName> {
        self.secrets.iter().map(|s| &s.name)
    }

    /// The secrets delivered as files: (file name under `/run/secrets/`, value). Nothing once
    /// the lease has expired.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let live = !self.is_expired();
        self.secrets
            .iter()
            .filter(move |_| live)
            .filter(|s| s.delivery == Delivery::File)
            .map(|s| (s.name.as_str(), &s.value[..]))
    }

    /// The secrets delivered as environment variables: (variable, value). Nothing once the lease
    /// has expired.
    pub fn env_vars(&self) -> impl Iterator<Item = (&str, &str)> {
        let live = !self.is_expired();
        self.secrets
            .iter()
            .filter(move |_| live)
            .filter_map(|s| match &s.delivery {
                // Checked to be UTF-8 when the lease was made.
                Delivery::Env { var } => std::str::from_utf8(&s.value)
                    .ok()
                    .map(|v| (var.as_str(), v)),
                Delivery::File => None,
            })
    }

    /// A redactor of every leased value and its encodings, for the run's outputs, logs and
    /// anything it returns. Stays useful after expiry (output can outlive the lease).
    pub fn redactor(&self) -> Redactor {
        self.redactor.clone()
    }

    /// What the audit log records of this lease: ids, names, deliveries and times; no value.
    pub fn record(&self) -> LeaseRecord {
        LeaseRecord {
            lease_id: self.id.clone(),
            run_id: self.run_id.clone(),
            secrets: self
                .secrets
                .iter()
                .map(|s| LeasedName {
                    name: s.name.to_string(),
                    delivery: s.delivery.clone(),
                })
                .collect(),
            issued_at: format_time(self.issued_at),
            expires_at: format_time(self.expires_at),
        }
    }
}

/// The audit view of a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub lease_id: String,
    pub run_id: String,
    pub secrets: Vec<LeasedName>,
    /// RFC 3339, UTC.
    pub issued_at: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// One leased secret in a [`LeaseRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeasedName {
    pub name: String,
    pub delivery: Delivery,
}
