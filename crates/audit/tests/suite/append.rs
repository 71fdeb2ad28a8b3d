//! Writing and reading: sequence numbers, filters, segments, checkpoints, group commit.

use std::collections::BTreeSet;
use std::time::{Duration, UNIX_EPOCH};

use aegisclaw_audit::{Filter, Record, SignedCheckpoint};
use pretty_assertions::assert_eq;

use crate::common::{TestLog, all_entries, options, record};

#[test]
fn appended_entries_read_back_exactly() {
    let t = TestLog::new();
    t.fill(25, 4);
    let entries = all_entries(&t.log());
    assert_eq!(entries.len(), 25);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
        assert_eq!(e.record, record(i as u64));
        let prev = if i == 0 {
            aegisclaw_audit::Hash::ZERO
        } else {
            entries[i - 1].hash
        };
        assert_eq!(e.prev, prev, "chain at {i}");
    }
    let report = t.verify();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.entries, 25);
    assert_eq!(
        report.checkpoints_verified, 3,
        "first batch, close, and the latest copy"
    );
}

#[test]
fn filters_select_by_time_actor_decision_and_seq() {
    let t = TestLog::new();
    t.fill(30, 30);
    let log = t.log();
    let seqs =
        |f: Filter| -> Vec<u64> { log.entries(f).unwrap().map(|e| e.unwrap().seq).collect() };
    let denied = seqs(Filter {
        decision: Some("deny".into()),
        ..Filter::default()
    });
    assert_eq!(denied, (0..30).filter(|i| i % 3 == 0).collect::<Vec<_>>());
    let by_actor = seqs(Filter {
        actor: Some("actor-002".into()),
        ..Filter::default()
    });
    assert_eq!(by_actor, vec![2, 9, 16, 23]);
    let recent = seqs(Filter {
        since: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_025)),
        ..Filter::default()
    });
    assert_eq!(recent, (25..30).collect::<Vec<_>>());
    let from = seqs(Filter {
        from_seq: 27,
        decision: Some("allow".into()),
        ..Filter::default()
    });
    assert_eq!(from, vec![28, 29]);
    assert_eq!(
        seqs(Filter {
            actor: Some("nobody".into()),
            ..Filter::default()
        }),
        Vec::<u64>::new()
    );
}

#[test]
fn segments_rotate_and_reads_cross_them() {
    // 4 KiB segments hold about 25 of these entries.
    let t = TestLog::with(options(50, 4096));
    t.fill(300, 7);
    let segments = t.segments();
    assert!(segments.len() >= 8, "{} segments", segments.len());
    // Every sealed segment ends with the seal; names are the first sequence numbers.
    let mut expected_first = 0;
    for seg in &segments {
        let name = seg
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap();
        assert_eq!(name, expected_first);
        expected_first += crate::common::frames(seg).len() as u64;
    }
    assert_eq!(expected_first, 300);
    for seg in &segments[..segments.len() - 1] {
        let data = std::fs::read(seg).unwrap();
        assert_eq!(
            &data[data.len() - 8..data.len() - 4],
            &[0, 0, 0, 0],
            "{}",
            seg.display()
        );
    }
    let entries = all_entries(&t.log());
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (0..300).collect::<Vec<_>>()
    );
    let (last, torn) = t.log().last(40, &Filter::default()).unwrap();
    assert_eq!(
        last.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (260..300).collect::<Vec<_>>()
    );
    assert!(torn.is_none());
    let from: Vec<u64> = t
        .log()
        .entries(Filter {
            from_seq: 133,
            ..Filter::default()
        })
        .unwrap()
        .map(|e| e.unwrap().seq)
        .collect();
    assert_eq!(from, (133..300).collect::<Vec<_>>());
    let report = t.verify();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.segments, segments.len());
}

#[test]
fn checkpoints_every_n_entries_and_on_close() {
    let t = TestLog::with(options(10, 8 << 20));
    let log = t.log();
    let mut a = log.appender().unwrap();
    for i in 0..23 {
        a.append(&[record(i)]).unwrap();
    }
    let sizes = |t: &TestLog| -> Vec<u64> {
        let mut v: Vec<u64> = std::fs::read_dir(t.audit("checkpoints"))
            .unwrap()
            .map(|e| {
                e.unwrap().file_name().to_str().unwrap()[..20]
                    .parse()
                    .unwrap()
            })
            .collect();
        v.sort();
        v
    };
    // The first entry gets a checkpoint at once; then one per 10 entries.
    assert_eq!(sizes(&t), vec![1, 11, 21]);
    let closed = a.close().unwrap().expect("a final checkpoint");
    assert_eq!(closed.checkpoint.size, 23);
    assert_eq!(sizes(&t), vec![1, 11, 21, 23]);
    let latest = std::fs::read_to_string(t.audit("checkpoint")).unwrap();
    assert_eq!(latest, closed.note);
    let key = log.public_key().unwrap().unwrap().0;
    let opened = SignedCheckpoint::open(&latest, &key).unwrap();
    assert_eq!(opened.checkpoint.root, t.verify().root);
    // Closing again with nothing new signs nothing.
    assert!(log.appender().unwrap().close().unwrap().is_none());
}

