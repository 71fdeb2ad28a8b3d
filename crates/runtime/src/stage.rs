//! The copy of a skill a run executes.
//!
//! Installed skills live in the home, which no sandbox may see. Each run gets its own copy in
//! a private temporary directory, and the copy (not the installed original) is hashed again
//! before it runs: what executes is exactly what was verified, even if the original changes
//! between the check and the run.

use std::fs;
use std::path::Path;

use aegisclaw_skills::SkillDigest;
use tempfile::TempDir;

use crate::error::{Error, Result};

/// Copies the skill directory `src` into a new private directory and checks that the copy's
/// digest is `expected`. The directory is removed when the returned value is dropped.
pub(crate) fn stage(src: &Path, expected: &str) -> Result<TempDir> {
    let tmp = std::env::temp_dir();
    let dir = tempfile::Builder::new()
        .prefix("aegisclaw-run-")
        .tempdir_in(&tmp)
        .map_err(|e| Error::io("create a staging directory in", &tmp, e))?;
    copy_tree(src, dir.path())?;
    let found = SkillDigest::of_dir(dir.path())?.to_string();
    if found != expected {
        return Err(Error::StagedCopyChanged {
            expected: expected.to_string(),
            found,
        });
    }
    Ok(dir)
}

/// Plain files and directories only (the digest refuses anything else, so a link slipped in
/// between install and run fails the check above rather than being followed here).
fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let entries = fs::read_dir(src).map_err(|e| Error::io("read", src, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read", src, e))?;
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("inspect", &entry.path(), e))?;
        let to = dst.join(entry.file_name());
        if kind.is_dir() {
            fs::create_dir(&to).map_err(|e| Error::io("create", &to, e))?;
            copy_tree(&entry.path(), &to)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &to).map_err(|e| Error::io("copy to", &to, e))?;
        } else {
            return Err(Error::Unsupported(format!(
                "{} is neither a file nor a directory; a skill is plain files",
                entry.path().display()
            )));
        }
    }
    Ok(())
}
