//! Signing skills and verifying their signatures against the trust store.
//!
//! The signed message is [`SkillDigest::signed_blob`]: the digest's text and a newline. A skill
//! directory carries its signatures beside its files: `skill.sig` (cosign-style ECDSA P-256,
//! base64 DER) and/or `skill.minisig` (a minisign signature file). Because the digest covers
//! every file, changing any file after signing makes verification fail.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, write_atomic};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use serde::{Deserialize, Serialize};

use crate::digest::SkillDigest;
use crate::error::{Error, Result};
use crate::trust::{PublicKey, Scheme, TrustStore, minisign_key_id};

const COSIGN_FILE: &str = "skill.sig";
const MINISIGN_FILE: &str = "skill.minisig";

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum SignatureStatus {
    /// No signature file.
    Unsigned,
    /// A trusted key's signature matches the current contents.
    Verified { signer: String, scheme: Scheme },
    /// Signatures exist but none verifies with a trusted key: an unknown signer, or files that
    /// changed after signing.
    Invalid { reason: String },
}

impl SignatureStatus {
    pub fn is_verified(&self) -> bool {
        matches!(self, Self::Verified { .. })
    }

    /// The signer's trust-store name when verified.
    pub fn signer(&self) -> Option<&str> {
        match self {
            Self::Verified { signer, .. } => Some(signer),
            _ => None,
        }
    }
}

/// Verifies the signatures carried in `dir` against `digest` (which the caller computed from the
/// same directory) and the trusted keys.
pub fn verify(dir: &Path, digest: &SkillDigest, trust: &TrustStore) -> Result<SignatureStatus> {
    let blob = digest.signed_blob();
    let mut problems = Vec::new();
    let mut present = false;

    let cosign_path = dir.join(COSIGN_FILE);
    if let Some(text) = read_optional(&cosign_path)? {
        present = true;
        let signature = BASE64
            .decode(text.split_whitespace().collect::<String>())
            .ok()
            .and_then(|der| p256::ecdsa::Signature::from_der(&der).ok())
            .ok_or_else(|| Error::BadSignature {
                path: cosign_path.clone(),
                reason: "expected base64 of a DER ECDSA P-256 signature (cosign sign-blob output)"
                    .into(),
            })?;
        for key in trust.keys() {
            if let PublicKey::Ecdsa(vk) = &key.key
                && vk.verify(&blob, &signature).is_ok()
            {
                return Ok(SignatureStatus::Verified {
                    signer: key.name.clone(),
                    scheme: Scheme::CosignEcdsaP256,
                });
            }
        }
        problems.push(format!(
            "{COSIGN_FILE}: no trusted ECDSA key verifies it (an unknown signer, or files changed after signing)"
        ));
    }

    let minisign_path = dir.join(MINISIGN_FILE);
    if let Some(text) = read_optional(&minisign_path)? {
        present = true;
        let sig = minisign::SignatureBox::from_string(&text).map_err(|e| Error::BadSignature {
            path: minisign_path.clone(),
            reason: e.to_string(),
        })?;
        let key_id = minisign_key_id(sig.keynum());
        let signer = trust.keys().iter().find_map(|k| match &k.key {
            PublicKey::Minisign(pk) if pk.keynum() == sig.keynum() => Some((k, pk)),
            _ => None,
        });
        match signer {
            Some((key, pk)) => match minisign::verify(pk, &sig, Cursor::new(&blob), true, false, false) {
                Ok(()) => {
                    return Ok(SignatureStatus::Verified { signer: key.name.clone(), scheme: Scheme::Minisign });
                }
                Err(e) => problems.push(format!(
                    "{MINISIGN_FILE}: signed by trusted key {} ({key_id}) but does not match the files: {e}; \
                     the skill changed after signing",
                    key.name
                )),
            },
            None => problems.push(format!("{MINISIGN_FILE}: signed by key {key_id}, which is not in the trust store")),
        }
    }

    Ok(if present {
        SignatureStatus::Invalid {
            reason: problems.join("; "),
        }
    } else {
        SignatureStatus::Unsigned
    })
}

