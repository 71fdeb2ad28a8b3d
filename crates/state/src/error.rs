use std::path::PathBuf;

use crate::approvals::ApprovalStatus;

/// Errors of the state database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot open the state database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the state database {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot upgrade the state database {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: rusqlite_migration::Error,
    },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("state database holds a malformed record: {0}")]
    Corrupt(String),
    #[error("no approval with id {0}")]
    UnknownApproval(String),
    #[error("approval {id} is already {status}")]
    NotPending { id: String, status: ApprovalStatus },
    #[error("cannot draw random bytes for an id: {0}")]
    Random(String),
    #[error(transparent)]
    Core(#[from] aegisclaw_core::Error),
}

/// Result alias of the state crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
