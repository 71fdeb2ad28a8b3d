//! C2SP signed notes with Ed25519 keys (<https://c2sp.org/signed-note>), and the text forms of
//! keys used by Go's `golang.org/x/mod/sumdb/note` and the transparency-log tools around it:
//!
//! - verifier key: `<name>+<key id, 8 hex>+<base64(0x01 || 32-byte public key)>`;
//! - signer key: `PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(0x01 || 32-byte seed)>`;
//! - key id: the first four bytes, big-endian, of `SHA-256(name || 0x0A || 0x01 || public key)`;
//! - a note: the text (ending in a newline), a blank line, then one line per signature,
//!   `— <name> <base64(key id || signature)>` (U+2014 EM DASH, a space).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _};
use sha2::{Digest, Sha256};

/// The signature type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;
const SIG_PREFIX: &str = "\u{2014} ";
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
/// More signatures than this on one note is an error (the spec requires accepting 16).
const MAX_SIGNATURES: usize = 100;

/// Why a key or a note was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    #[error("malformed note: {0}")]
    MalformedNote(String),
    #[error("no signature by {name}+{id:08x} on the note")]
    NotSigned { name: String, id: u32 },
    #[error("the signature by {name}+{id:08x} does not verify: the note was altered or forged")]
    BadSignature { name: String, id: u32 },
}

/// A key name: non-empty, no Unicode spaces, no `+`.
fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::MalformedKey(
            "the name must be non-empty, without spaces or '+'",
        ));
    }
    Ok(())
}

fn key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Splits `<name>+<hex id>+<base64 key>` and checks the algorithm byte.
fn split_key(s: &str) -> Result<(&str, u32, [u8; 32]), NoteError> {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey(
            "expected <name>+<key id>+<base64 key>",
        ));
    };
    check_name(name)?;
    if id.len() != 8 {
        return Err(NoteError::MalformedKey("the key id must be 8 hex digits"));
    }
    let id = u32::from_str_radix(id, 16)
        .map_err(|_| NoteError::MalformedKey("the key id must be 8 hex digits"))?;
    let raw = BASE64
        .decode(key)
        .map_err(|_| NoteError::MalformedKey("the key is not base64"))?;
    match raw.split_first() {
        Some((&ALG_ED25519, rest)) if rest.len() == 32 => {
            let mut k = [0; 32];
            k.copy_from_slice(rest);
            Ok((name, id, k))
        }
        Some((&ALG_ED25519, _)) => Err(NoteError::MalformedKey("an Ed25519 key must be 32 bytes")),
        _ => Err(NoteError::MalformedKey(
            "only Ed25519 keys (type 0x01) are supported",
        )),
    }
}

/// A named Ed25519 signing key.
pub struct SignerKey {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the private half.
        f.debug_struct("SignerKey")
            .field("verifier", &self.verifier().to_string())
            .finish()
    }
}

impl SignerKey {
    /// A new random key named `name`.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|_| NoteError::MalformedKey("the system random source failed"))?;
        Ok(Self::from_seed(name, &seed))
    }

    fn from_seed(name: &str, seed: &[u8; 32]) -> Self {
        Self {
            name: name.to_string(),
            key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>` and checks the id.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let rest = s
            .trim()
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(NoteError::MalformedKey("expected PRIVATE+KEY+<name>+..."))?;
        let (name, id, seed) = split_key(rest)?;
        let key = Self::from_seed(name, &seed);
        if key.id() != id {
            return Err(NoteError::MalformedKey(
                "the key id does not match the name and key",
            ));
        }
        Ok(key)
    }

    /// The text form, for the key file. Secret.
    pub fn to_private_string(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "{PRIVATE_PREFIX}{}+{:08x}+{}",
            self.name,
            self.id(),
            BASE64.encode(raw)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        key_id(&self.name, self.key.verifying_key().as_bytes())
    }

    /// The public half.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id(),
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` (which must end in a newline and hold no control characters but newlines)
    /// and returns the whole note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = self.id().to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::MalformedNote(
            "the text must end in a newline".into(),
        ));
    }
    if text.chars().any(|c| c.is_ascii_control() && c != '\n') {
        return Err(NoteError::MalformedNote(
            "control characters other than newline are not allowed".into(),
        ));
    }
    Ok(())
}

/// A named Ed25519 public key that checks notes.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(raw))
    }
}

