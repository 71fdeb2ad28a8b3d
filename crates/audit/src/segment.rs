//! Segment files: a header, then framed entries, then (once full) a seal.
//!
//! ```text
//! header  "AEGISLOG" | version u8 = 1 | first seq u64 | prev [32] | n u8 | n × [32] frontier
//!         | crc32 u32 of all header bytes before it
//! frame   length u32 (1..=MAX_ENTRY_BYTES) | entry | crc32 u32 of length and entry
//! seal    length u32 = 0 | crc32 u32 of those four zero bytes
//! ```
//!
//! Integers are big-endian. The CRC (IEEE) only tells an interrupted write from a complete one;
//! integrity against tampering comes from the hash chain and the signed Merkle checkpoints.

use crate::encoding::MAX_ENTRY_BYTES;
use crate::hash::Hash;
use crate::merkle::Frontier;

pub(crate) const MAGIC: &[u8; 8] = b"AEGISLOG";
pub(crate) const SEGMENT_VERSION: u8 = 1;
/// Bytes of a frame around its entry.
pub(crate) const FRAME_OVERHEAD: usize = 8;
pub(crate) const SEAL_LEN: usize = 8;

/// What a segment's header says about the log before its first entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) first_seq: u64,
    /// The hash of entry `first_seq - 1`.
    pub(crate) prev: Hash,
    /// The tree's frontier over entries `0..first_seq`.
    pub(crate) frontier: Frontier,
}

impl Header {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let nodes = self.frontier.nodes();
        let mut out = Vec::with_capacity(8 + 1 + 8 + 32 + 1 + nodes.len() * 32 + 4);
        out.extend_from_slice(MAGIC);
        out.push(SEGMENT_VERSION);
        out.extend_from_slice(&self.first_seq.to_be_bytes());
        out.extend_from_slice(&self.prev.0);
        // At most 64 nodes (one per bit of a u64 size).
        out.push(nodes.len() as u8);
        for n in nodes {
            out.extend_from_slice(&n.0);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Parses the header at the start of `bytes`; returns it and its length.
    pub(crate) fn decode(bytes: &[u8]) -> Result<(Self, usize), String> {
        let fixed = 8 + 1 + 8 + 32 + 1;
        if bytes.len() < fixed {
            return Err(format!(
                "the file is {} bytes, shorter than a segment header",
                bytes.len()
            ));
        }
        if &bytes[..8] != MAGIC {
            return Err("not an audit segment (bad magic bytes)".into());
        }
        if bytes[8] != SEGMENT_VERSION {
            return Err(format!(
                "unknown segment version {} (this build reads {SEGMENT_VERSION})",
                bytes[8]
            ));
        }
        let first_seq = u64::from_be_bytes(bytes[9..17].try_into().unwrap_or_default());
        let prev = Hash::from_slice(&bytes[17..49]).unwrap_or_default();
        let n = bytes[49] as usize;
        let len = fixed + n * 32 + 4;
        if bytes.len() < len {
            return Err("the segment header is truncated".into());
        }
        let crc = u32::from_be_bytes(bytes[len - 4..len].try_into().unwrap_or_default());
        if crc32fast::hash(&bytes[..len - 4]) != crc {
            return Err("the segment header's checksum does not match (it was altered)".into());
        }
        let nodes = bytes[fixed..len - 4]
            .chunks_exact(32)
            .filter_map(Hash::from_slice)
            .collect();
        let frontier = Frontier::from_parts(first_seq, nodes)
            .ok_or_else(|| format!("the header's frontier does not fit first entry {first_seq}"))?;
        Ok((
            Self {
                first_seq,
                prev,
                frontier,
            },
            len,
        ))
    }
}

/// Appends the frame of one encoded entry to `out`.
pub(crate) fn put_frame(out: &mut Vec<u8>, entry: &[u8]) {
    let start = out.len();
    // Fits: entries are at most MAX_ENTRY_BYTES.
    out.extend_from_slice(&(entry.len() as u32).to_be_bytes());
    out.extend_from_slice(entry);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The seal that ends a full segment.
pub(crate) fn seal() -> [u8; SEAL_LEN] {
    let mut s = [0u8; SEAL_LEN];
    s[4..].copy_from_slice(&crc32fast::hash(&[0, 0, 0, 0]).to_be_bytes());
    s
}

/// One unit read from a segment's body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A complete entry whose checksum matches.
    Entry(&'a [u8]),
    /// A complete entry whose checksum does not match (bytes altered after writing).
    BadChecksum(&'a [u8]),
    /// The seal.
    Seal,
}

/// Why the bytes at some offset are not a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The bytes end inside a frame (an interrupted write, or truncation).
    Incomplete { have: usize, need: usize },
    /// The length field is impossible (above the entry size limit, or a seal with a bad
    /// checksum); nothing after it can be framed.
    BadLength(u32),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Incomplete { have, need } => {
                write!(f, "the file ends {have} bytes into a {need}-byte record")
            }
            Self::BadLength(0) => write!(f, "a zero length field that is not a valid seal"),
            Self::BadLength(n) => write!(
                f,
                "a length field of {n} bytes, above the {MAX_ENTRY_BYTES}-byte limit"
            ),
        }
    }
}

