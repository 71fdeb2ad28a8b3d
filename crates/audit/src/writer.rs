//! Appending: one writer at a time (an exclusive `flock`), one gap-free sequence, durable batches.
//!
//! Under the lock an [`Appender`] first catches up with whatever other processes appended since
//! its last batch (reading only the new bytes), checks that every new entry continues the chain,
//! then writes its whole batch with one `write` and one `fdatasync`. A log that does not
//! continue cleanly (a broken chain, a file that shrank, fewer entries than a signed checkpoint
//! covers) is never appended to: that would fork it.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::ops::Range;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::SystemTime;

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, ensure_private_dir, sync_dir, write_atomic};

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::encoding::encode;
use crate::entry::Record;
use crate::error::{Error, Result};
use crate::files::{publish, read_up_to};
use crate::hash::{Hash, leaf_hash};
use crate::keys::load_or_create_signer;
use crate::layout::{Layout, parse_checkpoint_name, parse_segment_name};
use crate::merkle::Frontier;
use crate::note::SignerKey;
use crate::options::Options;
use crate::recovery::{Torn, catch_up, quarantine};
use crate::segment::{Header, put_frame, seal};

/// The longest possible segment header: the fixed part and 64 frontier hashes.
const MAX_HEADER: usize = 8 + 1 + 8 + 32 + 1 + 64 * 32 + 4;

/// A writer of the log. Cheap to keep open: it holds no lock between batches, so other
/// processes (and other appenders in this process) can append in between.
#[derive(Debug)]
pub struct Appender {
    layout: Layout,
    options: Options,
    lock: File,
    key: Option<SignerKey>,
    tail: Option<Tail>,
    latest: Option<Latest>,
    buf: Vec<u8>,
    entry: Vec<u8>,
    leaves: Vec<Hash>,
}

/// Where the log ends, as far as this appender has read it.
#[derive(Debug)]
pub(crate) struct Tail {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    pub(crate) header_len: u64,
    /// The end of the last complete frame (or seal) read or written.
    pub(crate) offset: u64,
    pub(crate) sealed: bool,
    pub(crate) next_seq: u64,
    pub(crate) last_hash: Hash,
    pub(crate) frontier: Frontier,
}

/// The newest checkpoint, as of the last look.
#[derive(Debug, Clone)]
struct Latest {
    size: u64,
    root: Hash,
    written: SystemTime,
    stamp: (u64, u64, SystemTime),
}

pub(crate) fn corrupt(
    path: &std::path::Path,
    offset: u64,
    seq: Option<u64>,
    message: String,
) -> Error {
    Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        seq,
        message,
    }
}

impl Appender {
    pub(crate) fn open(layout: Layout, options: Options) -> Result<Self> {
        for dir in [
            layout.audit_dir().to_path_buf(),
            layout.segments_dir(),
            layout.checkpoints_dir(),
        ] {
            ensure_private_dir(&dir)?;
        }
        let lock_path = layout.lock_file();
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(PRIVATE_FILE_MODE)
            .open(&lock_path)
            .map_err(|e| Error::io("open", &lock_path, e))?;
        Ok(Self {
            layout,
            options,
            lock,
            key: None,
            tail: None,
            latest: None,
            buf: Vec::new(),
            entry: Vec::new(),
            leaves: Vec::new(),
        })
    }

    /// Appends `records` as consecutive entries, durably (one fsync for the batch), and returns
    /// their sequence numbers. Signs a checkpoint afterwards when one is due.
    pub fn append(&mut self, records: &[Record]) -> Result<Range<u64>> {
        self.with_lock(|s| {
            s.prepare()?;
            let range = s.write_batch(records)?;
            if s.due() {
                s.write_checkpoint()?;
            }
            Ok(range)
        })
    }

    /// Signs a checkpoint of the whole log now, unless the newest one already covers it; returns
    /// the newest checkpoint either way.
    pub fn checkpoint(&mut self) -> Result<SignedCheckpoint> {
        self.with_lock(|s| {
            s.prepare()?;
            let size = s.tail()?.next_seq;
            if s.latest.as_ref().is_some_and(|l| l.size == size) {
                return s.read_latest();
            }
            s.write_checkpoint()
        })
    }