impl VerifierKey {
    /// Parses `<name>+<id>+<base64(0x01 || key)>` and checks the id.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let (name, id, raw) = split_key(s.trim())?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|_| NoteError::MalformedKey("not a valid Ed25519 public key"))?;
        if key_id(name, &raw) != id {
            return Err(NoteError::MalformedKey(
                "the key id does not match the name and key",
            ));
        }
        Ok(Self {
            name: name.to_string(),
            id,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    /// Checks a signed note and returns its text. Signatures by other keys are ignored; the
    /// note must carry one by this key, and every signature by this key must verify.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let malformed = |m: &str| NoteError::MalformedNote(m.to_string());
        if note.chars().any(|c| c.is_ascii_control() && c != '\n') {
            return Err(malformed("control characters other than newline"));
        }
        let split = note
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
        if !sigs.ends_with('\n') {
            return Err(malformed(
                "the last signature line does not end in a newline",
            ));
        }
        let mut found = false;
        for (i, line) in sigs.lines().enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(malformed("too many signatures"));
            }
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| malformed("a signature line does not start with an em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| malformed("a signature line has no space after the name"))?;
            let blob = BASE64
                .decode(b64)
                .map_err(|_| malformed("a signature is not base64"))?;
            if blob.len() < 4 || check_name(name).is_err() {
                return Err(malformed("a signature line is malformed"));
            }
            let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if name != self.name || id != self.id {
                continue; // another key's signature (a witness, a rotated key)
            }
            let bad = || NoteError::BadSignature {
                name: self.name.clone(),
                id: self.id,
            };
            let sig = Signature::from_slice(&blob[4..]).map_err(|_| bad())?;
            self.key
                .verify_strict(text.as_bytes(), &sig)
                .map_err(|_| bad())?;
            found = true;
        }
        if found {
            Ok(text)
        } else {
            Err(NoteError::NotSigned {
                name: self.name.clone(),
                id: self.id,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of Go's golang.org/x/mod/sumdb/note package documentation and tests
    // (BSD-3-Clause): a published known answer for the key formats, the key id and the signature
    // line. Ed25519 is deterministic, so signing must reproduce it byte for byte.
    const SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn go_note_known_answer() {
        let signer = SignerKey::parse(SKEY).unwrap();
        assert_eq!(signer.to_private_string(), SKEY);
        assert_eq!(signer.verifier().to_string(), VKEY);
        let note = signer.sign(TEXT).unwrap();
        assert_eq!(note, format!("{TEXT}\n{SIG}"));
        let verifier = VerifierKey::parse(VKEY).unwrap();
        assert_eq!(verifier.open(&note).unwrap(), TEXT);
    }

    #[test]
    fn altered_notes_and_wrong_keys_are_rejected() {
        let verifier = VerifierKey::parse(VKEY).unwrap();
        let note = format!("{TEXT}\n{SIG}");
        let altered = note.replace("cryptography", "cryptographY");
        assert!(matches!(
            verifier.open(&altered),
            Err(NoteError::BadSignature { .. })
        ));
        let other = SignerKey::generate("PeterNeumann").unwrap();
        let forged = other.sign(TEXT).unwrap();
        assert!(matches!(
            verifier.open(&forged),
            Err(NoteError::NotSigned { .. })
        ));
        // Another key's extra signature is ignored; ours still verifies.
        let cosigned = format!("{note}{}", &forged[TEXT.len() + 1..]);
        assert_eq!(verifier.open(&cosigned).unwrap(), TEXT);
        assert!(verifier.open(TEXT).is_err());
        assert!(verifier.open(&note.replace('\u{2014}', "-")).is_err());
    }

    #[test]
    fn malformed_keys_are_rejected() {
        for bad in [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a3",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+AhpjZDI",
            "PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(SignerKey::parse(VKEY).is_err());
        assert!(SignerKey::parse(&SKEY.replace("c74f20a3", "c74f20a4")).is_err());
    }

    #[test]
    fn generated_keys_round_trip_and_debug_hides_the_secret() {
        let k = SignerKey::generate("example.com/log").unwrap();
        let again = SignerKey::parse(&k.to_private_string()).unwrap();
        assert_eq!(again.verifier(), k.verifier());
        let shown = format!("{k:?}");
        let secret = BASE64.encode([&[ALG_ED25519][..], k.key.as_bytes()].concat());
        assert!(!shown.contains(&secret), "{shown}");
        assert!(shown.contains(&k.verifier().to_string()), "{shown}");
        assert!(k.sign("no newline").is_err());
        assert!(k.sign("bell\u{7}\n").is_err());
    }
}
