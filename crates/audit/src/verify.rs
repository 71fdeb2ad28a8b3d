//! `logs verify`: recompute every hash, the chain and the tree, and check them against every
//! signed checkpoint, in one streaming pass.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

use serde::Serialize;

use crate::checkpoint::SignedCheckpoint;
use crate::encoding::decode;
use crate::error::{Error, Result};
use crate::hash::{Hash, leaf_hash};
use crate::keys::{KeySource, load_public_file, load_signer};
use crate::layout::{Layout, parse_checkpoint_name};
use crate::merkle::Frontier;
use crate::note::VerifierKey;
use crate::reader::{SharedLock, list_segments, read_segment};
use crate::segment::{Frame, Header, read_frame};

/// What to check against besides the log's own files.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The public key to check checkpoints with: a copy kept outside the home. Without it the
    /// key in `keys/` (or `audit/log.pub`) is used.
    pub key: Option<VerifierKey>,
    /// Checkpoints kept elsewhere (a label naming each, and the note).
    pub checkpoints: Vec<(String, String)>,
}

/// One thing wrong with the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The first entry concerned, when one can be named.
    pub seq: Option<u64>,
    /// The file (relative to the audit directory) and byte, or the checkpoint.
    pub location: String,
    pub message: String,
}

/// The outcome of [`crate::AuditLog::verify`].
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// No problem found.
    pub ok: bool,
    /// Entries read.
    pub entries: u64,
    pub segments: usize,
    /// The root of the tree over all entries read.
    pub root: Hash,
    /// The key checkpoints were checked with, and where it came from.
    pub key: Option<String>,
    pub key_source: Option<KeySource>,
    /// Signed checkpoints whose root matched the recomputed tree.
    pub checkpoints_verified: usize,
    /// The size of the newest checkpoint (`audit/checkpoint`).
    pub latest_checkpoint: Option<u64>,
    /// Entries after the newest checkpoint: protected by the chain only until the next one.
    pub uncovered_entries: u64,
    /// The lowest entry named by a problem.
    pub first_bad_seq: Option<u64>,
    pub problems: Vec<Problem>,
    /// Facts worth knowing that are not problems.
    pub notices: Vec<String>,
}

/// Stop collecting after this many problems (a damaged log could produce one per entry).
const MAX_PROBLEMS: usize = 1000;

struct Target {
    label: String,
    root: Hash,
}

struct Files {
    segments: Vec<crate::reader::SegmentRef>,
    stored: Vec<(u64, String, String)>,
    latest: Option<String>,
    quarantined: Vec<String>,
}