    /// Signs a checkpoint if one is due (`checkpoint_every` entries or `checkpoint_interval`
    /// since the last). A long-running writer calls this on a timer.
    pub fn checkpoint_if_due(&mut self) -> Result<Option<SignedCheckpoint>> {
        self.with_lock(|s| {
            s.prepare()?;
            if s.due() {
                s.write_checkpoint().map(Some)
            } else {
                Ok(None)
            }
        })
    }

    /// Clean shutdown: signs a checkpoint if entries are not covered by one yet.
    pub fn close(mut self) -> Result<Option<SignedCheckpoint>> {
        self.with_lock(|s| {
            s.prepare()?;
            let size = s.tail()?.next_seq;
            if s.latest.as_ref().map_or(size > 0, |l| size > l.size) {
                s.write_checkpoint().map(Some)
            } else {
                Ok(None)
            }
        })
    }

    /// Loads the signing key, creating it if this log has none; returns its public half.
    pub(crate) fn ensure_key(&mut self) -> Result<crate::note::VerifierKey> {
        self.with_lock(|s| {
            let checkpoints = s.count_checkpoints()?;
            let key = load_or_create_signer(&s.layout, checkpoints)?;
            let verifier = key.verifier();
            s.key = Some(key);
            Ok(verifier)
        })
    }

    /// The sequence number the next entry will get, as of this appender's last batch.
    pub fn next_seq(&self) -> Option<u64> {
        self.tail.as_ref().map(|t| t.next_seq)
    }

