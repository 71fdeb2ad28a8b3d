//! Group commit for long-running writers (the daemon): any number of threads submit entries;
//! one thread writes whatever has queued up as one batch with one fsync, answers each submitter
//! with its sequence numbers, and signs checkpoints on time even when the log is quiet.

use std::ops::Range;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::checkpoint::SignedCheckpoint;
use crate::entry::Record;
use crate::error::{Error, Result};
use crate::writer::Appender;

/// The most entries written as one batch.
const MAX_BATCH: usize = 4096;

type Reply = SyncSender<std::result::Result<Range<u64>, String>>;

enum Msg {
    Append(Vec<Record>, Reply),
    Shutdown,
}

/// A handle to the writer thread. Cloneable handles are made with [`AuditWriter::handle`].
#[derive(Debug)]
pub struct AuditWriter {
    tx: Sender<Msg>,
    thread: Option<JoinHandle<Result<Option<SignedCheckpoint>>>>,
}

/// A cheap, cloneable way to submit entries to an [`AuditWriter`] from other threads.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    tx: Sender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Append(r, _) => write!(f, "Append({} records)", r.len()),
            Self::Shutdown => f.write_str("Shutdown"),
        }
    }
}

impl WriterHandle {
    /// Logs one entry; returns once it is durable.
    pub fn append(&self, record: Record) -> Result<u64> {
        Ok(self.append_batch(vec![record])?.start)
    }

    /// Logs entries as consecutive sequence numbers; returns once they are durable.
    pub fn append_batch(&self, records: Vec<Record>) -> Result<Range<u64>> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Append(records, reply))
            .map_err(|_| Error::WriterStopped)?;
        answer
            .recv()
            .map_err(|_| Error::WriterStopped)?
            .map_err(Error::BatchFailed)
    }
}

impl AuditWriter {
    pub(crate) fn start(appender: Appender, tick: Duration) -> Result<Self> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(appender, &rx, tick))
            .map_err(|e| Error::io("start the audit writer thread for", "audit/", e))?;
        Ok(Self {
            tx,
            thread: Some(thread),
        })
    }

    /// A handle for other threads.
    pub fn handle(&self) -> WriterHandle {
        WriterHandle {
            tx: self.tx.clone(),
        }
    }

    /// Logs one entry; returns once it is durable.
    pub fn append(&self, record: Record) -> Result<u64> {
        self.handle().append(record)
    }

    /// Logs entries as consecutive sequence numbers; returns once they are durable.
    pub fn append_batch(&self, records: Vec<Record>) -> Result<Range<u64>> {
        self.handle().append_batch(records)
    }

    /// Clean shutdown: writes what is queued, then signs a final checkpoint.
    pub fn shutdown(mut self) -> Result<Option<SignedCheckpoint>> {
        self.stop()
    }

    fn stop(&mut self) -> Result<Option<SignedCheckpoint>> {
        let Some(thread) = self.thread.take() else {
            return Ok(None);
        };
        let _ = self.tx.send(Msg::Shutdown);
        thread.join().map_err(|_| Error::WriterStopped)?
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "the audit writer did not shut down cleanly");
        }
    }
}

fn run(
    mut appender: Appender,
    rx: &Receiver<Msg>,
    tick: Duration,
) -> Result<Option<SignedCheckpoint>> {
    let mut stopping = false;
    while !stopping {
        let first = match rx.recv_timeout(tick) {
            Ok(Msg::Append(records, reply)) => (records, reply),
            Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                if let Err(e) = appender.checkpoint_if_due() {
                    tracing::error!(error = %e, "cannot sign an audit checkpoint");
                }
                continue;
            }
        };
        let mut batch = vec![first];
        let mut count = batch[0].0.len();
        while count < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Append(records, reply)) => {
                    count += records.len();
                    batch.push((records, reply));
                }
                Ok(Msg::Shutdown) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let all: Vec<Record> = batch.iter().flat_map(|(r, _)| r.iter().cloned()).collect();
        match appender.append(&all) {
            Ok(range) => {
                let mut next = range.start;
                for (records, reply) in batch {
                    let end = next + records.len() as u64;
                    let _ = reply.send(Ok(next..end));
                    next = end;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot append to the audit log");
                let message = e.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
    // Anything submitted after the shutdown request still gets an answer.
    while let Ok(Msg::Append(records, reply)) = rx.try_recv() {
        let _ = reply.send(appender.append(&records).map_err(|e| e.to_string()));
    }
    appender.close()
}
