//! The tamper-evident audit log of AegisClaw.
//!
//! Every step of every action (guard, policy, approval, lease, enforcement) is appended here as
//! an [`Entry`]. The log is a transparency log in miniature:
//!
//! - each entry has a canonical binary encoding (`FORMAT.md`) and carries the hash of the entry
//!   before it (a hash chain);
//! - the entries are the leaves of an RFC 6962 Merkle tree whose root is signed with Ed25519 in
//!   a C2SP checkpoint every `checkpoint_every` entries or `checkpoint_interval`, and on clean
//!   shutdown ([`SignedCheckpoint`]);
//! - [`AuditLog::verify`] recomputes every hash, the chain and the tree and checks them against
//!   every checkpoint, naming the first bad entry; [`AuditLog::prove`] gives an
//!   [`InclusionProof`] anyone can check offline with the public key.
//!
//! Appends are safe from any number of processes (an exclusive `flock` per batch and one
//! gap-free sequence that every writer extends after reading what others wrote), durable (one
//! `fdatasync` per batch, group commit in [`AuditWriter`]), and crash-safe: a record torn by a
//! crash is detected, moved to `quarantine/`, recorded as an entry, and appends continue.
//! Segments are sealed at `segment_size` and never rewritten.
//!
//! ```
//! use aegisclaw_audit::{AuditLog, Filter, Options, Record, VerifyOptions};
//! use aegisclaw_core::Home;
//!
//! # let dir = tempfile::tempdir()?;
//! let log = AuditLog::new(&Home::at(dir.path()), Options::default());
//! let seqs = log.append(&[
//!     Record::new("skill:git-stats", "exec", "allow").scope("files.read:/repo"),
//!     Record::new("agent:codex", "connect", "deny").reason("net.outbound not granted"),
//! ])?;
//! assert_eq!(seqs, 0..2);
//! let denied: Vec<_> = log
//!     .entries(Filter { decision: Some("deny".into()), ..Filter::default() })?
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(denied[0].record.actor, "agent:codex");
//! assert!(log.verify(&VerifyOptions::default())?.ok);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The crate knows nothing of policies or actions: the runtime maps them onto [`Record`]'s plain
//! fields, after the redactor has removed secrets.

mod checkpoint;
mod encoding;
mod entry;
mod error;
mod files;
mod group;
mod hash;
mod keys;
mod layout;
mod log;
pub mod merkle;
mod note;
mod options;
mod proof;
mod reader;
mod recovery;
mod segment;
mod verify;
mod writer;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use encoding::{DecodeError, EncodeError, MAX_ENTRY_BYTES, MAX_FIELD_BYTES, MAX_ITEMS};
pub use entry::{Entry, Record, format_time};
pub use error::{Error, Result};
pub use group::{AuditWriter, WriterHandle};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use keys::KeySource;
pub use log::AuditLog;
pub use note::{NoteError, SignerKey, VerifierKey};
pub use options::Options;
pub use proof::InclusionProof;
pub use reader::{Entries, Filter, Follower, TornTail};
pub use verify::{Problem, VerifyOptions, VerifyReport};
pub use writer::Appender;
