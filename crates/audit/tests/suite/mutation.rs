//! Tampering that `verify` must catch, each case on a fresh log, with the entry it must name.
//!
//! The attacker here can write `audit/` (and, in the last cases, delete checkpoints or even
//! read the signing key). See FORMAT.md, "Threat model", for what each case shows.

use std::path::Path;

use aegisclaw_audit::{VerifyOptions, VerifyReport};

use crate::common::{TestLog, copy_dir, fix_crc, frames, options, record};

const N: u64 = 120;
const VICTIM: u64 = 57;

/// 120 entries in 4 KiB segments, appended 5 at a time, a checkpoint every 10 entries: signed
/// checkpoints at sizes 5, 15, 25, ..., 115 and 120.
fn build() -> TestLog {
    build_with(10)
}

fn build_with(checkpoint_every: u64) -> TestLog {
    let t = TestLog::with(options(checkpoint_every, 4096));
    t.fill(N, 5);
    let report = t.verify();
    assert!(report.ok, "the fresh log verifies: {report:#?}");
    assert!(t.segments().len() >= 3);
    t
}

fn assert_caught(report: &VerifyReport, first_bad: u64, needle: &str) {
    assert!(!report.ok, "not caught: {report:#?}");
    assert_eq!(report.first_bad_seq, Some(first_bad), "{report:#?}");
    assert!(
        report.problems.iter().any(|p| p.message.contains(needle)),
        "no problem mentions {needle:?}: {report:#?}"
    );
}

fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut data = std::fs::read(path).unwrap();
    f(&mut data);
    std::fs::write(path, data).unwrap();
}

#[test]
fn editing_a_field_is_caught_and_named() {
    // An attacker who read FORMAT.md: same length, checksum recomputed.
    let t = build();
    let (seg, off, len) = t.locate(VICTIM);
    edit(&seg, |d| {
        let frame = &mut d[off..off + len];
        let at = frame
            .windows(13)
            .position(|w| w == b"result-000057")
            .unwrap();
        frame[at..at + 13].copy_from_slice(b"result-000058");
        fix_crc(d, off);
    });
    assert_caught(&t.verify(), VICTIM, "entry 57 hashes to");

    // A naive edit (checksum left alone) is named just the same.
    let t = build();
    let (seg, off, len) = t.locate(VICTIM);
    edit(&seg, |d| {
        let at = off + len - 20;
        d[at] = d[at].wrapping_add(1);
    });
    assert_caught(&t.verify(), VICTIM, "checksum does not match");
}

#[test]
fn editing_a_prev_hash_names_the_broken_link() {
    // The link 56 -> 57 breaks; either end may have changed, and the earlier one is named.
    let t = build();
    let (seg, off, _) = t.locate(VICTIM);
    edit(&seg, |d| {
        d[off + 4 + 17] ^= 0xff; // first byte of `prev` (after version, seq, time)
        fix_crc(d, off);
    });
    assert_caught(&t.verify(), VICTIM - 1, "entry 57 records prev");
}

#[test]
fn every_single_bit_flip_is_caught() {
    // Fewer checkpoints (5, 65, 120) keep the ~1,500 verifications quick.
    let t = build_with(60);
    let (seg, off, len) = t.locate(VICTIM);
    let original = std::fs::read(&seg).unwrap();
    for bit in 0..len * 8 {
        let mut d = original.clone();
        d[off + bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&seg, &d).unwrap();
        let report = t.verify();
        assert!(
            !report.ok,
            "bit {bit} of entry {VICTIM}'s record went unnoticed"
        );
        assert_eq!(report.first_bad_seq, Some(VICTIM), "bit {bit}: {report:#?}");
    }
    std::fs::write(&seg, &original).unwrap();
    assert!(t.verify().ok);

    // Segment headers (prev hash, frontier, numbering) are covered too.
    let second = t.segments()[1].clone();
    let original = std::fs::read(&second).unwrap();
    let header = crate::common::header_len(&original);
    for bit in (0..header * 8).step_by(3) {
        let mut d = original.clone();
        d[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&second, &d).unwrap();
        assert!(!t.verify().ok, "header bit {bit}");
    }
    std::fs::write(&second, &original).unwrap();

    // And signed checkpoints.
    let cp = t.audit("checkpoints/00000000000000000065.note");
    let original = std::fs::read(&cp).unwrap();
    for byte in 0..original.len() {
        let mut d = original.clone();
        d[byte] ^= 0x04;
        std::fs::write(&cp, &d).unwrap();
        assert!(!t.verify().ok, "checkpoint byte {byte}");
    }
    std::fs::write(&cp, &original).unwrap();
    assert!(t.verify().ok);
}

