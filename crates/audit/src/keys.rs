//! The log's signing key: `keys/audit-log.key` (0600, secret) and its public half
//! `audit/log.pub`.

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, ensure_private_dir, write_atomic};

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::note::{SignerKey, VerifierKey};

/// Where the key that checks checkpoints came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// Given by the caller (`--key`): a copy kept outside the home.
    Given,
    /// Derived from the signing key in `keys/`.
    SigningKey,
    /// Read from `audit/log.pub` (no signing key here).
    PublicFile,
}

/// A fresh log identity: `aegisclaw.local/audit/<16 random hex digits>`.
fn new_origin() -> Result<String> {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| Error::Key {
        path: "(system random source)".into(),
        message: e.to_string(),
    })?;
    Ok(format!("aegisclaw.local/audit/{}", hex::encode(id)))
}

/// Loads the signing key if it exists. A key file that the group or others can read is refused.
pub(crate) fn load_signer(layout: &Layout) -> Result<Option<SignerKey>> {
    let path = layout.signing_key();
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("inspect", &path, e)),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::Key {
            message: format!(
                "mode {mode:o} lets other users read it; run `chmod 600 {}`",
                path.display()
            ),
            path,
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let key = SignerKey::parse(&text).map_err(|e| Error::Key {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok(Some(key))
}

/// Loads the signing key, creating it when this log has none yet. Call with the log's lock
/// held. When checkpoints exist but the key does not, the key was lost: a new one could not
/// vouch for them, so this is an error.
pub(crate) fn load_or_create_signer(layout: &Layout, checkpoints: usize) -> Result<SignerKey> {
    if let Some(key) = load_signer(layout)? {
        if !layout.public_key().exists() {
            write_public(layout, &key)?;
        }
        return Ok(key);
    }
    if checkpoints > 0 {
        return Err(Error::Key {
            path: layout.signing_key(),
            message: format!(
                "missing, but {checkpoints} checkpoints signed by it exist; restore it from a backup, or move {} aside to start a new log",
                layout.audit_dir().display()
            ),
        });
    }
    let key = SignerKey::generate(&new_origin()?).map_err(|e| Error::Key {
        path: layout.signing_key(),
        message: e.to_string(),
    })?;
    ensure_private_dir(layout.keys_dir())?;
    let mut secret = key.to_private_string();
    secret.push('\n');
    write_atomic(&layout.signing_key(), secret.as_bytes(), PRIVATE_FILE_MODE)?;
    write_public(layout, &key)?;
    tracing::info!(key = %key.verifier(), "created the audit log signing key");
    Ok(key)
}

fn write_public(layout: &Layout, key: &SignerKey) -> Result<()> {
    ensure_private_dir(layout.audit_dir())?;
    let line = format!("{}\n", key.verifier());
    write_atomic(&layout.public_key(), line.as_bytes(), PRIVATE_FILE_MODE)?;
    Ok(())
}

/// The public key stored in `audit/log.pub`, if any.
pub(crate) fn load_public_file(layout: &Layout) -> Result<Option<VerifierKey>> {
    let path = layout.public_key();
    match std::fs::read_to_string(&path) {
        Ok(text) => VerifierKey::parse(&text).map(Some).map_err(|e| Error::Key {
            path,
            message: e.to_string(),
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", &path, e)),
    }
}