    fn with_lock<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let lock_path = self.layout.lock_file();
        self.lock
            .lock()
            .map_err(|e| Error::io("lock", &lock_path, e))?;
        let result = f(self);
        if result.is_err() {
            // Whatever was half done, start from the files next time.
            self.tail = None;
        }
        let unlocked = self
            .lock
            .unlock()
            .map_err(|e| Error::io("unlock", &lock_path, e));
        let value = result?;
        unlocked?;
        Ok(value)
    }

    fn tail(&self) -> Result<&Tail> {
        self.tail.as_ref().ok_or(Error::WriterStopped)
    }

    /// With the lock held: the key, the newest checkpoint, and the end of the log (recovering a
    /// torn tail). Fails when appending would fork the log.
    fn prepare(&mut self) -> Result<()> {
        if self.key.is_none() {
            let checkpoints = self.count_checkpoints()?;
            self.key = Some(load_or_create_signer(&self.layout, checkpoints)?);
        }
        self.refresh_latest()?;
        if let Some(torn) = self.sync()? {
            let record = self.quarantine(torn)?;
            self.write_batch(std::slice::from_ref(&record))?;
        }
        let tail = self.tail()?;
        if let Some(latest) = &self.latest {
            if tail.next_seq < latest.size {
                return Err(Error::ShorterThanCheckpoint {
                    entries: tail.next_seq,
                    size: latest.size,
                    path: self.layout.latest_checkpoint(),
                });
            }
            if tail.next_seq == latest.size && tail.frontier.root() != latest.root {
                return Err(Error::CheckpointMismatch {
                    size: latest.size,
                    detail: format!(
                        "the entries hash to {} but the checkpoint signed {}",
                        tail.frontier.root(),
                        latest.root
                    ),
                });
            }
        }
        Ok(())
    }

    fn count_checkpoints(&self) -> Result<usize> {
        let dir = self.layout.checkpoints_dir();
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
        let n = entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .and_then(parse_checkpoint_name)
                    .is_some()
            })
            .count();
        Ok(n + usize::from(self.layout.latest_checkpoint().exists()))
    }

    /// Re-reads `audit/checkpoint` when it changed, checking its signature.
    fn refresh_latest(&mut self) -> Result<()> {
        let path = self.layout.latest_checkpoint();
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                self.latest = None;
                return Ok(());
            }
            Err(e) => return Err(Error::io("inspect", &path, e)),
        };
        let written = meta
            .modified()
            .map_err(|e| Error::io("inspect", &path, e))?;
        let stamp = (meta.ino(), meta.len(), written);
        if self.latest.as_ref().is_some_and(|l| l.stamp == stamp) {
            return Ok(());
        }
        let signed = self.read_latest()?;
        self.latest = Some(Latest {
            size: signed.checkpoint.size,
            root: signed.checkpoint.root,
            written,
            stamp,
        });
        Ok(())
    }

    fn read_latest(&self) -> Result<SignedCheckpoint> {
        let path = self.layout.latest_checkpoint();
        let key = self.key.as_ref().ok_or(Error::WriterStopped)?;
        let note = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
        SignedCheckpoint::open(&note, &key.verifier())
            .map_err(|source| Error::Checkpoint { path, source })
    }

    /// Opens the last segment (creating the first one in a new log).
    fn open_last(&self) -> Result<Tail> {
        let dir = self.layout.segments_dir();
        let last = std::fs::read_dir(&dir)
            .map_err(|e| Error::io("list", &dir, e))?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str().and_then(parse_segment_name))
            .max();
        match last {
            Some(first_seq) => self.open_segment(first_seq, None),
            None => self.create_segment(&Header {
                first_seq: 0,
                prev: Hash::ZERO,
                frontier: Frontier::new(),
            }),
        }
    }

    /// Opens segment `first_seq`; when `expect` is given its header must continue from there.
    fn open_segment(&self, first_seq: u64, expect: Option<&Tail>) -> Result<Tail> {
        let path = self.layout.segment(first_seq);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        let mut head = vec![0; MAX_HEADER];
        let n = read_up_to(&file, &mut head, 0).map_err(|e| Error::io("read", &path, e))?;
        let (header, header_len) =
            Header::decode(&head[..n]).map_err(|m| corrupt(&path, 0, Some(first_seq), m))?;
        if header.first_seq != first_seq {
            return Err(corrupt(
                &path,
                0,
                Some(first_seq),
                format!(
                    "the header says the segment starts at entry {}",
                    header.first_seq
                ),
            ));
        }
        if let Some(prev) = expect
            && (header.prev != prev.last_hash || header.frontier != prev.frontier)
        {
            return Err(corrupt(
                &path,
                0,
                Some(first_seq),
                "the header does not continue the previous segment".into(),
            ));
        }
        Ok(Tail {
            path,
            file,
            header_len: header_len as u64,
            offset: header_len as u64,
            sealed: false,
            next_seq: header.first_seq,
            last_hash: header.prev,
            frontier: header.frontier,
        })
    }

    fn create_segment(&self, header: &Header) -> Result<Tail> {
        let path = self.layout.segment(header.first_seq);
        write_atomic(&path, &header.encode(), PRIVATE_FILE_MODE)?;
        self.open_segment(header.first_seq, None)
    }

    /// Reads what other writers appended since our last look. Returns a torn tail, if the log
    /// ends in bytes that are not a complete record.
    fn sync(&mut self) -> Result<Option<Torn>> {
        if self.tail.is_none() {
            self.tail = Some(self.open_last()?);
        }
        loop {
            let Some(tail) = self.tail.as_mut() else {
                return Err(Error::WriterStopped);
            };
            let len = tail
                .file
                .metadata()
                .map_err(|e| Error::io("inspect", &tail.path, e))?
                .len();
            if len < tail.offset {
                return Err(corrupt(
                    &tail.path,
                    len,
                    Some(tail.next_seq),
                    format!(
                        "the file shrank to {len} bytes, below the {} already written",
                        tail.offset
                    ),
                ));
            }
            if len > tail.offset {
                let mut bytes = vec![0; (len - tail.offset) as usize];
                tail.file
                    .read_exact_at(&mut bytes, tail.offset)
                    .map_err(|e| Error::io("read", &tail.path, e))?;
                if let Some(torn) = catch_up(tail, &bytes)? {
                    return Ok(Some(torn));
                }
            }
            if !tail.sealed {
                return Ok(None);
            }
            let next = self.next_segment()?;
            self.tail = Some(next);
        }
    }

    /// The segment after a sealed one: opened if it exists (checking its header), else created.
    fn next_segment(&self) -> Result<Tail> {
        let tail = self.tail()?;
        if self.layout.segment(tail.next_seq).exists() {
            return self.open_segment(tail.next_seq, Some(tail));
        }
        self.create_segment(&Header {
            first_seq: tail.next_seq,
            prev: tail.last_hash,
            frontier: tail.frontier.clone(),
        })
    }

    /// Moves a torn tail into `quarantine/`, cuts it off the segment, and returns the entry
    /// that records this. Refused when a checkpoint covers the bytes (that is not a crash).
    fn quarantine(&mut self, torn: Torn) -> Result<Record> {
        if let Some(latest) = &self.latest
            && torn.seq < latest.size
        {
            return Err(Error::ShorterThanCheckpoint {
                entries: torn.seq,
                size: latest.size,
                path: self.layout.latest_checkpoint(),
            });
        }
        let tail = self.tail.as_mut().ok_or(Error::WriterStopped)?;
        quarantine(&self.layout, &tail.file, torn)
    }

    /// Encodes and writes a batch at the end of the log (the lock held and the tail in sync).
    fn write_batch(&mut self, records: &[Record]) -> Result<Range<u64>> {
        let tail = self.tail()?;
        let (start, mut prev) = (tail.next_seq, tail.last_hash);
        if records.is_empty() {
            return Ok(start..start);
        }
        let full = tail.offset >= self.options.segment_size && tail.offset > tail.header_len;
        let sealed = tail.sealed;
        self.buf.clear();
        self.leaves.clear();
        for (i, record) in records.iter().enumerate() {
            self.entry.clear();
            encode(start + i as u64, &prev, record, &mut self.entry)?;
            prev = leaf_hash(&self.entry);
            put_frame(&mut self.buf, &self.entry);
            self.leaves.push(prev);
        }
        if full || sealed {
            self.rotate()?;
        }
        let tail = self.tail.as_mut().ok_or(Error::WriterStopped)?;
        tail.file
            .write_all_at(&self.buf, tail.offset)
            .and_then(|()| tail.file.sync_data())
            .map_err(|e| Error::io("append to", &tail.path, e))?;
        tail.offset += self.buf.len() as u64;
        for leaf in &self.leaves {
            tail.frontier.push(*leaf);
        }
        tail.next_seq += records.len() as u64;
        tail.last_hash = prev;
        Ok(start..tail.next_seq)
    }

    /// Seals the active segment (unless a crash already did) and moves to a new one.
    fn rotate(&mut self) -> Result<()> {
        let tail = self.tail.as_mut().ok_or(Error::WriterStopped)?;
        if !tail.sealed {
            tail.file
                .write_all_at(&seal(), tail.offset)
                .and_then(|()| tail.file.sync_data())
                .map_err(|e| Error::io("seal", &tail.path, e))?;
            tail.offset += seal().len() as u64;
            tail.sealed = true;
        }
        let next = self.next_segment()?;
        sync_dir(&self.layout.segments_dir())?;
        self.tail = Some(next);
        Ok(())
    }

    fn due(&self) -> bool {
        let Some(tail) = &self.tail else {
            return false;
        };
        let size = tail.next_seq;
        match &self.latest {
            None => size > 0,
            Some(l) if size <= l.size => false,
            Some(l) => {
                let old = match SystemTime::now().duration_since(l.written) {
                    Ok(age) => age >= self.options.checkpoint_interval,
                    // Written "in the future": the clock moved back; do not wait for it.
                    Err(_) => true,
                };
                size - l.size >= self.options.checkpoint_every || old
            }
        }
    }

    fn write_checkpoint(&mut self) -> Result<SignedCheckpoint> {
        let key = self.key.as_ref().ok_or(Error::WriterStopped)?;
        let tail = self.tail()?;
        let checkpoint = Checkpoint {
            origin: key.name().to_string(),
            size: tail.next_seq,
            root: tail.frontier.root(),
        };
        let path = self.layout.checkpoint(checkpoint.size);
        let signed = checkpoint.sign(key).map_err(|source| Error::Checkpoint {
            path: path.clone(),
            source,
        })?;
        publish(&self.layout, &path, signed.note.as_bytes())?;
        self.refresh_latest()?;
        tracing::debug!(size = checkpoint.size, root = %checkpoint.root, "signed an audit checkpoint");
        Ok(signed)
    }
}