fn read_files(layout: &Layout) -> Result<Files> {
    let _guard = SharedLock::take(layout)?;
    let segments = list_segments(layout)?;
    let mut stored = Vec::new();
    let dir = layout.checkpoints_dir();
    match std::fs::read_dir(&dir) {
        Ok(listing) => {
            for e in listing {
                let e = e.map_err(|err| Error::io("list", &dir, err))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(size) = parse_checkpoint_name(&name) {
                    let path = e.path();
                    let note = std::fs::read_to_string(&path)
                        .map_err(|err| Error::io("read", &path, err))?;
                    stored.push((size, format!("checkpoints/{name}"), note));
                }
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("list", &dir, e)),
    }
    stored.sort_by_key(|s| s.0);
    let path = layout.latest_checkpoint();
    let latest = match std::fs::read_to_string(&path) {
        Ok(n) => Some(n),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    let mut quarantined: Vec<String> = match std::fs::read_dir(layout.quarantine_dir()) {
        Ok(l) => l
            .filter_map(Result::ok)
            .map(|e| format!("quarantine/{}", e.file_name().to_string_lossy()))
            .collect(),
        Err(_) => Vec::new(),
    };
    quarantined.sort();
    Ok(Files {
        segments,
        stored,
        latest,
        quarantined,
    })
}

pub(crate) fn verify(layout: &Layout, opts: &VerifyOptions) -> Result<VerifyReport> {
    let files = read_files(layout)?;
    let mut problems = Vec::new();
    let mut notices = Vec::new();
    let problem = |seq: Option<u64>, location: &str, message: String| Problem {
        seq,
        location: location.to_string(),
        message,
    };

    // The key.
    let signing = load_signer(layout);
    let public = load_public_file(layout);
    let (key, key_source) = match (&opts.key, &signing, &public) {
        (Some(k), _, _) => (Some(k.clone()), Some(KeySource::Given)),
        (None, Ok(Some(s)), _) => (Some(s.verifier()), Some(KeySource::SigningKey)),
        (None, _, Ok(Some(p))) => (Some(p.clone()), Some(KeySource::PublicFile)),
        _ => (None, None),
    };
    if let Err(e) = &signing {
        problems.push(problem(None, "keys/audit-log.key", e.to_string()));
    }
    if let Err(e) = &public {
        problems.push(problem(None, "log.pub", e.to_string()));
    }
    if let (Ok(Some(s)), Ok(Some(p))) = (&signing, &public)
        && s.verifier() != *p
    {
        problems.push(problem(
            None,
            "log.pub",
            format!(
                "holds {p}, which is not the public half of keys/audit-log.key ({})",
                s.verifier()
            ),
        ));
    }
    if key_source == Some(KeySource::PublicFile) {
        notices.push(
            "checkpoints were checked with audit/log.pub, a copy inside the home; pass --key with a copy kept elsewhere".into(),
        );
    }

    // The checkpoints to compare the tree against.
    let mut targets: BTreeMap<u64, Vec<Target>> = BTreeMap::new();
    let open = |label: &str, note: &str, problems: &mut Vec<Problem>| -> Option<SignedCheckpoint> {
        let key = key.as_ref()?;
        match SignedCheckpoint::open(note, key) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(problem(None, label, format!("rejected: {e}")));
                None
            }
        }
    };
    let has_checkpoints = !files.stored.is_empty() || files.latest.is_some();
    if key.is_none() && (has_checkpoints || !opts.checkpoints.is_empty()) {
        problems.push(problem(
            None,
            "keys/audit-log.key",
            "no key to check the signed checkpoints with: the signing key and audit/log.pub are missing; pass --key".into(),
        ));
    }
    for (size, label, note) in &files.stored {
        if let Some(c) = open(label, note, &mut problems) {
            if c.checkpoint.size != *size {
                problems.push(problem(
                    None,
                    label,
                    format!(
                        "the file name says size {size}, the checkpoint {}",
                        c.checkpoint.size
                    ),
                ));
            }
            targets.entry(c.checkpoint.size).or_default().push(Target {
                label: label.clone(),
                root: c.checkpoint.root,
            });
        }
    }
    let mut latest_size = None;
    if let Some(note) = &files.latest
        && let Some(c) = open("checkpoint", note, &mut problems)
    {
        latest_size = Some(c.checkpoint.size);
        let newest_stored = files.stored.last().map(|s| s.0);
        if newest_stored.is_some_and(|n| n > c.checkpoint.size) {
            notices.push(format!(
                "audit/checkpoint (size {}) is older than checkpoints/ (size {}): a checkpoint write was interrupted",
                c.checkpoint.size,
                newest_stored.unwrap_or_default()
            ));
        }
        targets.entry(c.checkpoint.size).or_default().push(Target {
            label: "checkpoint".into(),
            root: c.checkpoint.root,
        });
    }
    for (label, note) in &opts.checkpoints {
        if let Some(c) = open(label, note, &mut problems) {
            targets.entry(c.checkpoint.size).or_default().push(Target {
                label: label.clone(),
                root: c.checkpoint.root,
            });
        }
    }

    // One pass over the entries.
    let mut walk = Walk {
        targets: &targets,
        frontier: Frontier::new(),
        next_seq: 0,
        last_hash: Hash::ZERO,
        tree_ok: true,
        prev_bad: false,
        last_good: 0,
        damage_named: false,
        verified: 0,
        problems,
    };
    walk.check_targets();
    let count = files.segments.len();
    let mut resync = false;
    for (i, seg) in files.segments.iter().enumerate() {
        let loc = relative(layout, &seg.path);
        if seg.first_seq != walk.next_seq && !resync {
            let message = if seg.first_seq > walk.next_seq {
                format!(
                    "entries {}..{} are missing: no segment holds them (a segment file was deleted?)",
                    walk.next_seq,
                    seg.first_seq - 1
                )
            } else {
                format!(
                    "this segment starts at entry {}, but entries up to {} came before it",
                    seg.first_seq,
                    walk.next_seq - 1
                )
            };
            walk.report(Some(walk.next_seq.min(seg.first_seq)), &loc, message);
            walk.tree_ok = false;
        }
        resync = false;
        let data = read_segment(seg)?;
        match walk.segment(&loc, seg.first_seq, &data, i + 1 == count) {
            Ok(()) => {}
            Err(()) => resync = true,
        }
    }
    let entries = walk.frontier.size();
    for (size, ts) in walk.targets.range(entries + 1..) {
        for t in ts {
            walk.report(
                Some(entries),
                &t.label,
                format!(
                    "covers {size} entries but the log ends after {entries}: entries {entries}..{} were deleted or truncated",
                    size - 1
                ),
            );
        }
    }

    let mut problems = walk.problems;
    let uncovered = entries - latest_size.unwrap_or(0).min(entries);
    if entries > 0 && !has_checkpoints {
        notices.push(format!(
            "no signed checkpoint yet: the {entries} entries are only hash-chained"
        ));
    } else if uncovered > 0 {
        notices.push(format!(
            "entries {}..{} are not covered by a signed checkpoint yet (`aegisclaw logs checkpoint` signs one)",
            entries - uncovered,
            entries - 1
        ));
    }
    for q in &files.quarantined {
        notices.push(format!(
            "{q}: a torn record moved aside after an interrupted write (the log records it as an audit.recover entry)"
        ));
    }
    problems.truncate(MAX_PROBLEMS);
    Ok(VerifyReport {
        ok: problems.is_empty(),
        entries,
        segments: count,
        root: walk.frontier.root(),
        key: key.as_ref().map(ToString::to_string),
        key_source,
        checkpoints_verified: walk.verified,
        latest_checkpoint: latest_size,
        uncovered_entries: uncovered,
        first_bad_seq: problems.iter().filter_map(|p| p.seq).min(),
        problems,
        notices,
    })
}

