//! The content digest of a skill directory.
//!
//! A signature must cover every file of a skill, not only its manifest: a signed manifest that
//! points at an unsigned script would sign nothing. The digest is SHA-256 over a canonical
//! listing of the directory:
//!
//! ```text
//! "aegisclaw-skill-digest-v1\0"
//! for each entry, sorted by the bytes of its relative path ('/'-separated):
//!   kind         1 byte: 'D' directory, 'F' file
//!   path length  4 bytes, big-endian
//!   path         the relative path bytes
//!   for files:
//!     executable 1 byte: 1 when any execute bit is set, else 0
//!     size       8 bytes, big-endian
//!     content    32 bytes: SHA-256 of the file
//! ```
//!
//! Every field has a fixed width or a length prefix, so two different directories cannot encode
//! to the same bytes. Symbolic links, devices, sockets and FIFOs are refused: a skill is plain
//! files. The signature files themselves ([`SIGNATURE_FILES`]) at the top level are left out so
//! a signature can travel inside the directory it signs.

use std::fmt;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Top-level files that hold signatures and are not covered by the digest.
pub const SIGNATURE_FILES: [&str; 2] = ["skill.sig", "skill.minisig"];

const DOMAIN: &[u8] = b"aegisclaw-skill-digest-v1\0";

/// The digest of a skill directory, shown as `sha256:<64 hex digits>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SkillDigest([u8; 32]);

impl SkillDigest {
    /// Hashes the directory at `dir` as described in the module documentation.
    pub fn of_dir(dir: &Path) -> Result<Self> {
        let mut entries = Vec::new();
        collect(dir, Path::new(""), &mut entries)?;
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut hasher = Sha256::new();
        hasher.update(DOMAIN);
        for (rel, entry) in entries {
            let path = rel.as_bytes();
            let len = u32::try_from(path.len()).map_err(|_| Error::Unsupported {
                path: dir.join(&rel),
                reason: "path too long".into(),
            })?;
            match entry {
                Entry::Dir => {
                    hasher.update(b"D");
                    hasher.update(len.to_be_bytes());
                    hasher.update(path);
                }
                Entry::File {
                    executable,
                    size,
                    sha256,
                } => {
                    hasher.update(b"F");
                    hasher.update(len.to_be_bytes());
                    hasher.update(path);
                    hasher.update([u8::from(executable)]);
                    hasher.update(size.to_be_bytes());
                    hasher.update(sha256);
                }
            }
        }
        Ok(Self(hasher.finalize().into()))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The bytes a signer signs: the text form and a newline (so that
    /// `aegisclaw skill digest DIR > blob` produces exactly the blob for `cosign sign-blob`).
    pub fn signed_blob(&self) -> Vec<u8> {
        format!("{self}\n").into_bytes()
    }
}

impl fmt::Display for SkillDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for SkillDigest {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| format!("expected sha256:<hex>, got {s:?}"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("expected 64 hex digits after sha256:, got {s:?}"));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        Ok(Self(out))
    }
}

impl serde::Serialize for SkillDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

enum Entry {
    Dir,
    File {
        executable: bool,
        size: u64,
        sha256: [u8; 32],
    },
}

fn collect(root: &Path, rel: &Path, out: &mut Vec<(String, Entry)>) -> Result<()> {
    let dir = root.join(rel);
    let listing = fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, e))?;
    for item in listing {
        let item = item.map_err(|e| Error::io("list", &dir, e))?;
        let name = item.file_name();
        let rel_path: PathBuf = rel.join(&name);
        let rel_str = rel_path
            .to_str()
            .ok_or_else(|| Error::Unsupported {
                path: item.path(),
                reason: "file name is not UTF-8".into(),
            })?
            .to_string();
        if rel.as_os_str().is_empty() && SIGNATURE_FILES.iter().any(|s| name == *s) {
            continue;
        }
        // symlink_metadata: a link is judged as a link, never followed.
        let meta =
            fs::symlink_metadata(item.path()).map_err(|e| Error::io("inspect", item.path(), e))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            out.push((rel_str, Entry::Dir));
            collect(root, &rel_path, out)?;
        } else if kind.is_file() {
            let (size, sha256) = hash_file(&item.path())?;
            out.push((
                rel_str,
                Entry::File {
                    executable: meta.permissions().mode() & 0o111 != 0,
                    size,
                    sha256,
                },
            ));
        } else {
            let what = if kind.is_symlink() {
                "a symbolic link"
            } else {
                "a special file"
            };
            return Err(Error::Unsupported {
                path: item.path(),
                reason: format!(
                    "is {what}; a skill may only contain regular files and directories"
                ),
            });
        }
    }
    Ok(())
}

