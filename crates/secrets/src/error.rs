use std::path::PathBuf;

/// Errors of the secret stores and the broker. None of them carries a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Core(#[from] aegisclaw_core::Error),
    #[error("the secret store is not initialised: {path} does not exist")]
    NotInitialised { path: PathBuf },
    #[error("no secret named {name} in the {backend} store")]
    NotFound { name: String, backend: &'static str },
    #[error(
        "{path} is readable by other users (mode {mode:o}); the age identity must be owner-only (0600)"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("the identity {path} is protected by a passphrase and none was given")]
    PassphraseRequired { path: PathBuf },
    #[error("wrong passphrase for the identity {path}")]
    WrongPassphrase { path: PathBuf },
    #[error("{path} is not a valid age identity: {reason}")]
    BadIdentity { path: PathBuf, reason: String },
    #[error(
        "cannot decrypt the secret store {path} with the identity in {identity}: {reason}; the store was left as it is"
    )]
    Undecryptable {
        path: PathBuf,
        identity: PathBuf,
        reason: String,
    },
    #[error("the secret store {path} is corrupt: {reason}; the store was left as it is")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot encrypt the secret store: {0}")]
    Encrypt(String),
    #[error("{operation} is not supported by the {backend} store")]
    Unsupported {
        operation: &'static str,
        backend: &'static str,
    },
    #[error("no Vault token: {0}")]
    VaultToken(String),
    #[error("Vault request {method} {path} failed: {reason}")]
    Vault {
        method: &'static str,
        path: String,
        reason: String,
    },
    #[error(
        "secret {name} is {len} bytes; a leased secret needs at least {min} so that output can be redacted reliably"
    )]
    TooShort {
        name: String,
        len: usize,
        min: usize,
    },
    #[error(transparent)]
    Redact(#[from] aegisclaw_redact::Error),
    #[error("secret {name} cannot be delivered as environment variable {var}: {reason}")]
    BadEnvDelivery {
        name: String,
        var: String,
        reason: String,
    },
    #[error("secret {name} is granted twice in one lease")]
    DuplicateGrant { name: String },
    #[error("lease {id} expired at {expired_at}")]
    LeaseExpired { id: String, expired_at: String },
    #[error("cannot draw random bytes: {0}")]
    Random(String),
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// How to fix it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::NotInitialised { .. } => "run `aegisclaw secrets init`".into(),
            Self::NotFound { name, .. } => format!(
                "store it with `aegisclaw secrets set {name}`; `aegisclaw secrets list` shows what is stored"
            ),
            Self::InsecurePermissions { path, .. } => format!(
                "run `chmod 600 {}` and consider the key exposed: rotate it with `aegisclaw secrets rotate-key`",
                path.display()
            ),
            Self::Undecryptable { path, .. } | Self::Corrupt { path, .. } => format!(
                "if the file was damaged, the version before the last change is {}.prev (after the first change); copy it back; if the identity in keys/ was replaced, restore the old one from a backup",
                path.display()
            ),
            Self::PassphraseRequired { .. } | Self::WrongPassphrase { .. } => format!(
                "type it at the prompt, or set ${PASSPHRASE_ENV} for scripts"
            ),
            Self::VaultToken(_) => {
                "set secrets.vault.token_file in config.toml, or export the variable named by secrets.vault.token_env".into()
            }
            Self::TooShort { .. } => {
                "use a longer value (tokens and keys are); short values cannot be told apart from ordinary output".into()
            }
            _ => return None,
        })
    }
}

/// The environment variable the `aegisclaw` command reads a store passphrase from when there is
/// no terminal to ask on.
pub const PASSPHRASE_ENV: &str = "AEGISCLAW_SECRETS_PASSPHRASE";

/// Result alias of the secrets crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
