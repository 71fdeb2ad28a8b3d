use std::path::PathBuf;

/// Errors of the skills crate.
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
    #[error("{path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("{path} is not a key this command understands: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("{path} is not a valid signature file: {reason}")]
    BadSignature { path: PathBuf, reason: String },
    #[error("a trusted key named {0:?} already exists")]
    DuplicateKey(String),
    #[error("no trusted key named {0:?}")]
    UnknownKey(String),
    #[error("invalid key name {0:?}: use letters, digits, '.', '_' and '-'")]
    BadName(String),
    #[error(transparent)]
    Manifest(crate::manifest::ManifestError),
    #[error("refusing skill {name}: {reason}")]
    SignatureRejected { name: String, reason: String },
    #[error(
        "skill {0} is already installed; remove it first or install with --force to replace it"
    )]
    AlreadyInstalled(String),
    #[error("no installed skill named {0:?}; `aegisclaw skill list` shows what is installed")]
    NotInstalled(String),
    #[error(
        "installed skill {name} was changed after install: digest {found}, installed as {expected}; reinstall it"
    )]
    Tampered {
        name: String,
        expected: String,
        found: String,
    },
    #[error(transparent)]
    Core(#[from] aegisclaw_core::Error),
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
}

/// Result alias of the skills crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
