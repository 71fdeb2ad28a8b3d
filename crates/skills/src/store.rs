//! Installed skills, kept in the home's `skills/` directory.
//!
//! ```text
//! skills/<name>/content/       a copy of the skill directory
//! skills/<name>/install.json   digest, signature status and signer at install, source, time
//! skills/.lock                 serialises installs and removals between processes
//! ```
//!
//! An install is built in a temporary directory beside the others and renamed into place, so
//! a crash never leaves half a skill. Loading an installed skill recomputes its digest and its
//! signature: a copy changed after install, or a signature that no longer verifies, refuses to
//! load.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, ensure_private_dir, sync_dir, write_atomic};
use serde::{Deserialize, Serialize};

use crate::digest::SkillDigest;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::signature::{SignatureStatus, verify};
use crate::trust::TrustStore;

const CONTENT: &str = "content";
const RECORD: &str = "install.json";

/// What was recorded when a skill was installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRecord {
    pub name: String,
    pub version: String,
    pub digest: String,
    pub signature: SignatureStatus,
    pub source: PathBuf,
    #[serde(with = "humantime_serde")]
    pub installed_at: SystemTime,
}

/// An installed skill, verified as it was loaded.
#[derive(Debug, Clone)]
pub struct InstalledSkill {
    pub manifest: Manifest,
    pub record: InstallRecord,
    /// The skill's files (mount this read-only in the sandbox).
    pub dir: PathBuf,
    pub digest: SkillDigest,
    /// The signature status now (the trust store may have changed since install).
    pub signature: SignatureStatus,
}

/// The `skills/` directory of a home.
#[derive(Debug, Clone)]
pub struct SkillStore {
    root: PathBuf,
}