fn relative(layout: &Layout, path: &Path) -> String {
    path.strip_prefix(layout.audit_dir())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The state of the streaming pass.
struct Walk<'a> {
    targets: &'a BTreeMap<u64, Vec<Target>>,
    frontier: Frontier,
    /// The sequence number the next entry should carry.
    next_seq: u64,
    last_hash: Hash,
    /// The frontier covers every entry so far (no unreadable stretch).
    tree_ok: bool,
    /// The previous entry was already reported (do not report its successor's chain link).
    prev_bad: bool,
    /// The largest checkpoint size whose root matched.
    last_good: u64,
    /// A problem naming an entry was reported.
    damage_named: bool,
    verified: usize,
    problems: Vec<Problem>,
}

impl Walk<'_> {
    fn report(&mut self, seq: Option<u64>, location: &str, message: String) {
        self.damage_named |= seq.is_some();
        if self.problems.len() <= MAX_PROBLEMS {
            self.problems.push(Problem {
                seq,
                location: location.to_string(),
                message,
            });
        }
    }

    /// Compares the root at the current size with every checkpoint of that size.
    fn check_targets(&mut self) {
        let size = self.frontier.size();
        let Some(targets) = self.targets.get(&size) else {
            return;
        };
        let root = self.frontier.root();
        // A mismatch after damage that was already named is its consequence, not news; before
        // that, it is the only sign, and entries up to the last matching checkpoint are fine.
        let seq = (!self.damage_named).then_some(self.last_good);
        let mut found = Vec::new();
        for t in targets {
            if !self.tree_ok {
                found.push((
                    None,
                    t.label.clone(),
                    format!("cannot be checked: entries before {size} are unreadable or missing"),
                ));
            } else if root != t.root {
                found.push((
                    seq,
                    t.label.clone(),
                    format!(
                        "signed root {} for the first {size} entries, but they hash to {root}: an entry in {}..{} was altered, inserted, removed or reordered",
                        t.root,
                        self.last_good,
                        size - 1
                    ),
                ));
            } else {
                self.verified += 1;
                self.last_good = size;
            }
        }
        let named = self.damage_named;
        for (seq, label, message) in found {
            self.report(seq, &label, message);
        }
        self.damage_named = named;
    }

    /// Checks one segment. `Err` when the rest of it could not be framed.
    fn segment(&mut self, loc: &str, first_seq: u64, data: &[u8], last: bool) -> Result<(), ()> {
        let (header, mut pos) = match Header::decode(data) {
            Ok(h) => h,
            Err(m) => {
                self.report(Some(first_seq), loc, m);
                self.tree_ok = false;
                return Err(());
            }
        };
        if header.first_seq != first_seq {
            self.report(
                Some(first_seq.min(header.first_seq)),
                loc,
                format!(
                    "the header says the segment starts at entry {}, its name says {first_seq}",
                    header.first_seq
                ),
            );
        }
        if self.tree_ok && header.first_seq == self.next_seq {
            if header.prev != self.last_hash || header.frontier != self.frontier {
                // After damage already named, the recomputed chain cannot match the header.
                let seq = (!self.damage_named).then_some(first_seq);
                self.report(
                    seq,
                    loc,
                    "the header does not continue the previous segment (its prev hash or tree frontier differ)".into(),
                );
            }
        } else {
            // After a gap, carry on from what the header claims so that later damage is still
            // found; checkpoints after this point cannot be checked.
            self.tree_ok = false;
            self.frontier = header.frontier;
            self.last_hash = header.prev;
            self.next_seq = header.first_seq;
        }
        let mut sealed = false;
        while pos < data.len() {
            let at = format!("{loc} byte {pos}");
            if sealed {
                self.report(Some(self.next_seq), &at, "bytes after the seal".into());
                return Err(());
            }
            match read_frame(&data[pos..]) {
                Ok((Frame::Entry(body), n)) => self.entry(&at, body, false, n, &mut pos),
                Ok((Frame::BadChecksum(body), n)) => self.entry(&at, body, true, n, &mut pos),
                Ok((Frame::Seal, n)) => {
                    sealed = true;
                    pos += n;
                }
                Err(e) if last => {
                    self.report(
                        Some(self.next_seq),
                        &at,
                        format!(
                            "torn record at the end of the log ({e}): a write was interrupted; the next append moves it to quarantine/ and records that in the log"
                        ),
                    );
                    return Ok(());
                }
                Err(e) => {
                    self.report(
                        Some(self.next_seq),
                        &at,
                        format!("record framing is broken ({e}); the rest of this segment cannot be read"),
                    );
                    self.tree_ok = false;
                    return Err(());
                }
            }
        }
        if !sealed && !last {
            self.report(
                None,
                loc,
                "not sealed, yet another segment follows it".into(),
            );
        }
        Ok(())
    }

    fn entry(&mut self, at: &str, body: &[u8], altered: bool, n: usize, pos: &mut usize) {
        *pos += n;
        let expected = self.next_seq;
        let mut bad = altered;
        if altered {
            self.report(
                Some(expected),
                at,
                format!(
                    "entry {expected}: the record's checksum does not match: its bytes were altered"
                ),
            );
        }
        match decode(body) {
            // An altered record's fields mean nothing: count it where it stands.
            Ok(_) if altered => self.next_seq = expected + 1,
            Ok(v) if v.seq != expected => {
                let message = if v.seq > expected {
                    format!(
                        "expected entry {expected}, found entry {}: entries are missing or out of order",
                        v.seq
                    )
                } else {
                    format!(
                        "expected entry {expected}, found entry {} again: an entry was duplicated or moved",
                        v.seq
                    )
                };
                self.report(Some(expected), at, message);
                bad = true;
                self.next_seq = v.seq + 1;
            }
            Ok(v) => {
                if v.prev != self.last_hash && !self.prev_bad && !bad {
                    if expected == 0 {
                        self.report(
                            Some(0),
                            at,
                            "the first entry's prev hash is not zero".into(),
                        );
                    } else {
                        self.report(
                            Some(expected - 1),
                            at,
                            format!(
                                "entry {} hashes to {}, but entry {expected} records prev {}: entry {} was altered (or entry {expected}'s prev field)",
                                expected - 1,
                                self.last_hash,
                                v.prev,
                                expected - 1
                            ),
                        );
                    }
                    bad = true;
                }
                self.next_seq = v.seq + 1;
            }
            Err(e) => {
                if !altered {
                    self.report(
                        Some(expected),
                        at,
                        format!("entry {expected} is not a valid entry: {e}"),
                    );
                }
                bad = true;
                self.next_seq = expected + 1;
            }
        }
        let leaf = leaf_hash(body);
        self.frontier.push(leaf);
        self.last_hash = leaf;
        self.prev_bad = bad;
        self.check_targets();
    }
}
