//! Torn tails: reading what other writers appended, telling an interrupted write from damage,
//! and moving torn bytes to `quarantine/` with an entry that records it (FORMAT.md, "Torn
//! tails").

use std::fs::File;
use std::path::PathBuf;

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, ensure_private_dir, write_atomic};

use crate::encoding::decode;
use crate::entry::Record;
use crate::error::{Error, Result};
use crate::hash::leaf_hash;
use crate::layout::Layout;
use crate::segment::{Frame, read_frame};
use crate::writer::{Tail, corrupt};

/// Bytes at the end of the log that are not a complete record.
pub(crate) struct Torn {
    pub(crate) path: PathBuf,
    pub(crate) offset: u64,
    pub(crate) bytes: Vec<u8>,
    pub(crate) seq: u64,
    pub(crate) why: String,
}

/// Reads frames from `bytes` (which start at `tail.offset`) into `tail`. Returns the torn tail
/// when the bytes end in something that is not a complete record.
pub(crate) fn catch_up(tail: &mut Tail, bytes: &[u8]) -> Result<Option<Torn>> {
    let mut pos = 0;
    while pos < bytes.len() {
        let offset = tail.offset;
        if tail.sealed {
            return Err(corrupt(
                &tail.path,
                offset,
                Some(tail.next_seq),
                "data after the seal".into(),
            ));
        }
        let why = match read_frame(&bytes[pos..]) {
            Ok((Frame::Entry(body), n)) => {
                let view = decode(body)
                    .map_err(|e| corrupt(&tail.path, offset, Some(tail.next_seq), e.to_string()))?;
                if view.seq != tail.next_seq || view.prev != tail.last_hash {
                    return Err(corrupt(
                        &tail.path,
                        offset,
                        Some(tail.next_seq),
                        format!(
                            "found entry {} where entry {} (continuing the chain) was expected: the log was forked or altered",
                            view.seq, tail.next_seq
                        ),
                    ));
                }
                let leaf = leaf_hash(body);
                tail.frontier.push(leaf);
                tail.last_hash = leaf;
                tail.next_seq += 1;
                pos += n;
                tail.offset += n as u64;
                continue;
            }
            Ok((Frame::Seal, n)) => {
                tail.sealed = true;
                pos += n;
                tail.offset += n as u64;
                continue;
            }
            Ok((Frame::BadChecksum(_), n)) => {
                // A complete record that was altered is not a crash: refuse unless nothing
                // valid follows it (then it may be a torn write of garbage).
                if let Ok((Frame::Entry(_), _)) = read_frame(&bytes[pos + n..]) {
                    return Err(corrupt(
                        &tail.path,
                        offset,
                        Some(tail.next_seq),
                        "a record's checksum does not match and valid records follow it: it was altered".into(),
                    ));
                }
                "the last record's checksum does not match".to_string()
            }
            Err(e) => e.to_string(),
        };
        return Ok(Some(Torn {
            path: tail.path.clone(),
            offset,
            bytes: bytes[pos..].to_vec(),
            seq: tail.next_seq,
            why,
        }));
    }
    Ok(None)
}

/// Copies the torn bytes to `quarantine/`, cuts them off `file`, and returns the entry that
/// records this.
pub(crate) fn quarantine(layout: &Layout, file: &File, torn: Torn) -> Result<Record> {
    let segment = torn
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let dir = layout.quarantine_dir();
    ensure_private_dir(&dir)?;
    let name = format!(
        "{}-{:020}.torn",
        segment.trim_end_matches(".seg"),
        torn.offset
    );
    write_atomic(&dir.join(&name), &torn.bytes, PRIVATE_FILE_MODE)?;
    file.set_len(torn.offset)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("truncate the torn record off", &torn.path, e))?;
    tracing::warn!(
        segment = %torn.path.display(),
        offset = torn.offset,
        bytes = torn.bytes.len(),
        quarantine = %name,
        "recovered a torn record at the end of the audit log"
    );
    Ok(Record::new("aegisclaw", "audit.recover", "recorded")
        .reason(format!(
            "a write was interrupted before it was made durable: {}",
            torn.why
        ))
        .result(format!(
            "moved a torn record of {} bytes at byte {} of segments/{segment} to quarantine/{name}",
            torn.bytes.len(),
            torn.offset
        ))
        .attr("bytes", torn.bytes.len().to_string())
        .attr("offset", torn.offset.to_string())
        .attr("quarantine", format!("quarantine/{name}"))
        .attr("segment", format!("segments/{segment}")))
}
