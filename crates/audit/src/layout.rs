//! Where the log's files live under the home (see `FORMAT.md`, "On-disk layout").

use std::path::{Path, PathBuf};

use aegisclaw_core::Home;

/// Paths of the audit log of one home.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    audit: PathBuf,
    keys: PathBuf,
}

const SEGMENT_EXT: &str = "seg";
const CHECKPOINT_EXT: &str = "note";

impl Layout {
    pub(crate) fn new(home: &Home) -> Self {
        Self {
            audit: home.audit_dir(),
            keys: home.keys_dir(),
        }
    }

    pub(crate) fn audit_dir(&self) -> &Path {
        &self.audit
    }
    pub(crate) fn keys_dir(&self) -> &Path {
        &self.keys
    }
    /// The file whose `flock` serialises writers (exclusive) against snapshots (shared).
    pub(crate) fn lock_file(&self) -> PathBuf {
        self.audit.join("lock")
    }
    pub(crate) fn segments_dir(&self) -> PathBuf {
        self.audit.join("segments")
    }
    /// `segments/<first seq, 20 digits>.seg`: names sort in log order.
    pub(crate) fn segment(&self, first_seq: u64) -> PathBuf {
        self.segments_dir()
            .join(format!("{first_seq:020}.{SEGMENT_EXT}"))
    }
    pub(crate) fn checkpoints_dir(&self) -> PathBuf {
        self.audit.join("checkpoints")
    }
    /// `checkpoints/<tree size, 20 digits>.note`: every checkpoint ever signed.
    pub(crate) fn checkpoint(&self, size: u64) -> PathBuf {
        self.checkpoints_dir()
            .join(format!("{size:020}.{CHECKPOINT_EXT}"))
    }
    /// `checkpoint`: a copy of the newest checkpoint.
    pub(crate) fn latest_checkpoint(&self) -> PathBuf {
        self.audit.join("checkpoint")
    }
    pub(crate) fn quarantine_dir(&self) -> PathBuf {
        self.audit.join("quarantine")
    }
    /// The public half of the signing key (a verifier key line).
    pub(crate) fn public_key(&self) -> PathBuf {
        self.audit.join("log.pub")
    }
    /// The signing key (0600).
    pub(crate) fn signing_key(&self) -> PathBuf {
        self.keys.join("audit-log.key")
    }
}

/// The number in a `<20 digits>.<ext>` file name.
pub(crate) fn parse_numbered(name: &str, ext: &str) -> Option<u64> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    parse_numbered(name, SEGMENT_EXT)
}

pub(crate) fn parse_checkpoint_name(name: &str) -> Option<u64> {
    parse_numbered(name, CHECKPOINT_EXT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let l = Layout::new(&Home::at("/h"));
        let seg = l.segment(1234);
        let name = seg.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, "00000000000000001234.seg");
        assert_eq!(parse_segment_name(name), Some(1234));
        assert_eq!(
            parse_checkpoint_name("00000000000000001000.note"),
            Some(1000)
        );
        assert_eq!(parse_segment_name("1234.seg"), None);
        assert_eq!(parse_segment_name(".tmp-00000000000000001234.seg"), None);
        assert_eq!(parse_segment_name("0000000000000000123x.seg"), None);
    }
}
