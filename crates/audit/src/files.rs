//! File helpers of the writer.

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;

use aegisclaw_core::fs::{PRIVATE_FILE_MODE, write_atomic};

use crate::error::{Error, Result};
use crate::layout::Layout;

/// Writes a checkpoint as `checkpoints/<size>.note` and `checkpoint` with one fsync: a
/// temporary file is written and fsynced, hard-linked to its history name, then renamed over the
/// latest copy. Each name appears complete or not at all. Neither name needs to survive a crash
/// (the entries are durable and the next writer signs again), so the directories are not
/// fsynced.
pub(crate) fn publish(layout: &Layout, history: &std::path::Path, note: &[u8]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let dir = layout.audit_dir();
    let mut tmp = tempfile::Builder::new()
        .prefix(".checkpoint-")
        .permissions(std::fs::Permissions::from_mode(PRIVATE_FILE_MODE))
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    tmp.write_all(note)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", tmp.path(), e))?;
    match std::fs::hard_link(tmp.path(), history) {
        Ok(()) => {}
        // Signed before by a writer that crashed before renaming: same size, same root.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            std::fs::remove_file(history)
                .and_then(|()| std::fs::hard_link(tmp.path(), history))
                .map_err(|e| Error::io("link", history, e))?;
        }
        // A file system without hard links: write the history copy on its own.
        Err(_) => write_atomic(history, note, PRIVATE_FILE_MODE)?,
    }
    let latest = layout.latest_checkpoint();
    tmp.persist(&latest)
        .map_err(|e| Error::io("rename a temporary file to", &latest, e.error))?;
    Ok(())
}

/// Reads as much of `buf` as the file has from `offset`.
pub(crate) fn read_up_to(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
