//! Reading: consistent snapshots, filtered streams of entries, the last entries, following.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::PathBuf;
use std::time::SystemTime;

use crate::encoding::{EntryView, decode};
use crate::entry::{Entry, time_to_nanos};
use crate::error::{Error, Result};
use crate::hash::leaf_hash;
use crate::layout::{Layout, parse_segment_name};
use crate::segment::{Frame, FrameError, Header, read_frame};

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only entries at or after this time.
    pub since: Option<SystemTime>,
    /// Only entries by this actor (exact match).
    pub actor: Option<String>,
    /// Only entries with this decision (exact match).
    pub decision: Option<String>,
    /// Only entries of this action kind (exact match).
    pub action: Option<String>,
    /// Only entries from this sequence number on.
    pub from_seq: u64,
}

impl Filter {
    fn matches(&self, v: &EntryView<'_>) -> bool {
        v.seq >= self.from_seq
            && self
                .since
                .and_then(time_to_nanos)
                .is_none_or(|t| v.time_nanos >= t)
            && self.actor.as_deref().is_none_or(|a| a == v.actor)
            && self.decision.as_deref().is_none_or(|d| d == v.decision)
            && self.action.as_deref().is_none_or(|a| a == v.action)
    }
}

/// A torn record at the end of the log (see [`Error::TornTail`]), reported by readers that
/// stop before it instead of failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub path: PathBuf,
    pub offset: u64,
    pub seq: u64,
}

impl From<TornTail> for Error {
    fn from(t: TornTail) -> Self {
        Error::TornTail {
            path: t.path,
            offset: t.offset,
            seq: t.seq,
        }
    }
}

/// One segment file as of a snapshot.
#[derive(Debug, Clone)]
pub(crate) struct SegmentRef {
    pub(crate) first_seq: u64,
    pub(crate) path: PathBuf,
    /// Bytes committed when the snapshot was taken.
    pub(crate) len: u64,
}

/// The segment files at one moment when no writer was in the middle of a batch.
pub(crate) fn snapshot(layout: &Layout) -> Result<Vec<SegmentRef>> {
    let _guard = SharedLock::take(layout)?;
    list_segments(layout)
}

/// The segment files, sorted; call with the shared lock held.
pub(crate) fn list_segments(layout: &Layout) -> Result<Vec<SegmentRef>> {
    let dir = layout.segments_dir();
    let listing = match std::fs::read_dir(&dir) {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", &dir, e)),
    };
    let mut segments = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| Error::io("list", &dir, e))?;
        let Some(first_seq) = entry.file_name().to_str().and_then(parse_segment_name) else {
            continue;
        };
        let path = entry.path();
        let len = entry
            .metadata()
            .map_err(|e| Error::io("inspect", &path, e))?
            .len();
        segments.push(SegmentRef {
            first_seq,
            path,
            len,
        });
    }
    segments.sort_by_key(|s| s.first_seq);
    Ok(segments)
}

/// A shared `flock` on the log's lock file, held while taking a snapshot so that no batch is
/// half written at that moment. A log that was never written to has no lock file and needs none.
pub(crate) struct SharedLock(Option<File>);