#[test]
fn deleting_an_entry_is_caught() {
    let t = build();
    let (seg, off, len) = t.locate(VICTIM);
    edit(&seg, |d| {
        d.drain(off..off + len);
    });
    let report = t.verify();
    assert_caught(&report, VICTIM, "expected entry 57, found entry 58");
    // The signed checkpoints above it no longer match either.
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.location.starts_with("checkpoints/"))
    );
}

#[test]
fn duplicating_an_entry_is_caught() {
    let t = build();
    let (seg, off, len) = t.locate(VICTIM);
    edit(&seg, |d| {
        let frame = d[off..off + len].to_vec();
        d.splice(off + len..off + len, frame);
    });
    assert_caught(&t.verify(), VICTIM + 1, "found entry 57 again");
}

#[test]
fn reordering_entries_is_caught() {
    let t = build();
    let (seg, off, len) = t.locate(VICTIM);
    let (seg2, off2, len2) = t.locate(VICTIM + 1);
    assert_eq!(seg, seg2, "pick two entries in one segment");
    edit(&seg, |d| {
        let a = d[off..off + len].to_vec();
        let b = d[off2..off2 + len2].to_vec();
        d.splice(off..off2 + len2, b.into_iter().chain(a));
    });
    assert_caught(&t.verify(), VICTIM, "expected entry 57, found entry 58");
}

