//! [`AuditLog`]: the log of one home, and everything one can do with it.

use std::ops::Range;
use std::time::Duration;

use aegisclaw_core::Home;

use crate::checkpoint::SignedCheckpoint;
use crate::entry::{Entry, Record};
use crate::error::{Error, Result};
use crate::group::AuditWriter;
use crate::keys::{KeySource, load_public_file, load_signer};
use crate::layout::Layout;
use crate::note::VerifierKey;
use crate::options::Options;
use crate::proof::{InclusionProof, prove};
use crate::reader::{Entries, Filter, Follower, TornTail, last, snapshot};
use crate::verify::{VerifyOptions, VerifyReport, verify};
use crate::writer::Appender;

/// The audit log under a home's `audit/` directory. Creating one does no I/O; the files are
/// created by the first append.
#[derive(Debug, Clone)]
pub struct AuditLog {
    layout: Layout,
    options: Options,
}

impl AuditLog {
    pub fn new(home: &Home, options: Options) -> Self {
        Self {
            layout: Layout::new(home),
            options,
        }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// A writer for this process. Keep it for many batches (it remembers where the log ends);
    /// call [`Appender::close`] on clean shutdown.
    pub fn appender(&self) -> Result<Appender> {
        Appender::open(self.layout.clone(), self.options.clone())
    }

    /// Appends `records` durably and returns their sequence numbers (a one-shot writer, such as
    /// one CLI command). Signs a checkpoint when one is due.
    pub fn append(&self, records: &[Record]) -> Result<Range<u64>> {
        self.appender()?.append(records)
    }

    /// Starts a group-commit writer thread (for the daemon). It checks every
    /// `checkpoint_interval` (at most every second) whether a checkpoint is due.
    pub fn writer(&self) -> Result<AuditWriter> {
        let tick = self
            .options
            .checkpoint_interval
            .clamp(Duration::from_millis(50), Duration::from_secs(1));
        AuditWriter::start(self.appender()?, tick)
    }

    /// Signs a checkpoint of the whole log now (unless the newest already covers it) and
    /// returns the newest checkpoint.
    pub fn checkpoint(&self) -> Result<SignedCheckpoint> {
        self.appender()?.checkpoint()
    }

    /// The entries matching `filter`, oldest first.
    pub fn entries(&self, filter: Filter) -> Result<Entries> {
        Ok(Entries::new(snapshot(&self.layout)?, filter))
    }

    /// The last `n` entries matching `filter`, oldest first, and the torn record the log ends
    /// in, if any.
    pub fn last(&self, n: usize, filter: &Filter) -> Result<(Vec<Entry>, Option<TornTail>)> {
        last(snapshot(&self.layout)?, n, filter)
    }

    /// Follows the log from entry `from_seq` on.
    pub fn follow(&self, from_seq: u64) -> Result<Follower> {
        Follower::new(self.layout.clone(), from_seq)
    }

    /// Checks every byte of the log (see [`VerifyReport`]).
    pub fn verify(&self, options: &VerifyOptions) -> Result<VerifyReport> {
        verify(&self.layout, options)
    }

    /// The newest signed checkpoint, checked with `key`; `None` when there is none yet.
    pub fn latest_checkpoint(&self, key: &VerifierKey) -> Result<Option<SignedCheckpoint>> {
        let path = self.layout.latest_checkpoint();
        match std::fs::read_to_string(&path) {
            Ok(note) => SignedCheckpoint::open(&note, key)
                .map(Some)
                .map_err(|source| Error::Checkpoint { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &path, e)),
        }
    }

    /// An inclusion proof of entry `seq` against `checkpoint`.
    pub fn prove(&self, seq: u64, checkpoint: &SignedCheckpoint) -> Result<InclusionProof> {
        prove(&self.layout, seq, checkpoint)
    }

    /// The public key that checks this log's checkpoints, and where it was found: the signing
    /// key in `keys/`, else `audit/log.pub`. `None` when the log has no key yet.
    pub fn public_key(&self) -> Result<Option<(VerifierKey, KeySource)>> {
        if let Some(k) = load_signer(&self.layout)? {
            return Ok(Some((k.verifier(), KeySource::SigningKey)));
        }
        Ok(load_public_file(&self.layout)?.map(|k| (k, KeySource::PublicFile)))
    }

    /// The public key, creating the signing key first if this log has none.
    pub fn public_key_or_create(&self) -> Result<VerifierKey> {
        if let Some((k, _)) = self.public_key()? {
            return Ok(k);
        }
        // Under the writers' lock, so that two processes do not both create one.
        self.appender()?.ensure_key()
    }

    /// The signing key file (`keys/audit-log.key`).
    pub fn signing_key_path(&self) -> std::path::PathBuf {
        self.layout.signing_key()
    }

    /// The public key file (`audit/log.pub`).
    pub fn public_key_path(&self) -> std::path::PathBuf {
        self.layout.public_key()
    }

    /// The audit directory.
    pub fn dir(&self) -> &std::path::Path {
        self.layout.audit_dir()
    }
}