impl SharedLock {
    pub(crate) fn take(layout: &Layout) -> Result<Self> {
        let path = layout.lock_file();
        match File::open(&path) {
            Ok(f) => {
                f.lock_shared().map_err(|e| Error::io("lock", &path, e))?;
                Ok(Self(Some(f)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Self(None)),
            Err(e) => Err(Error::io("open", &path, e)),
        }
    }
}

impl Drop for SharedLock {
    fn drop(&mut self) {
        if let Some(f) = &self.0 {
            let _ = f.unlock();
        }
    }
}

/// Reads up to `len` bytes of a segment file (it may have been cut short since the snapshot
/// when a torn tail was recovered).
pub(crate) fn read_segment(seg: &SegmentRef) -> Result<Vec<u8>> {
    let file = File::open(&seg.path).map_err(|e| Error::io("open", &seg.path, e))?;
    let mut data = Vec::with_capacity(seg.len as usize);
    file.take(seg.len)
        .read_to_end(&mut data)
        .map_err(|e| Error::io("read", &seg.path, e))?;
    Ok(data)
}

/// A stream of entries, oldest first, from a snapshot. Yields an error and stops at damage;
/// stops quietly at a torn tail (see [`Entries::torn_tail`]).
#[derive(Debug)]
pub struct Entries {
    segments: VecDeque<SegmentRef>,
    filter: Filter,
    current: Option<Current>,
    torn: Option<TornTail>,
    done: bool,
}

#[derive(Debug)]
struct Current {
    seg: SegmentRef,
    data: Vec<u8>,
    pos: usize,
    next_seq: u64,
    last: bool,
}

impl Entries {
    pub(crate) fn new(mut segments: Vec<SegmentRef>, filter: Filter) -> Self {
        // Skip whole segments that end before `from_seq`.
        let start = segments
            .iter()
            .rposition(|s| s.first_seq <= filter.from_seq)
            .unwrap_or(0);
        segments.drain(..start);
        Self {
            segments: segments.into(),
            filter,
            current: None,
            torn: None,
            done: false,
        }
    }

    /// After the stream ended: the torn record it stopped at, if any.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn.as_ref()
    }

    fn open_next(&mut self) -> Result<bool> {
        let Some(seg) = self.segments.pop_front() else {
            return Ok(false);
        };
        let data = read_segment(&seg)?;
        let (header, len) = Header::decode(&data).map_err(|m| Error::Corrupt {
            path: seg.path.clone(),
            offset: 0,
            seq: Some(seg.first_seq),
            message: m,
        })?;
        self.current = Some(Current {
            last: self.segments.is_empty(),
            next_seq: header.first_seq,
            seg,
            data,
            pos: len,
        });
        Ok(true)
    }

    fn step(&mut self) -> Result<Option<Entry>> {
        loop {
            if self.current.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let Some(cur) = self.current.as_mut() else {
                return Ok(None);
            };
            if cur.pos >= cur.data.len() {
                self.current = None;
                continue;
            }
            let offset = cur.pos as u64;
            let damaged = |message: String| Error::Corrupt {
                path: cur.seg.path.clone(),
                offset,
                seq: Some(cur.next_seq),
                message,
            };
            match read_frame(&cur.data[cur.pos..]) {
                Ok((Frame::Entry(body), n)) => {
                    cur.pos += n;
                    let view = decode(body).map_err(|e| damaged(e.to_string()))?;
                    cur.next_seq = view.seq + 1;
                    if self.filter.matches(&view) {
                        return Ok(Some(Entry {
                            seq: view.seq,
                            prev: view.prev,
                            hash: leaf_hash(body),
                            record: view.to_record(),
                        }));
                    }
                }
                Ok((Frame::Seal, _)) => self.current = None,
                Ok((Frame::BadChecksum(_), _)) => {
                    return Err(damaged(
                        "the record's checksum does not match: it was altered (run `aegisclaw logs verify`)".into(),
                    ));
                }
                Err(FrameError::Incomplete { .. }) if cur.last => {
                    self.torn = Some(TornTail {
                        path: cur.seg.path.clone(),
                        offset,
                        seq: cur.next_seq,
                    });
                    return Ok(None);
                }
                Err(e) => return Err(damaged(e.to_string())),
            }
        }
    }
}

impl Iterator for Entries {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The last `n` entries that match `filter`, oldest first, and the torn tail they stop at.
pub(crate) fn last(
    segments: Vec<SegmentRef>,
    n: usize,
    filter: &Filter,
) -> Result<(Vec<Entry>, Option<TornTail>)> {
    let mut out: VecDeque<Entry> = VecDeque::new();
    let mut torn = None;
    let count = segments.len();
    for i in (0..count).rev() {
        if out.len() >= n {
            break;
        }
        let mut one = Entries::new(vec![segments[i].clone()], filter.clone());
        // A torn record can only end the last segment.
        let mut found = Vec::new();
        for e in one.by_ref() {
            found.push(e?);
        }
        if i + 1 == count {
            torn = one.torn_tail().cloned();
        } else if let Some(t) = one.torn_tail() {
            return Err(Error::Corrupt {
                path: t.path.clone(),
                offset: t.offset,
                seq: Some(t.seq),
                message: "a segment that is not the last ends inside a record".into(),
            });
        }
        let want = n - out.len();
        for e in found.into_iter().rev().take(want) {
            out.push_front(e);
        }
    }
    Ok((out.into(), torn))
}

/// Follows the log as it grows (`logs tail -f`).
#[derive(Debug)]
pub struct Follower {
    layout: Layout,
    /// The segment being read, and how far.
    segment: Option<(u64, u64)>,
    sealed: bool,
    next_seq: u64,
    from_seq: u64,
}

impl Follower {
    pub(crate) fn new(layout: Layout, from_seq: u64) -> Result<Self> {
        let segments = snapshot(&layout)?;
        let start = segments
            .iter()
            .rev()
            .find(|s| s.first_seq <= from_seq)
            .or(segments.first())
            .map(|s| s.first_seq);
        Ok(Self {
            layout,
            segment: start.map(|s| (s, 0)),
            sealed: false,
            next_seq: start.unwrap_or(0),
            from_seq,
        })
    }

    /// The entries appended since the last call (complete records only; a record being
    /// written is picked up by a later call).
    pub fn poll(&mut self) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        loop {
            let (first, offset) = match self.segment {
                Some(s) => s,
                None => {
                    if !self.layout.segment(0).exists() {
                        return Ok(out);
                    }
                    (0, 0)
                }
            };
            let path = self.layout.segment(first);
            if self.sealed {
                let next = self.layout.segment(self.next_seq);
                if !next.exists() {
                    return Ok(out);
                }
                self.segment = Some((self.next_seq, 0));
                self.sealed = false;
                continue;
            }
            let data = match std::fs::read(&path) {
                Ok(d) => d,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(Error::io("read", &path, e)),
            };
            let mut pos = offset as usize;
            if pos == 0 {
                match Header::decode(&data) {
                    Ok((h, len)) => {
                        pos = len;
                        self.next_seq = h.first_seq;
                    }
                    // Not written completely yet.
                    Err(_) => return Ok(out),
                }
            }
            while pos < data.len() {
                match read_frame(&data[pos..]) {
                    Ok((Frame::Entry(body), n)) => {
                        let view = decode(body).map_err(|e| Error::Corrupt {
                            path: path.clone(),
                            offset: pos as u64,
                            seq: Some(self.next_seq),
                            message: e.to_string(),
                        })?;
                        pos += n;
                        self.next_seq = view.seq + 1;
                        if view.seq >= self.from_seq {
                            out.push(Entry {
                                seq: view.seq,
                                prev: view.prev,
                                hash: leaf_hash(body),
                                record: view.to_record(),
                            });
                        }
                    }
                    Ok((Frame::Seal, n)) => {
                        pos += n;
                        self.sealed = true;
                        break;
                    }
                    // Being written (or torn): look again later.
                    _ => break,
                }
            }
            self.segment = Some((first, pos as u64));
            if !self.sealed {
                return Ok(out);
            }
        }
    }
}