/// Signs the skill in `dir` with the private key in `key_file` and writes the signature into
/// the directory. ECDSA P-256 keys (PKCS#8 or SEC1 PEM) write `skill.sig`; minisign secret keys
/// write `skill.minisig` (`password` decrypts an encrypted one).
pub fn sign(dir: &Path, key_file: &Path, password: Option<String>) -> Result<(Scheme, PathBuf)> {
    let digest = SkillDigest::of_dir(dir)?;
    let blob = digest.signed_blob();
    let text = std::fs::read_to_string(key_file).map_err(|e| Error::io("read", key_file, e))?;
    let bad_key = |reason: String| Error::BadKey {
        path: key_file.to_path_buf(),
        reason,
    };
    if text.contains("-----BEGIN") {
        let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&text)
            .ok()
            .or_else(|| {
                p256::SecretKey::from_sec1_pem(&text)
                    .ok()
                    .map(p256::ecdsa::SigningKey::from)
            })
            .ok_or_else(|| {
                bad_key("not an unencrypted ECDSA P-256 private key (PKCS#8 or SEC1 PEM)".into())
            })?;
        let signature: p256::ecdsa::Signature = key.sign(&blob);
        let path = dir.join(COSIGN_FILE);
        let encoded = format!("{}\n", BASE64.encode(signature.to_der().as_bytes()));
        write_atomic(&path, encoded.as_bytes(), 0o644)?;
        return Ok((Scheme::CosignEcdsaP256, path));
    }
    // The second line of a minisign secret key file is the base64 key; bytes 2..4 name the
    // key derivation (zero: unencrypted). Reading the bytes directly also accepts the unencrypted
    // keys of minisign 0.11 (`minisign -G -W`), which leave the checksum field zero.
    let encoded = text.lines().nth(1).map(str::trim).unwrap_or_default();
    let raw = BASE64
        .decode(encoded)
        .map_err(|_| bad_key("neither a PEM private key nor a minisign secret key".into()))?;
    let secret = if raw.get(2..4) == Some(&[0, 0][..]) {
        minisign::SecretKey::from_bytes(&raw).map_err(|e| bad_key(e.to_string()))?
    } else {
        let password = password.ok_or_else(|| {
            bad_key("the minisign key is encrypted and no password was given".into())
        })?;
        let boxed =
            minisign::SecretKeyBox::from_string(&text).map_err(|e| bad_key(e.to_string()))?;
        minisign::SecretKey::from_box(boxed, Some(password))
            .map_err(|e| bad_key(format!("cannot decrypt: {e}")))?
    };
    let signature = minisign::sign(
        None,
        &secret,
        Cursor::new(&blob),
        Some(&format!("aegisclaw skill {digest}")),
        None,
    )
    .map_err(|e| bad_key(format!("cannot sign: {e}")))?;
    let path = dir.join(MINISIGN_FILE);
    write_atomic(&path, signature.to_string().as_bytes(), 0o644)?;
    Ok((Scheme::Minisign, path))
}

/// Creates a signing key pair: `<prefix>.key` (0600) and `<prefix>.pub`.
pub fn generate_key_pair(prefix: &Path, scheme: Scheme) -> Result<(PathBuf, PathBuf)> {
    let with_ext = |ext: &str| {
        let mut name = prefix.as_os_str().to_owned();
        name.push(format!(".{ext}"));
        PathBuf::from(name)
    };
    let (secret_path, public_path) = (with_ext("key"), with_ext("pub"));
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(Error::io(
                "refuse to overwrite",
                path,
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
    }
    let bad = |reason: String| Error::BadKey {
        path: secret_path.clone(),
        reason,
    };
    let (secret, public) = match scheme {
        Scheme::CosignEcdsaP256 => {
            let key = loop {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(|e| bad(e.to_string()))?;
                if let Ok(key) = p256::ecdsa::SigningKey::from_bytes(&bytes.into()) {
                    break key;
                }
            };
            let secret = key
                .to_pkcs8_pem(Default::default())
                .map_err(|e| bad(e.to_string()))?
                .to_string();
            let public = key
                .verifying_key()
                .to_public_key_pem(Default::default())
                .map_err(|e| bad(e.to_string()))?;
            (secret, public)
        }
        Scheme::Minisign => {
            let pair = minisign::KeyPair::generate_unencrypted_keypair()
                .map_err(|e| bad(e.to_string()))?;
            let secret = pair
                .sk
                .to_box(None)
                .map_err(|e| bad(e.to_string()))?
                .into_string();
            let public = pair
                .pk
                .to_box()
                .map_err(|e| bad(e.to_string()))?
                .into_string();
            (secret, public)
        }
    };
    write_atomic(&secret_path, secret.as_bytes(), PRIVATE_FILE_MODE)?;
    write_atomic(&public_path, public.as_bytes(), 0o644)?;
    Ok((secret_path, public_path))
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