#[test]
fn truncating_entries_is_caught() {
    // Cut the log at a record boundary: entries 100.. are gone, but checkpoints cover 120.
    let t = build();
    let (seg, off, _) = t.locate(100);
    let later: Vec<_> = t.segments().into_iter().filter(|s| *s > seg).collect();
    for s in later {
        std::fs::remove_file(s).unwrap();
    }
    edit(&seg, |d| d.truncate(off));
    assert_caught(&t.verify(), 100, "were deleted or truncated");

    // Appending now would fork the log: refused, and nothing is written.
    let before = std::fs::read(&seg).unwrap();
    let err = t.log().append(&[record(100)]).unwrap_err();
    assert!(
        matches!(
            err,
            aegisclaw_audit::Error::ShorterThanCheckpoint {
                entries: 100,
                size: 120,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&seg).unwrap(), before);

    // Cut inside a record: the torn record is named.
    let t = build();
    let last = t.segments().pop().unwrap();
    let frames = frames(&last);
    let (off, len) = frames[frames.len() - 1];
    edit(&last, |d| d.truncate(off + len / 2));
    assert_caught(&t.verify(), N - 1, "torn record");
}

#[test]
fn deleting_a_segment_is_caught() {
    let t = build();
    let segments = t.segments();
    let victim = &segments[1];
    let first: u64 = victim
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    std::fs::remove_file(victim).unwrap();
    assert_caught(&t.verify(), first, "no segment holds them");
}

/// Rewrites the log with entry 57 changed, every hash, checksum and header recomputed (the
/// attacker re-runs the writer). `with_key` also gives the attacker the signing key.
fn forge(t: &TestLog, with_key: bool) {
    let forged = TestLog::with(t.options.clone());
    if with_key {
        std::fs::create_dir_all(forged.home_dir().join("keys")).unwrap();
        std::fs::copy(
            t.home_dir().join("keys/audit-log.key"),
            forged.home_dir().join("keys/audit-log.key"),
        )
        .unwrap();
    }
    let mut a = forged.log().appender().unwrap();
    for i in (0..N).step_by(5) {
        let batch: Vec<_> = (i..i + 5)
            .map(|j| {
                let mut r = record(j);
                if j == VICTIM {
                    r.decision = "allow".into();
                    r.result = "nothing to see".into();
                }
                r
            })
            .collect();
        a.append(&batch).unwrap();
    }
    a.close().unwrap();
    let audit = t.home_dir().join("audit");
    std::fs::remove_dir_all(audit.join("segments")).unwrap();
    copy_dir(&forged.audit("segments"), &audit.join("segments"));
    if with_key {
        std::fs::remove_dir_all(audit.join("checkpoints")).unwrap();
        copy_dir(&forged.audit("checkpoints"), &audit.join("checkpoints"));
        std::fs::copy(forged.audit("checkpoint"), audit.join("checkpoint")).unwrap();
    }
}

#[test]
fn rewriting_the_chain_without_the_key_is_caught_by_the_checkpoints() {
    let t = build();
    forge(&t, false);
    let report = t.verify();
    // The chain is consistent; only the signed roots can tell. Entries up to the last good
    // checkpoint (size 55) are vouched for; the damage is named as from 55 on.
    assert_caught(&report, 55, "an entry in 55..64 was altered");
}

#[test]
fn an_external_checkpoint_closes_what_deleting_checkpoints_opens() {
    // The user keeps a copy of a checkpoint (and of the public key) outside the home.
    let t = build();
    let external = std::fs::read_to_string(t.audit("checkpoint")).unwrap();
    let key = t.log().public_key().unwrap().unwrap().0;

    // The attacker removes entries 100.. and every checkpoint that covers them, and points
    // audit/checkpoint at the older one of size 95.
    let (seg, off, _) = t.locate(100);
    for s in t.segments().into_iter().filter(|s| *s > seg) {
        std::fs::remove_file(s).unwrap();
    }
    edit(&seg, |d| d.truncate(off));
    for e in std::fs::read_dir(t.audit("checkpoints")).unwrap() {
        let p = e.unwrap().path();
        let size: u64 = p.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        if size > 100 {
            std::fs::remove_file(p).unwrap();
        }
    }
    std::fs::copy(
        t.audit("checkpoints/00000000000000000095.note"),
        t.audit("checkpoint"),
    )
    .unwrap();

    // What is left is a consistent, correctly signed, shorter log: the documented limit.
    let local = t.verify();
    assert!(local.ok, "{local:#?}");
    assert_eq!(local.entries, 100);

    // The copy kept elsewhere shows the deletion, and where it starts.
    let with_external = t
        .log()
        .verify(&VerifyOptions {
            key: Some(key),
            checkpoints: vec![("external.note".into(), external)],
        })
        .unwrap();
    assert_caught(&with_external, 100, "were deleted or truncated");
}

#[test]
fn an_attacker_with_the_key_is_caught_only_by_an_external_checkpoint() {
    let t = build();
    let external = std::fs::read_to_string(t.audit("checkpoint")).unwrap();
    let key = t.log().public_key().unwrap().unwrap().0;
    forge(&t, true);
    let local = t.verify();
    assert!(
        local.ok,
        "a re-signed forgery passes on its own: {local:#?}"
    );
    let report = t
        .log()
        .verify(&VerifyOptions {
            key: Some(key),
            checkpoints: vec![("external.note".into(), external)],
        })
        .unwrap();
    assert!(!report.ok);
    let p = &report.problems[0];
    assert_eq!(p.location, "external.note");
    assert!(p.message.contains("signed root"), "{p:?}");
}

#[test]
fn a_tampered_active_segment_stops_appends() {
    let t = build();
    let last = t.segments().pop().unwrap();
    let frames = frames(&last);
    let (off, len) = frames[1];
    edit(&last, |d| {
        d[off + len - 10] ^= 1;
        fix_crc(d, off);
    });
    let before = std::fs::read(&last).unwrap();
    let err = t.log().append(&[record(N)]).unwrap_err();
    assert!(
        matches!(err, aegisclaw_audit::Error::Corrupt { .. }),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&last).unwrap(),
        before,
        "nothing appended to a broken chain"
    );
}
