//! The trust store: public keys allowed to sign skills, kept in the home's `trust/` directory.
//!
//! Two kinds of keys are understood:
//! - ECDSA P-256 public keys as PEM (`-----BEGIN PUBLIC KEY-----`), as made by
//!   `cosign generate-key-pair` (`cosign.pub`) or `openssl ec -pubout`; stored as `NAME.pem`;
//! - minisign Ed25519 public keys (`minisign -G`'s `.pub` file, or its one-line base64 form);
//!   stored as `NAME.pub`.

use std::fmt;
use std::path::{Path, PathBuf};

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, ensure_private_dir, write_atomic};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// ECDSA P-256 over SHA-256, DER, base64: what `cosign sign-blob --key` produces.
    CosignEcdsaP256,
    /// minisign (Ed25519 over the BLAKE2b-512 prehash).
    Minisign,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CosignEcdsaP256 => "cosign-ecdsa-p256",
            Self::Minisign => "minisign",
        })
    }
}

#[derive(Clone)]
pub(crate) enum PublicKey {
    Ecdsa(p256::ecdsa::VerifyingKey),
    Minisign(minisign::PublicKey),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ecdsa(_) => "PublicKey::Ecdsa",
            Self::Minisign(_) => "PublicKey::Minisign",
        })
    }
}

/// A key in the trust store.
#[derive(Debug, Clone, Serialize)]
pub struct TrustedKey {
    pub name: String,
    pub scheme: Scheme,
    /// `sha256:` of the DER public key (ECDSA) or the minisign key id.
    pub fingerprint: String,
    #[serde(skip)]
    pub(crate) key: PublicKey,
    #[serde(skip)]
    file: PathBuf,
}

/// The trusted signers.
#[derive(Debug)]
pub struct TrustStore {
    dir: PathBuf,
    keys: Vec<TrustedKey>,
}

impl TrustStore {
    /// Loads every key in `dir` (an absent directory is an empty store). A file that is not a
    /// key is an error naming it: a broken trust store must not silently trust less or more.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut keys = Vec::new();
        if dir.exists() {
            let listing = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
            for entry in listing {
                let path = entry.map_err(|e| Error::io("list", dir, e))?.path();
                let (Some(stem), Some(ext)) = (path.file_stem(), path.extension()) else {
                    continue;
                };
                if ext != "pem" && ext != "pub" {
                    continue;
                }
                let text =
                    std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
                let key = parse_public_key(&text).map_err(|reason| Error::BadKey {
                    path: path.clone(),
                    reason,
                })?;
                keys.push(TrustedKey {
                    name: stem.to_string_lossy().into_owned(),
                    scheme: key.scheme(),
                    fingerprint: key.fingerprint(),
                    key,
                    file: path,
                });
            }
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            dir: dir.to_path_buf(),
            keys,
        })
    }

    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Trusts the public key in `file` under `name` (default: the file's stem).
    pub fn add(&mut self, file: &Path, name: Option<&str>) -> Result<TrustedKey> {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io("read", file, e))?;
        let key = parse_public_key(&text).map_err(|reason| Error::BadKey {
            path: file.to_path_buf(),
            reason,
        })?;
        let name = match name {
            Some(n) => n.to_string(),
            None => file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            || name.starts_with('.')
        {
            return Err(Error::BadName(name));
        }
        if self.keys.iter().any(|k| k.name == name) {
            return Err(Error::DuplicateKey(name));
        }
        ensure_private_dir(&self.dir)?;
        let (ext, stored) = match &key {
            PublicKey::Ecdsa(vk) => (
                "pem",
                vk.to_public_key_pem(Default::default())
                    .map_err(|e| Error::BadKey {
                        path: file.to_path_buf(),
                        reason: e.to_string(),
                    })?,
            ),
            // The original text keeps the signer's comment line.
            PublicKey::Minisign(_) => ("pub", text),
        };
        let path = self.dir.join(format!("{name}.{ext}"));
        write_atomic(&path, stored.as_bytes(), PRIVATE_FILE_MODE)?;
        let trusted = TrustedKey {
            name,
            scheme: key.scheme(),
            fingerprint: key.fingerprint(),
            key,
            file: path,
        };
        self.keys.push(trusted.clone());
        self.keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(trusted)
    }

    /// Stops trusting `name`.
    pub fn remove(&mut self, name: &str) -> Result<TrustedKey> {
        let index = self
            .keys
            .iter()
            .position(|k| k.name == name)
            .ok_or_else(|| Error::UnknownKey(name.into()))?;
        let key = self.keys.remove(index);
        std::fs::remove_file(&key.file).map_err(|e| Error::io("remove", &key.file, e))?;
        Ok(key)
    }
}

impl PublicKey {
    fn scheme(&self) -> Scheme {
        match self {
            Self::Ecdsa(_) => Scheme::CosignEcdsaP256,
            Self::Minisign(_) => Scheme::Minisign,
        }
    }

    fn fingerprint(&self) -> String {
        match self {
            Self::Ecdsa(vk) => {
                let der = vk
                    .to_public_key_der()
                    .map(|d| d.as_bytes().to_vec())
                    .unwrap_or_default();
                let hash = Sha256::digest(&der);
                format!(
                    "sha256:{}",
                    hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
                )
            }
            Self::Minisign(pk) => minisign_key_id(pk.keynum()),
        }
    }
}

/// minisign shows key ids as the little-endian u64 in upper-case hex.
pub(crate) fn minisign_key_id(keynum: &[u8]) -> String {
    keynum.iter().rev().map(|b| format!("{b:02X}")).collect()
}

/// Parses an ECDSA P-256 PEM public key or a minisign public key.
pub(crate) fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    if text.contains("-----BEGIN PUBLIC KEY-----") {
        return p256::ecdsa::VerifyingKey::from_public_key_pem(text.trim())
            .map(PublicKey::Ecdsa)
            .map_err(|e| format!("not an ECDSA P-256 public key ({e}); only P-256 is supported"));
    }
    if text.contains("PRIVATE KEY") || text.contains("secret key") {
        return Err("this is a private key; trust the public half instead".into());
    }
    let line = if text.contains("untrusted comment:") {
        text.lines().nth(1).unwrap_or_default()
    } else {
        text.trim()
    };
    minisign::PublicKey::from_base64(line.trim())
        .map(PublicKey::Minisign)
        .map_err(|e| format!("neither a PEM public key nor a minisign public key ({e})"))
}
