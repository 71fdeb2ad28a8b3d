//! Torn records: what an interrupted write leaves, how it is reported, quarantined and
//! recorded, and when recovery is refused because it would hide deleted entries.

use std::io::Write;

use aegisclaw_audit::{Error, Filter};
use pretty_assertions::assert_eq;

use crate::common::{TestLog, all_entries, frames, options, record};

fn append_raw(path: &std::path::Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn a_torn_tail_is_reported_quarantined_recorded_and_appends_continue() {
    let t = TestLog::new();
    t.fill(20, 20);
    let seg = t.segments().pop().unwrap();
    // What a writer killed in the middle of its write leaves: the first 30 bytes of a record.
    let data = std::fs::read(&seg).unwrap();
    let (off, _) = frames(&seg)[5];
    let torn = data[off..off + 30].to_vec();
    append_raw(&seg, &torn);

    let report = t.verify();
    assert!(!report.ok);
    assert_eq!(report.first_bad_seq, Some(20), "{report:#?}");
    assert!(
        report.problems[0].message.contains("torn record"),
        "{report:#?}"
    );
    let (last, tail) = t.log().last(3, &Filter::default()).unwrap();
    assert_eq!(
        last.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![17, 18, 19]
    );
    assert_eq!(tail.unwrap().seq, 20);

    // The next append moves the torn bytes aside, records that, and goes on.
    assert_eq!(t.log().append(&[record(20)]).unwrap(), 21..22);
    let quarantine: Vec<_> = std::fs::read_dir(t.audit("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(quarantine.len(), 1);
    assert_eq!(
        std::fs::read(&quarantine[0]).unwrap(),
        torn,
        "kept byte for byte"
    );
    let entries = all_entries(&t.log());
    let recovery = &entries[20];
    assert_eq!(recovery.record.action, "audit.recover");
    assert_eq!(recovery.record.actor, "aegisclaw");
    assert_eq!(recovery.record.attrs["bytes"], "30");
    assert_eq!(recovery.record.attrs["offset"], off_in(&data).to_string());
    assert!(recovery.record.attrs["quarantine"].starts_with("quarantine/"));
    assert_eq!(entries[21].record, record(20));

    let report = t.verify();
    assert!(report.ok, "{report:#?}");
    assert!(
        report.notices.iter().any(|n| n.contains("quarantine/")),
        "{report:#?}"
    );
}

/// The torn bytes started at the end of the valid data.
fn off_in(data: &[u8]) -> usize {
    data.len()
}

#[test]
fn zeros_left_by_a_power_cut_are_a_torn_tail_too() {
    let t = TestLog::new();
    t.fill(5, 5);
    let seg = t.segments().pop().unwrap();
    append_raw(&seg, &[0u8; 4096]);
    let report = t.verify();
    assert_eq!(report.first_bad_seq, Some(5), "{report:#?}");
    assert_eq!(t.log().append(&[record(5)]).unwrap(), 6..7);
    assert!(t.verify().ok);
}

#[test]
fn a_torn_tail_below_a_checkpoint_is_not_recovered() {
    // Entry 9 is covered by a signed checkpoint; cutting it in half is not a crash.
    let t = TestLog::new();
    t.fill(10, 10);
    let seg = t.segments().pop().unwrap();
    let (off, len) = *frames(&seg).last().unwrap();
    let mut data = std::fs::read(&seg).unwrap();
    data.truncate(off + len / 2);
    std::fs::write(&seg, &data).unwrap();
    let err = t.log().append(&[record(10)]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShorterThanCheckpoint {
                entries: 9,
                size: 10,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&seg).unwrap(), data, "nothing written or cut");
    assert!(!t.audit("quarantine").exists());
}

#[test]
fn an_altered_record_followed_by_valid_ones_is_not_a_torn_tail() {
    let t = TestLog::with(options(1_000_000, 8 << 20));
    // No checkpoint may cover the damage for this case: write without closing.
    let mut a = t.log().appender().unwrap();
    a.append(&[record(0)]).unwrap();
    for i in 1..6 {
        a.append(&[record(i)]).unwrap();
    }
    drop(a);
    let seg = t.segments().pop().unwrap();
    let (off, len) = frames(&seg)[3];
    let mut data = std::fs::read(&seg).unwrap();
    data[off + len - 12] ^= 0x10;
    std::fs::write(&seg, &data).unwrap();
    let err = t.log().append(&[record(6)]).unwrap_err();
    assert!(matches!(err, Error::Corrupt { seq: Some(3), .. }), "{err}");
    assert_eq!(std::fs::read(&seg).unwrap(), data);
}

#[test]
fn a_crash_between_sealing_and_the_next_segment_is_harmless() {
    let t = TestLog::with(options(1000, 4096));
    t.fill(10, 10);
    let seg = t.segments().pop().unwrap();
    // The seal: a zero length and the CRC of four zero bytes.
    let mut seal = vec![0, 0, 0, 0];
    seal.extend_from_slice(&crc32fast::hash(&[0, 0, 0, 0]).to_be_bytes());
    append_raw(&seg, &seal);
    assert!(t.verify().ok, "a sealed last segment is a valid state");
    assert_eq!(t.log().append(&[record(10)]).unwrap(), 10..11);
    assert_eq!(t.segments().len(), 2);
    assert!(t.verify().ok);
    assert_eq!(all_entries(&t.log()).len(), 11);
}
