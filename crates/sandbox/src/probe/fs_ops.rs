//! Filesystem attacks: reading, writing, linking, renaming, set-uid copies, filling disks.

use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use super::emit;

const MARKER: &[u8] = b"aegisclaw-probe-was-here\n";
/// Files larger than this are not read whole.
const READ_LIMIT: u64 = 256 * 1024;

fn pair(value: &str) -> (&str, &str) {
    value.split_once('>').unwrap_or((value, ""))
}

fn text(e: std::io::Error) -> String {
    e.to_string()
}

pub(super) fn run(op: &str, value: &str) -> bool {
    match op {
        "read" => emit(op, value, read(Path::new(value))),
        "walk" => walk(Path::new(value), 0),
        "create" => emit(
            op,
            value,
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(value)
                .and_then(|mut f| f.write_all(MARKER))
                .map(|()| "created".into())
                .map_err(text),
        ),
        "append" => emit(
            op,
            value,
            std::fs::OpenOptions::new()
                .append(true)
                .open(value)
                .and_then(|mut f| f.write_all(MARKER))
                .map(|()| "appended".into())
                .map_err(text),
        ),
        "truncate" => emit(
            op,
            value,
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(value)
                .map(|_| "truncated".into())
                .map_err(text),
        ),
        "mkdir" => emit(
            op,
            value,
            std::fs::create_dir_all(value)
                .map(|()| "made".into())
                .map_err(text),
        ),
        "unlink" => emit(
            op,
            value,
            std::fs::remove_file(value)
                .or_else(|_| std::fs::remove_dir_all(value))
                .map(|()| "removed".into())
                .map_err(text),
        ),
        "symlink" => {
            let (link, target) = pair(value);
            emit(
                op,
                value,
                std::os::unix::fs::symlink(target, link)
                    .map(|()| "linked".into())
                    .map_err(text),
            );
        }
        "hardlink" => {
            let (link, target) = pair(value);
            emit(
                op,
                value,
                std::fs::hard_link(target, link)
                    .map(|()| "linked".into())
                    .map_err(text),
            );
        }
        "rename" => {
            let (from, to) = pair(value);
            emit(
                op,
                value,
                std::fs::rename(from, to)
                    .map(|()| "renamed".into())
                    .map_err(text),
            );
        }
        "chmod" => {
            let (path, mode) = pair(value);
            let mode = u32::from_str_radix(mode, 8).unwrap_or(0o777);
            emit(
                op,
                value,
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .map(|()| format!("mode {mode:o}"))
                    .map_err(text),
            );
        }
        "stat" => emit(
            op,
            value,
            std::fs::symlink_metadata(value)
                .map(|m| format!("mode {:o} len {}", m.permissions().mode(), m.len()))
                .map_err(text),
        ),
        "exec" => {
            let mut parts = value.split(' ');
            let program = parts.next().unwrap_or_default();
            emit(
                op,
                value,
                Command::new(program)
                    .args(parts)
                    .output()
                    .map(|o| {
                        format!(
                            "{} stdout={:?} stderr={:?}",
                            o.status,
                            String::from_utf8_lossy(&o.stdout).trim(),
                            String::from_utf8_lossy(&o.stderr).trim()
                        )
                    })
                    .map_err(text),
            );
        }
        "suid" => suid(value),
        "fill" => fill(value),
        _ => return false,
    }
    true
}

fn read(path: &Path) -> Result<String, String> {
    let mut f = std::fs::File::open(path).map_err(text)?;
    let mut buf = Vec::new();
    Read::by_ref(&mut f)
        .take(READ_LIMIT)
        .read_to_end(&mut buf)
        .map_err(text)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Reads every small file under `dir` (not /proc, /sys, /dev, /usr).
fn walk(dir: &Path, depth: u32) {
    if depth > 12
        || ["/proc", "/sys", "/dev", "/usr"]
            .iter()
            .any(|p| dir == Path::new(p))
    {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            emit("walk", &dir.display().to_string(), Err(e.to_string()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, depth + 1);
        } else if meta.is_file() && meta.len() <= READ_LIMIT {
            emit("read", &path.display().to_string(), read(&path));
        }
    }
}

/// Copies `src` to `dst`, sets the set-uid bit, runs it, and reports the uid it ran as.
fn suid(value: &str) {
    let (src, dst) = pair(value);
    let copied = std::fs::copy(src, dst)
        .map(|n| format!("copied {n} bytes"))
        .map_err(text);
    emit("suid-copy", value, copied);
    let chmod = std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o4755))
        .map(|()| "set-uid bit set".into())
        .map_err(text);
    emit("suid-chmod", dst, chmod);
    // Creating it set-uid from the start is the other way in.
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o4755)
        .open(format!("{dst}-created"))
        .map(|_| "created with mode 4755".into())
        .map_err(text);
    emit("suid-create", dst, created);
    let ran = Command::new(dst)
        .args(["-p", "-c", "id -u; id -g"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().replace('\n', " "))
        .map_err(text);
    emit("suid-exec", dst, ran);
}

/// `DIR>N`: writes files of ever more data into DIR until the kernel refuses (at most N files).
fn fill(value: &str) {
    let (dir, count) = pair(value);
    let count: u32 = count.parse().unwrap_or(1);
    // A file-size limit raises SIGXFSZ; as an attacker we would rather see EFBIG and go on.
    // SAFETY: ignoring a signal installs no handler code.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let chunk = vec![0x5au8; 1024 * 1024];
    for i in 0..count {
        let path = Path::new(dir).join(format!("fill-{i}"));
        let mut written: u64 = 0;
        let result = std::fs::File::create(&path)
            .map_err(text)
            .and_then(|mut f| {
                loop {
                    match f.write(&chunk) {
                        Ok(0) => return Ok(written),
                        Ok(n) => written += n as u64,
                        Err(e) => return Err(format!("{e} after {written} bytes")),
                    }
                    if written > 64 * 1024 * 1024 * 1024 {
                        return Ok(written);
                    }
                }
            });
        emit(
            "fill",
            &path.display().to_string(),
            result.map(|n| format!("{n} bytes")),
        );
    }
}