fn hash_file(path: &Path) -> Result<(u64, [u8; 32])> {
    let mut file = fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hasher.finalize().into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("skill.yaml"), "name: x\n").unwrap();
        fs::create_dir(dir.path().join("bin")).unwrap();
        fs::write(dir.path().join("bin/run.sh"), "echo hi\n").unwrap();
        dir
    }

    #[test]
    fn digest_is_stable_and_round_trips() {
        let dir = skill();
        let a = SkillDigest::of_dir(dir.path()).unwrap();
        let b = SkillDigest::of_dir(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string().parse::<SkillDigest>().unwrap(), a);
        assert_eq!(a.signed_blob(), format!("{a}\n").into_bytes());
    }

    #[test]
    fn every_kind_of_change_changes_the_digest() {
        let dir = skill();
        let base = SkillDigest::of_dir(dir.path()).unwrap();
        let changes: [fn(&Path); 6] = [
            |d| fs::write(d.join("bin/run.sh"), "echo HI\n").unwrap(),
            |d| fs::write(d.join("extra.txt"), "").unwrap(),
            |d| fs::create_dir(d.join("empty")).unwrap(),
            |d| fs::rename(d.join("bin/run.sh"), d.join("bin/run2.sh")).unwrap(),
            |d| {
                fs::set_permissions(d.join("bin/run.sh"), fs::Permissions::from_mode(0o755))
                    .unwrap()
            },
            |d| fs::remove_file(d.join("bin/run.sh")).unwrap(),
        ];
        for (i, change) in changes.iter().enumerate() {
            let dir = skill();
            change(dir.path());
            assert_ne!(
                SkillDigest::of_dir(dir.path()).unwrap(),
                base,
                "change {i} went unnoticed"
            );
        }
    }

    #[test]
    fn signature_files_are_not_covered() {
        let dir = skill();
        let base = SkillDigest::of_dir(dir.path()).unwrap();
        fs::write(dir.path().join("skill.sig"), "sig").unwrap();
        fs::write(dir.path().join("skill.minisig"), "sig").unwrap();
        assert_eq!(SkillDigest::of_dir(dir.path()).unwrap(), base);
        // ... but only at the top level.
        fs::write(dir.path().join("bin/skill.sig"), "sig").unwrap();
        assert_ne!(SkillDigest::of_dir(dir.path()).unwrap(), base);
    }

    #[test]
    fn symlinks_are_refused() {
        let dir = skill();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let e = SkillDigest::of_dir(dir.path()).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
    }

    #[test]
    fn path_boundaries_are_unambiguous() {
        // "a/bc" vs "ab/c": same bytes concatenated, different trees.
        let one = tempfile::tempdir().unwrap();
        fs::create_dir(one.path().join("a")).unwrap();
        fs::write(one.path().join("a/bc"), "x").unwrap();
        let two = tempfile::tempdir().unwrap();
        fs::create_dir(two.path().join("ab")).unwrap();
        fs::write(two.path().join("ab/c"), "x").unwrap();
        assert_ne!(
            SkillDigest::of_dir(one.path()).unwrap(),
            SkillDigest::of_dir(two.path()).unwrap()
        );
    }

    #[test]
    fn bad_digest_text_is_rejected() {
        for bad in [
            "",
            "sha256:",
            "md5:00",
            &format!("sha256:{}", "g".repeat(64)),
        ] {
            assert!(bad.parse::<SkillDigest>().is_err(), "{bad}");
        }
    }
}