/// Reads the frame at the start of `bytes`; returns it and its total length.
pub(crate) fn read_frame(bytes: &[u8]) -> Result<(Frame<'_>, usize), FrameError> {
    let Some((len, _)) = bytes.split_first_chunk::<4>() else {
        return Err(FrameError::Incomplete {
            have: bytes.len(),
            need: 4,
        });
    };
    let len = u32::from_be_bytes(*len);
    if len == 0 {
        if bytes.len() < SEAL_LEN {
            return Err(FrameError::Incomplete {
                have: bytes.len(),
                need: SEAL_LEN,
            });
        }
        return if bytes[..SEAL_LEN] == seal() {
            Ok((Frame::Seal, SEAL_LEN))
        } else {
            Err(FrameError::BadLength(0))
        };
    }
    if len as usize > MAX_ENTRY_BYTES {
        return Err(FrameError::BadLength(len));
    }
    let total = len as usize + FRAME_OVERHEAD;
    if bytes.len() < total {
        return Err(FrameError::Incomplete {
            have: bytes.len(),
            need: total,
        });
    }
    let body = &bytes[4..total - 4];
    let crc = u32::from_be_bytes(bytes[total - 4..total].try_into().unwrap_or_default());
    let frame = if crc32fast::hash(&bytes[..total - 4]) == crc {
        Frame::Entry(body)
    } else {
        Frame::BadChecksum(body)
    };
    Ok((frame, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn header_round_trip_and_tamper() {
        let mut f = Frontier::new();
        for i in 0..13u8 {
            f.push(leaf_hash(&[i]));
        }
        let h = Header {
            first_seq: 13,
            prev: leaf_hash(&[12]),
            frontier: f,
        };
        let bytes = h.encode();
        assert_eq!(Header::decode(&bytes).unwrap(), (h, bytes.len()));
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(Header::decode(&b).is_err(), "byte {i}");
        }
        assert!(Header::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn frames() {
        let mut buf = Vec::new();
        put_frame(&mut buf, b"hello");
        buf.extend_from_slice(&seal());
        let (f, n) = read_frame(&buf).unwrap();
        assert_eq!((f, n), (Frame::Entry(b"hello"), 13));
        assert_eq!(read_frame(&buf[n..]).unwrap(), (Frame::Seal, SEAL_LEN));
        assert_eq!(
            read_frame(&buf[..7]),
            Err(FrameError::Incomplete { have: 7, need: 13 })
        );
        let mut bad = buf.clone();
        bad[6] ^= 1;
        assert_eq!(read_frame(&bad).unwrap().0, Frame::BadChecksum(b"hemlo"));
        assert_eq!(read_frame(&[0; 8]), Err(FrameError::BadLength(0)));
        assert_eq!(
            read_frame(&[0xff, 0xff, 0xff, 0xff]),
            Err(FrameError::BadLength(u32::MAX))
        );
    }
}
