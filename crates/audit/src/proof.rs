//! `logs prove`: an inclusion proof of one entry in the tree of a signed checkpoint, in a JSON
//! form that anyone with the log's public key can check offline.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;
use crate::encoding::decode;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::hash::{Hash, leaf_hash};
use crate::layout::Layout;
use crate::merkle::{inclusion_proof, root, verify_inclusion};
use crate::note::VerifierKey;
use crate::reader::{read_segment, snapshot};
use crate::segment::{Frame, Header, read_frame};

/// Proof that entry `seq` is leaf `seq` of the tree that `checkpoint` signed.
///
/// To check it by hand: decode `entry` (base64) to the entry's canonical bytes; its leaf hash is
/// `SHA-256(0x00 || bytes)`; fold `path` into it as RFC 9162 §2.1.3.2 describes; the result
/// must be the root hash on the third line of `checkpoint`, whose signature must verify with
/// the log's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    pub seq: u64,
    pub tree_size: u64,
    /// The entry's canonical encoding, base64.
    pub entry: String,
    pub leaf_hash: Hash,
    /// The audit path, from the leaf's sibling up.
    pub path: Vec<Hash>,
    /// The signed checkpoint (a C2SP signed note).
    pub checkpoint: String,
}

impl InclusionProof {
    /// Checks the proof with the log's public key; returns the entry it proves.
    pub fn check(&self, key: &VerifierKey) -> Result<Entry> {
        let bad = |m: String| Error::ProofFormat(m);
        let signed = SignedCheckpoint::open(&self.checkpoint, key)
            .map_err(|e| bad(format!("the checkpoint does not verify with {key}: {e}")))?;
        let cp = signed.checkpoint;
        if cp.size != self.tree_size {
            return Err(bad(format!(
                "tree_size is {} but the checkpoint is of size {}",
                self.tree_size, cp.size
            )));
        }
        let bytes = BASE64
            .decode(&self.entry)
            .map_err(|e| bad(format!("entry is not base64: {e}")))?;
        let view = decode(&bytes).map_err(|e| bad(format!("entry is not a valid entry: {e}")))?;
        if view.seq != self.seq {
            return Err(bad(format!(
                "the entry is entry {}, not {}",
                view.seq, self.seq
            )));
        }
        let leaf = leaf_hash(&bytes);
        if leaf != self.leaf_hash {
            return Err(bad(format!(
                "the entry hashes to {leaf}, not the leaf_hash {}",
                self.leaf_hash
            )));
        }
        verify_inclusion(self.seq, cp.size, &leaf, &self.path, &cp.root)?;
        Ok(Entry {
            seq: view.seq,
            prev: view.prev,
            hash: leaf,
            record: view.to_record(),
        })
    }
}

/// Builds the proof of entry `seq` against `checkpoint` from the log's entries.
pub(crate) fn prove(
    layout: &Layout,
    seq: u64,
    checkpoint: &SignedCheckpoint,
) -> Result<InclusionProof> {
    let size = checkpoint.checkpoint.size;
    if seq >= size {
        return Err(Error::NotCovered { seq, size });
    }
    let mut leaves = Vec::with_capacity(size as usize);
    let mut entry = None;
    'segments: for seg in snapshot(layout)? {
        let data = read_segment(&seg)?;
        let (_, mut pos) = Header::decode(&data).map_err(|m| Error::Corrupt {
            path: seg.path.clone(),
            offset: 0,
            seq: Some(seg.first_seq),
            message: m,
        })?;
        while pos < data.len() && (leaves.len() as u64) < size {
            match read_frame(&data[pos..]) {
                Ok((Frame::Entry(body) | Frame::BadChecksum(body), n)) => {
                    if leaves.len() as u64 == seq {
                        entry = Some(body.to_vec());
                    }
                    leaves.push(leaf_hash(body));
                    pos += n;
                }
                Ok((Frame::Seal, _)) | Err(_) => continue 'segments,
            }
        }
        if leaves.len() as u64 >= size {
            break;
        }
    }
    if (leaves.len() as u64) < size {
        return Err(Error::CheckpointMismatch {
            size,
            detail: format!("the log has only {} readable entries", leaves.len()),
        });
    }
    let computed = root(&leaves);
    if computed != checkpoint.checkpoint.root {
        return Err(Error::CheckpointMismatch {
            size,
            detail: format!(
                "the entries hash to {computed}, the checkpoint signed {} (run `aegisclaw logs verify`)",
                checkpoint.checkpoint.root
            ),
        });
    }
    let bytes = entry.ok_or(Error::NoSuchEntry { seq, size })?;
    let path = inclusion_proof(&leaves, seq)?;
    verify_inclusion(seq, size, &leaves[seq as usize], &path, &computed)?;
    Ok(InclusionProof {
        seq,
        tree_size: size,
        entry: BASE64.encode(&bytes),
        leaf_hash: leaves[seq as usize],
        path,
        checkpoint: checkpoint.note.clone(),
    })
}
