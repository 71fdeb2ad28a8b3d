//! Checkpoints: signed tree heads in the C2SP tlog-checkpoint format
//! (<https://c2sp.org/tlog-checkpoint>).
//!
//! ```text
//! aegisclaw.local/audit/3f9c0e1d2a4b5c6d      origin (the log's identity, also the key name)
//! 1000                                         tree size: entries 0..=999
//! 5dnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg= base64 of the RFC 6962 root
//!
//! — aegisclaw.local/audit/3f9c0e1d2a4b5c6d <base64(key id || Ed25519 signature)>
//! ```

use crate::hash::Hash;
use crate::note::{NoteError, SignerKey, VerifierKey};

/// A tree head: the log's identity, its size and its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: three lines, each ending in a newline.
    pub fn text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        )
    }

    /// Parses a note text. Extension lines are not used by this log and are rejected.
    pub fn parse_text(text: &str) -> Result<Self, NoteError> {
        let bad = |m: &str| NoteError::MalformedNote(format!("not a checkpoint: {m}"));
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("the text does not end in a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root] = lines[..] else {
            return Err(bad(
                "expected exactly three lines: origin, tree size, root hash",
            ));
        };
        if origin.is_empty() {
            return Err(bad("the origin line is empty"));
        }
        let valid_size = size == "0" || (!size.starts_with('0') && !size.is_empty());
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|_| valid_size && size.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bad("the tree size is not a decimal number without leading zeros"))?;
        let root = Hash::from_base64(root)
            .ok_or_else(|| bad("the root hash is not base64 of 32 bytes"))?;
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// Signs the checkpoint; the key's name must be the origin.
    pub fn sign(&self, key: &SignerKey) -> Result<SignedCheckpoint, NoteError> {
        if key.name() != self.origin {
            return Err(NoteError::MalformedNote(format!(
                "the key {} does not sign for origin {}",
                key.name(),
                self.origin
            )));
        }
        Ok(SignedCheckpoint {
            checkpoint: self.clone(),
            note: key.sign(&self.text())?,
        })
    }
}

/// A checkpoint with its signed note, as stored and as given to users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The whole note: text, blank line, signature lines.
    pub note: String,
}

impl SignedCheckpoint {
    /// Checks the signature with `key` and parses the text. The origin must be the key's name.
    pub fn open(note: &str, key: &VerifierKey) -> Result<Self, NoteError> {
        let text = key.open(note)?;
        let checkpoint = Checkpoint::parse_text(text)?;
        if checkpoint.origin != key.name() {
            return Err(NoteError::MalformedNote(format!(
                "the checkpoint's origin {} is not the key's log {}",
                checkpoint.origin,
                key.name()
            )));
        }
        Ok(Self {
            checkpoint,
            note: note.to_string(),
        })
    }

    /// Parses the text without checking any signature (to say what a file claims before
    /// reporting that its signature fails).
    pub fn parse_unverified(note: &str) -> Result<Checkpoint, NoteError> {
        let split = note.rfind("\n\n").ok_or_else(|| {
            NoteError::MalformedNote("no blank line before the signatures".into())
        })?;
        Checkpoint::parse_text(&note[..split + 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn sign_open_round_trip() {
        let key = SignerKey::generate("example.com/log").unwrap();
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 1000,
            root: leaf_hash(b"r"),
        };
        let signed = cp.sign(&key).unwrap();
        assert!(signed.note.starts_with(&format!(
            "example.com/log\n1000\n{}\n\n\u{2014} example.com/log ",
            cp.root.to_base64()
        )));
        let opened = SignedCheckpoint::open(&signed.note, &key.verifier()).unwrap();
        assert_eq!(opened.checkpoint, cp);
        assert_eq!(
            SignedCheckpoint::parse_unverified(&signed.note).unwrap(),
            cp
        );

        let forged = signed.note.replace("\n1000\n", "\n999\n");
        assert!(SignedCheckpoint::open(&forged, &key.verifier()).is_err());
        let other = SignerKey::generate("example.com/other").unwrap();
        assert!(cp.sign(&other).is_err());
    }

    #[test]
    fn text_must_be_exact() {
        let root = leaf_hash(b"r").to_base64();
        for bad in [
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n1\n{root}"),
            format!("o\n1\n{root}\next\n"),
            format!("\n1\n{root}\n"),
            "o\n1\nAAAA\n".to_string(),
        ] {
            assert!(Checkpoint::parse_text(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Checkpoint::parse_text(&format!("o\n0\n{root}\n"))
                .unwrap()
                .size,
            0
        );
    }
}