impl SkillStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Installs the skill at `source`. Refuses a skill whose manifest is invalid, that carries a
    /// signature that does not verify (changed after signing, or an untrusted signer), or that
    /// is already installed (unless `replace`).
    pub fn install(
        &self,
        source: &Path,
        trust: &TrustStore,
        custom_scopes: &[&str],
        replace: bool,
    ) -> Result<InstalledSkill> {
        let manifest = Manifest::load(source, custom_scopes).map_err(Error::Manifest)?;
        let digest = SkillDigest::of_dir(source)?;
        let signature = verify(source, &digest, trust)?;
        if let SignatureStatus::Invalid { reason } = &signature {
            return Err(Error::SignatureRejected {
                name: manifest.name,
                reason: reason.clone(),
            });
        }
        ensure_private_dir(&self.root)?;
        let _lock = self.lock()?;
        let target = self.root.join(&manifest.name);
        if target.exists() && !replace {
            return Err(Error::AlreadyInstalled(manifest.name));
        }
        let staging = tempfile::Builder::new()
            .prefix(".install-")
            .tempdir_in(&self.root)
            .map_err(|e| Error::io("create a staging directory in", &self.root, e))?;
        let content = staging.path().join(CONTENT);
        copy_tree(source, &content)?;
        // Copying must not change a byte: check before anything becomes visible.
        let copied = SkillDigest::of_dir(&content)?;
        if copied != digest {
            return Err(Error::Unsupported {
                path: source.to_path_buf(),
                reason: "the skill changed while it was being installed; try again".into(),
            });
        }
        let record = InstallRecord {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            digest: digest.to_string(),
            signature: signature.clone(),
            source: fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf()),
            installed_at: SystemTime::now(),
        };
        let json = serde_json::to_vec_pretty(&record).map_err(|e| Error::Unsupported {
            path: target.clone(),
            reason: format!("cannot encode the install record: {e}"),
        })?;
        write_atomic(&staging.path().join(RECORD), &json, PRIVATE_FILE_MODE)?;
        let staged = staging.keep();
        if target.exists() {
            let old = self
                .root
                .join(format!(".removed-{}-{}", manifest.name, std::process::id()));
            fs::rename(&target, &old).map_err(|e| Error::io("move aside", &target, e))?;
            fs::rename(&staged, &target).map_err(|e| Error::io("install into", &target, e))?;
            fs::remove_dir_all(&old).map_err(|e| Error::io("remove the previous copy", &old, e))?;
        } else {
            fs::rename(&staged, &target).map_err(|e| Error::io("install into", &target, e))?;
        }
        sync_dir(&self.root)?;
        Ok(InstalledSkill {
            manifest,
            record,
            dir: target.join(CONTENT),
            digest,
            signature,
        })
    }

    /// Loads an installed skill, re-checking its digest against the install record and its
    /// signature against the trust store as it is now.
    pub fn load(
        &self,
        name: &str,
        trust: &TrustStore,
        custom_scopes: &[&str],
    ) -> Result<InstalledSkill> {
        let base = self.skill_dir(name)?;
        let record = read_record(&base)?;
        let dir = base.join(CONTENT);
        let digest = SkillDigest::of_dir(&dir)?;
        if digest.to_string() != record.digest {
            return Err(Error::Tampered {
                name: name.into(),
                expected: record.digest,
                found: digest.to_string(),
            });
        }
        let signature = verify(&dir, &digest, trust)?;
        if let SignatureStatus::Invalid { reason } = &signature {
            return Err(Error::SignatureRejected {
                name: name.into(),
                reason: reason.clone(),
            });
        }
        let manifest = Manifest::load(&dir, custom_scopes).map_err(Error::Manifest)?;
        Ok(InstalledSkill {
            manifest,
            record,
            dir,
            digest,
            signature,
        })
    }

    /// The install records of every installed skill, by name.
    pub fn list(&self) -> Result<Vec<InstallRecord>> {
        let mut records = Vec::new();
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(records),
            Err(e) => return Err(Error::io("list", &self.root, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("list", &self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            records.push(read_record(&entry.path())?);
        }
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records)
    }

    /// Uninstalls a skill.
    pub fn remove(&self, name: &str) -> Result<InstallRecord> {
        let _lock = self.lock()?;
        let base = self.skill_dir(name)?;
        let record = read_record(&base)?;
        let doomed = self
            .root
            .join(format!(".removed-{name}-{}", std::process::id()));
        fs::rename(&base, &doomed).map_err(|e| Error::io("remove", &base, e))?;
        sync_dir(&self.root)?;
        fs::remove_dir_all(&doomed).map_err(|e| Error::io("remove", &doomed, e))?;
        Ok(record)
    }

    fn skill_dir(&self, name: &str) -> Result<PathBuf> {
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let dir = self.root.join(name);
        if !valid || !dir.join(RECORD).exists() {
            return Err(Error::NotInstalled(name.into()));
        }
        Ok(dir)
    }

    fn lock(&self) -> Result<fs::File> {
        let path = self.root.join(".lock");
        let file = aegisclaw_core::fs::open_private_append(&path)?;
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        Ok(file)
    }
}

fn read_record(base: &Path) -> Result<InstallRecord> {
    let path = base.join(RECORD);
    let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Unsupported {
        path,
        reason: format!("corrupt install record: {e}"),
    })
}

/// Copies a tree of regular files and directories (the only things a skill may contain; the
/// digest has already refused anything else), keeping the executable bits.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir(to).map_err(|e| Error::io("create", to, e))?;
    for entry in fs::read_dir(from).map_err(|e| Error::io("list", from, e))? {
        let entry = entry.map_err(|e| Error::io("list", from, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("inspect", entry.path(), e))?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &dest).map_err(|e| Error::io("copy", entry.path(), e))?;
            fs::File::open(&dest)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io("fsync", &dest, e))?;
        } else {
            return Err(Error::Unsupported {
                path: entry.path(),
                reason: "a skill may only contain regular files and directories".into(),
            });
        }
    }
    Ok(sync_dir(to)?)
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
