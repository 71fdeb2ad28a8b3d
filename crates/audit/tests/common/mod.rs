//! A log in a temporary home, deterministic records, and byte-level access to segment files as
//! `FORMAT.md` describes them (so the tests also check the documented format).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use aegisclaw_audit::{AuditLog, Options, Record, VerifyOptions, VerifyReport};
use aegisclaw_core::Home;

pub(crate) struct TestLog {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) options: Options,
}

impl TestLog {
    pub(crate) fn new() -> Self {
        Self::with(options(1000, 8 << 20))
    }

    pub(crate) fn with(options: Options) -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            options,
        }
    }

    pub(crate) fn home(&self) -> Home {
        Home::at(self.dir.path().join("home"))
    }

    pub(crate) fn home_dir(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub(crate) fn log(&self) -> AuditLog {
        AuditLog::new(&self.home(), self.options.clone())
    }

    pub(crate) fn audit(&self, rel: &str) -> PathBuf {
        self.home_dir().join("audit").join(rel)
    }

    /// Appends records 0..n (as `record(i)`) in batches of `batch`.
    pub(crate) fn fill(&self, n: u64, batch: u64) {
        let mut a = self.log().appender().unwrap();
        let mut i = 0;
        while i < n {
            let end = (i + batch).min(n);
            let records: Vec<Record> = (i..end).map(record).collect();
            assert_eq!(a.append(&records).unwrap(), i..end);
            i = end;
        }
        a.close().unwrap();
    }

    pub(crate) fn verify(&self) -> VerifyReport {
        self.log().verify(&VerifyOptions::default()).unwrap()
    }

    pub(crate) fn segments(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.audit("segments"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .collect();
        v.sort();
        v
    }

    /// The segment holding entry `seq`, and the offset and length of its frame.
    pub(crate) fn locate(&self, seq: u64) -> (PathBuf, usize, usize) {
        let mut n = 0;
        for seg in self.segments() {
            for (off, len) in frames(&seg) {
                if n == seq {
                    return (seg, off, len);
                }
                n += 1;
            }
        }
        panic!("entry {seq} not found");
    }
}

pub(crate) fn options(checkpoint_every: u64, segment_size: u64) -> Options {
    Options {
        checkpoint_every,
        checkpoint_interval: Duration::from_secs(3600),
        segment_size,
    }
}

/// A deterministic record: the same `i` always encodes to the same bytes.
pub(crate) fn record(i: u64) -> Record {
    Record::new(
        format!("actor-{:03}", i % 7),
        "exec",
        if i.is_multiple_of(3) { "deny" } else { "allow" },
    )
    .at(UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i))
    .scope(format!("files.read:/data/{i}"))
    .reason("policy: test")
    .result(format!("result-{i:06}"))
    .session("session-1")
    .attr("i", i.to_string())
}

/// The length of a segment header (FORMAT.md: 50 fixed bytes, 32 per frontier hash, a CRC).
pub(crate) fn header_len(data: &[u8]) -> usize {
    50 + data[49] as usize * 32 + 4
}

/// (offset, length) of every entry frame in a segment file; stops at a seal.
pub(crate) fn frames(path: &Path) -> Vec<(usize, usize)> {
    let data = std::fs::read(path).unwrap();
    let mut pos = header_len(&data);
    let mut out = Vec::new();
    while pos + 4 <= data.len() {
        let len = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        out.push((pos, len + 8));
        pos += len + 8;
    }
    out
}

/// Recomputes the CRC of the frame at `off` (what an attacker who read FORMAT.md would do).
pub(crate) fn fix_crc(data: &mut [u8], off: usize) {
    let len = u32::from_be_bytes(data[off..off + 4].try_into().unwrap()) as usize;
    let crc = crc32fast::hash(&data[off..off + 4 + len]);
    data[off + 4 + len..off + 8 + len].copy_from_slice(&crc.to_be_bytes());
}

/// Copies a directory tree.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The `audit-stress` load generator.
pub(crate) fn stress(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_audit-stress"));
    c.arg("--home").arg(home).env_remove("RUST_LOG");
    c
}

/// The `committed <start> <end>` ranges printed by `audit-stress`.
pub(crate) fn committed(stdout: &str) -> Vec<(u64, u64)> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut p = l.strip_prefix("committed ")?.split(' ');
            Some((p.next()?.parse().ok()?, p.next()?.parse().ok()?))
        })
        .collect()
}

/// Every entry's sequence number and actor.
pub(crate) fn all_entries(log: &AuditLog) -> Vec<aegisclaw_audit::Entry> {
    log.entries(aegisclaw_audit::Filter::default())
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// A child process that is killed (SIGKILL) and reaped when dropped, so that a failing test
/// leaves nothing running.
pub(crate) struct Child(pub(crate) std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads a child's stdout lines on a thread.
pub(crate) fn lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
