//! Several processes (and a group-commit writer in this one) appending at once: one gap-free
//! sequence, every batch contiguous, nothing lost or duplicated.

use std::collections::BTreeMap;
use std::process::Stdio;

use aegisclaw_audit::Record;

use crate::common::{Child, TestLog, all_entries, committed, options, stress};

#[test]
fn processes_appending_at_once_share_one_gap_free_sequence() {
    let t = TestLog::with(options(25, 16 << 10));
    let writers: [(&str, &str, bool); 5] = [
        ("p-single", "1", false),
        ("p-seven", "7", false),
        ("p-fifty", "50", false),
        ("p-oneshot", "3", true),
        ("p-oneshot1", "1", true),
    ];
    let mut children: Vec<(&str, Child)> = writers
        .iter()
        .map(|(actor, batch, one_shot)| {
            let mut c = stress(&t.home_dir());
            c.args(["--count", "200", "--batch", batch, "--actor", actor])
                .args(["--segment-size", "16384", "--checkpoint-every", "25"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if *one_shot {
                c.arg("--one-shot");
            }
            (*actor, Child(c.spawn().unwrap()))
        })
        .collect();

    // Meanwhile, a long-running group-commit writer in this process.
    let writer = t.log().writer().unwrap();
    let mut mine = Vec::new();
    for i in 0..100 {
        mine.push(
            writer
                .append(Record::new("in-process", "exec", "allow").result(i.to_string()))
                .unwrap(),
        );
    }
    writer.shutdown().unwrap();

    let mut ranges: Vec<(u64, u64, String)> = Vec::new();
    for (actor, child) in &mut children {
        let out = std::mem::replace(
            &mut child.0,
            std::process::Command::new("true").spawn().unwrap(),
        )
        .wait_with_output()
        .unwrap();
        assert!(
            out.status.success(),
            "{actor}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = committed(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(got.iter().map(|(a, b)| b - a).sum::<u64>(), 200, "{actor}");
        ranges.extend(got.into_iter().map(|(a, b)| (a, b, actor.to_string())));
    }
    ranges.extend(mine.iter().map(|&s| (s, s + 1, "in-process".to_string())));
    ranges.sort();
    // The committed ranges tile 0..1100 exactly: no gap, no overlap.
    let mut next = 0;
    for (a, b, who) in &ranges {
        assert_eq!(*a, next, "range {a}..{b} of {who}");
        next = *b;
    }
    assert_eq!(next, 1100);

    let entries = all_entries(&t.log());
    assert_eq!(entries.len(), 1100);
    for (a, b, who) in &ranges {
        for e in &entries[*a as usize..*b as usize] {
            assert_eq!(&e.record.actor, who, "entry {} belongs to {who}", e.seq);
        }
    }
    // Each writer's entries are in its own order.
    let mut order: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in &entries {
        order
            .entry(&e.record.actor)
            .or_default()
            .push(e.record.result.parse().unwrap());
    }
    for (who, results) in order {
        let n = if who == "in-process" { 100 } else { 200 };
        assert_eq!(results, (0..n).collect::<Vec<_>>(), "{who}");
    }
    let report = t.verify();
    assert!(report.ok, "{report:#?}");
    assert!(report.segments > 3);
}
