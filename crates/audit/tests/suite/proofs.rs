//! Inclusion proofs: every entry against the newest and older checkpoints, checked offline;
//! any change to a proof makes it fail.

use aegisclaw_audit::{Error, InclusionProof, SignedCheckpoint};

use crate::common::{TestLog, options, record};

#[test]
fn every_entry_has_a_proof_that_checks() {
    let t = TestLog::with(options(10, 4096));
    t.fill(37, 3);
    let log = t.log();
    let key = log.public_key().unwrap().unwrap().0;
    let latest = log.latest_checkpoint(&key).unwrap().unwrap();
    assert_eq!(latest.checkpoint.size, 37);
    for seq in 0..37 {
        let proof = log.prove(seq, &latest).unwrap();
        let json = serde_json::to_string(&proof).unwrap();
        let back: InclusionProof = serde_json::from_str(&json).unwrap();
        let entry = back.check(&key).unwrap();
        assert_eq!(entry.seq, seq);
        assert_eq!(entry.record, record(seq));
    }
    // Against an older checkpoint (batches of 3, every 10: sizes 3, 15, 27, 37) too; entries after it are not covered by it.
    let old_note =
        std::fs::read_to_string(t.audit("checkpoints/00000000000000000015.note")).unwrap();
    let old = SignedCheckpoint::open(&old_note, &key).unwrap();
    log.prove(14, &old).unwrap().check(&key).unwrap();
    assert!(matches!(
        log.prove(15, &old),
        Err(Error::NotCovered { seq: 15, size: 15 })
    ));
}

#[test]
fn altered_proofs_fail() {
    let t = TestLog::new();
    t.fill(21, 21);
    let log = t.log();
    let key = log.public_key().unwrap().unwrap().0;
    let cp = log.latest_checkpoint(&key).unwrap().unwrap();
    let good = log.prove(9, &cp).unwrap();
    good.check(&key).unwrap();

    let other_entry = log.prove(10, &cp).unwrap();
    let mut alterations: Vec<(&str, InclusionProof)> = Vec::new();
    let mut p = good.clone();
    p.entry = other_entry.entry;
    alterations.push(("another entry", p));
    let mut p = good.clone();
    p.seq = 10;
    alterations.push(("another seq", p));
    let mut p = good.clone();
    p.path[1].0[3] ^= 1;
    alterations.push(("a path hash", p));
    let mut p = good.clone();
    p.path.pop();
    alterations.push(("a shorter path", p));
    let mut p = good.clone();
    p.tree_size = 20;
    alterations.push(("another size", p));
    let mut p = good.clone();
    p.checkpoint = p.checkpoint.replace("\n21\n", "\n22\n");
    alterations.push(("a forged checkpoint", p));
    let mut p = good.clone();
    p.leaf_hash.0[0] ^= 1;
    alterations.push(("the leaf hash", p));
    for (what, p) in alterations {
        assert!(p.check(&key).is_err(), "{what} went unnoticed");
    }
    let other_key = aegisclaw_audit::SignerKey::generate("x.example/log")
        .unwrap()
        .verifier();
    assert!(good.check(&other_key).is_err());
}

#[test]
fn a_log_that_differs_from_the_checkpoint_gives_no_proof() {
    let t = TestLog::new();
    t.fill(8, 8);
    let log = t.log();
    let key = log.public_key().unwrap().unwrap().0;
    let cp = log.latest_checkpoint(&key).unwrap().unwrap();
    let (seg, off, len) = t.locate(3);
    let mut d = std::fs::read(&seg).unwrap();
    let at = off + len - 12;
    d[at] ^= 1;
    crate::common::fix_crc(&mut d, off);
    std::fs::write(&seg, d).unwrap();
    assert!(matches!(
        log.prove(5, &cp),
        Err(Error::CheckpointMismatch { size: 8, .. })
    ));
}
