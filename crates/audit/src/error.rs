use std::path::PathBuf;

use crate::encoding::EncodeError;
use crate::merkle::ProofError;
use crate::note::NoteError;

/// Errors of the audit log. Each names the file (and the byte, the entry) it concerns.
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
    #[error("cannot log this entry: {0}")]
    Encode(#[from] EncodeError),
    /// The log is damaged or was tampered with; appending would fork it, so nothing is written.
    #[error("the audit log is damaged at {}, byte {offset}{}: {message}", path.display(), seq_suffix(*seq))]
    Corrupt {
        path: PathBuf,
        offset: u64,
        seq: Option<u64>,
        message: String,
    },
    /// The last record of the log was cut short by an interrupted write.
    #[error("torn record at the end of {}, byte {offset} (entry {seq}): a write was interrupted; the next append moves it to quarantine", path.display())]
    TornTail {
        path: PathBuf,
        offset: u64,
        seq: u64,
    },
    /// Entries covered by a signed checkpoint are gone.
    #[error("the audit log ends after {entries} entries but the signed checkpoint {} covers {size}: entries {entries}..{size} were deleted", path.display())]
    ShorterThanCheckpoint {
        entries: u64,
        size: u64,
        path: PathBuf,
    },
    #[error("log signing key {}: {message}", path.display())]
    Key { path: PathBuf, message: String },
    #[error("checkpoint {}: {source}", path.display())]
    Checkpoint {
        path: PathBuf,
        #[source]
        source: NoteError,
    },
    #[error("entry {seq} does not exist: the log has {size} entries")]
    NoSuchEntry { seq: u64, size: u64 },
    #[error("entry {seq} is not covered by the checkpoint of size {size}")]
    NotCovered { seq: u64, size: u64 },
    #[error("the log does not match the checkpoint of size {size}: {detail}")]
    CheckpointMismatch { size: u64, detail: String },
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("invalid proof file: {0}")]
    ProofFormat(String),
    #[error("the audit writer thread has stopped; nothing more can be logged through it")]
    WriterStopped,
    #[error("the batch was not committed: {0}")]
    BatchFailed(String),
}

fn seq_suffix(seq: Option<u64>) -> String {
    seq.map(|s| format!(" (entry {s})")).unwrap_or_default()
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

/// Result alias of the audit crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