#[test]
fn checkpoint_interval_signs_when_old() {
    let mut o = options(1_000_000, 8 << 20);
    o.checkpoint_interval = Duration::from_millis(100);
    let t = TestLog::with(o);
    let mut a = t.log().appender().unwrap();
    a.append(&[record(0)]).unwrap(); // first checkpoint at once (size 1)
    a.append(&[record(1)]).unwrap(); // the interval has not passed
    assert!(!t.audit("checkpoints/00000000000000000002.note").exists());
    std::thread::sleep(Duration::from_millis(150));
    a.append(&[record(2)]).unwrap();
    assert!(t.audit("checkpoints/00000000000000000003.note").exists());
    a.append(&[record(3)]).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    // A quiet log gets its checkpoint from the timer of a long-running writer.
    assert_eq!(a.checkpoint_if_due().unwrap().unwrap().checkpoint.size, 4);
    assert!(a.checkpoint_if_due().unwrap().is_none());
}

#[test]
fn explicit_checkpoint_covers_everything_once() {
    let t = TestLog::new();
    let log = t.log();
    let empty = log.checkpoint().unwrap();
    assert_eq!(empty.checkpoint.size, 0);
    assert_eq!(empty.checkpoint.root, aegisclaw_audit::empty_root());
    log.append(&[record(0), record(1)]).unwrap();
    let a = log.checkpoint().unwrap();
    let b = log.checkpoint().unwrap();
    assert_eq!(a, b, "no new checkpoint when nothing changed");
    assert_eq!(a.checkpoint.size, 2);
}

#[test]
fn oversized_entries_are_refused_and_nothing_is_written() {
    let t = TestLog::new();
    t.fill(3, 3);
    let before = std::fs::read(&t.segments()[0]).unwrap();
    let huge = Record::new("a", "b", "c").result("x".repeat(aegisclaw_audit::MAX_FIELD_BYTES + 1));
    let err = t.log().append(&[record(3), huge]).unwrap_err();
    assert!(err.to_string().contains("field `result`"), "{err}");
    assert_eq!(std::fs::read(&t.segments()[0]).unwrap(), before);
    assert_eq!(t.log().append(&[record(3)]).unwrap(), 3..4);
}

#[test]
fn interleaved_appenders_in_one_process_share_one_sequence() {
    let t = TestLog::with(options(5, 4096));
    let log = t.log();
    let mut a = log.appender().unwrap();
    let mut b = log.appender().unwrap();
    let mut got = Vec::new();
    for i in 0..60 {
        let w = if i % 3 == 0 { &mut a } else { &mut b };
        got.push(w.append(&[record(i)]).unwrap().start);
    }
    assert_eq!(got, (0..60).collect::<Vec<_>>());
    assert!(t.verify().ok);
}

#[test]
fn group_commit_writer_serves_many_threads() {
    let t = TestLog::with(options(100, 16 << 10));
    let writer = t.log().writer().unwrap();
    let mut threads = Vec::new();
    for th in 0..8 {
        let h = writer.handle();
        threads.push(std::thread::spawn(move || {
            (0..50)
                .map(|i| {
                    let r =
                        Record::new(format!("thread-{th}"), "exec", "allow").result(i.to_string());
                    if i % 10 == 0 {
                        let range = h.append_batch(vec![r.clone(), r]).unwrap();
                        assert_eq!(range.end - range.start, 2);
                        range.collect::<Vec<_>>()
                    } else {
                        vec![h.append(r).unwrap()]
                    }
                })
                .collect::<Vec<_>>()
                .concat()
        }));
    }
    let mut seqs: Vec<u64> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let final_cp = writer
        .shutdown()
        .unwrap()
        .expect("final checkpoint on shutdown");
    seqs.sort();
    assert_eq!(seqs, (0..8 * 55).collect::<Vec<_>>(), "gap-free and unique");
    assert_eq!(final_cp.checkpoint.size, 8 * 55);
    let entries = all_entries(&t.log());
    let actors: BTreeSet<_> = entries.iter().map(|e| e.record.actor.clone()).collect();
    assert_eq!(actors.len(), 8);
    assert!(t.verify().ok);
}

#[test]
fn follower_sees_new_entries_across_segments() {
    let t = TestLog::with(options(1000, 4096));
    t.fill(10, 10);
    let mut f = t.log().follow(8).unwrap();
    let first: Vec<u64> = f.poll().unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(first, vec![8, 9]);
    assert!(f.poll().unwrap().is_empty());
    let mut a = t.log().appender().unwrap();
    for i in 10..120 {
        a.append(&[record(i)]).unwrap();
    }
    assert!(t.segments().len() > 3);
    let more: Vec<u64> = f.poll().unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(more, (10..120).collect::<Vec<_>>());
}

#[test]
fn an_empty_home_reads_as_an_empty_log() {
    let t = TestLog::new();
    assert!(all_entries(&t.log()).is_empty());
    let report = t.verify();
    assert!(report.ok);
    assert_eq!(report.entries, 0);
    assert!(!t.home_dir().exists(), "reading creates nothing");
}
