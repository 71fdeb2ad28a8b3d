//! kill -9 of a writer process in the middle of its appends: nothing it reported committed is
//! lost, verify reports at most a torn last record, and appending continues.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Child, TestLog, all_entries, committed, lines, options, record, stress};

#[test]
fn kill_9_mid_append_loses_nothing_committed_and_appends_continue() {
    let t = TestLog::with(options(50, 64 << 10));
    let mut promised: Vec<(u64, u64)> = Vec::new();
    let mut torn_seen = 0;
    for round in 0..4 {
        let mut child = Child(
            stress(&t.home_dir())
                .args(["--forever", "--batch", "40", "--payload", "700"])
                .args(["--segment-size", "65536", "--checkpoint-every", "50"])
                .args(["--actor", &format!("round-{round}")])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let rx = lines(&mut child.0);
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        // Let it commit a few batches (and be in the middle of more), then kill it.
        while got.len() < 4 + round {
            let left = deadline.saturating_duration_since(Instant::now());
            got.push(rx.recv_timeout(left).expect("the writer commits batches"));
        }
        std::thread::sleep(Duration::from_millis(3 * round as u64));
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        // Whatever it printed was durable before it printed it.
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
            got.push(line);
        }
        promised.extend(committed(&got.join("\n")));

        let report = t.verify();
        if !report.ok {
            // The only acceptable damage is a torn last record.
            assert_eq!(report.problems.len(), 1, "{report:#?}");
            assert!(
                report.problems[0].message.contains("torn record"),
                "{report:#?}"
            );
            assert_eq!(report.first_bad_seq, Some(report.entries));
            torn_seen += 1;
        }
        let present: BTreeSet<u64> = all_entries(&t.log()).iter().map(|e| e.seq).collect();
        for &(a, b) in &promised {
            assert!(
                (a..b).all(|s| present.contains(&s)),
                "committed {a}..{b} lost"
            );
        }
        // Appending continues after the crash.
        let next = t.log().append(&[record(round as u64)]).unwrap();
        assert!(next.start >= present.len() as u64);
        let report = t.verify();
        assert!(report.ok, "after the next append: {report:#?}");
    }
    let entries = all_entries(&t.log());
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (0..entries.len() as u64).collect::<Vec<_>>(),
        "gap-free"
    );
    let recovered = entries
        .iter()
        .filter(|e| e.record.action == "audit.recover")
        .count();
    assert_eq!(recovered, torn_seen, "every torn tail is recorded");
    eprintln!(
        "{} entries, {torn_seen} torn tails recovered in 4 kills",
        entries.len()
    );
}
