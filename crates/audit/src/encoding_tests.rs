use std::time::{Duration, UNIX_EPOCH};

use pretty_assertions::assert_eq;

use super::*;
use crate::hash::leaf_hash;

fn sample() -> Record {
    Record::new("skill:git-stats", "exec", "allow")
        .at(UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789))
        .scope("files.read:/home/me/repo")
        .scope("shell.exec")
        .reason("policy: low risk read")
        .result("exit 0, 312 bytes")
        .session("s-1")
        .tool_call("t-9")
        .attr("risk", "low")
        .attr("degraded", "")
}

fn encoded(seq: u64, prev: &Hash, r: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    encode(seq, prev, r, &mut out).unwrap();
    out
}

fn reencode(bytes: &[u8]) -> Vec<u8> {
    let v = decode(bytes).unwrap();
    encoded(v.seq, &v.prev, &v.to_record())
}

#[test]
fn round_trip() {
    let r = sample();
    let prev = leaf_hash(b"previous");
    let bytes = encoded(42, &prev, &r);
    let v = decode(&bytes).unwrap();
    assert_eq!(v.seq, 42);
    assert_eq!(v.prev, prev);
    assert_eq!(v.to_record(), r);
    assert_eq!(reencode(&bytes), bytes);
}

/// The exact bytes of a small entry, field by field, as `FORMAT.md` describes them.
#[test]
fn golden_bytes() {
    let r = Record::new("u", "exec", "deny")
        .at(UNIX_EPOCH + Duration::from_nanos(0x0102_0304_0506_0708))
        .scope("a")
        .attr("k", "v")
        .run("r");
    let got = encoded(7, &Hash([0xab; 32]), &r);
    let mut want = vec![0x01];
    want.extend([0, 0, 0, 0, 0, 0, 0, 7]);
    want.extend([1, 2, 3, 4, 5, 6, 7, 8]);
    want.extend([0xab; 32]);
    want.extend([0, 0, 0, 1, b'u']);
    want.extend([0, 0, 0, 4, b'e', b'x', b'e', b'c']);
    want.extend([0, 0, 0, 1, 0, 0, 0, 1, b'a']);
    want.extend([0, 0, 0, 4, b'd', b'e', b'n', b'y']);
    want.extend([0, 0, 0, 0]); // reasons
    want.extend([0, 0, 0, 0]); // result ""
    want.extend([0]); // session
    want.extend([1, 0, 0, 0, 1, b'r']); // run
    want.extend([0]); // tool_call
    want.extend([0, 0, 0, 1, 0, 0, 0, 1, b'k', 0, 0, 0, 1, b'v']);
    assert_eq!(got, want);
}

/// Any accepted byte string is the one and only encoding of what it decodes to: flipping any bit
/// of an entry either makes it undecodable or makes it a different entry whose re-encoding is
/// exactly the flipped bytes. So the entry hash covers every byte.
#[test]
fn every_bit_is_covered() {
    let bytes = encoded(3, &leaf_hash(b"p"), &sample());
    for i in 0..bytes.len() * 8 {
        let mut b = bytes.clone();
        b[i / 8] ^= 1 << (i % 8);
        if decode(&b).is_ok() {
            assert_eq!(reencode(&b), b, "bit {i}");
            assert_ne!(leaf_hash(&b), leaf_hash(&bytes));
        }
    }
}

#[test]
fn non_canonical_forms_are_rejected() {
    let r = Record::new("a", "b", "c")
        .at(UNIX_EPOCH)
        .attr("x", "1")
        .attr("y", "2");
    let good = encoded(0, &Hash::ZERO, &r);
    assert!(decode(&good).is_ok());

    let mut trailing = good.clone();
    trailing.push(0);
    assert!(decode(&trailing).unwrap_err().what.contains("trailing"));

    let mut version = good.clone();
    version[0] = 2;
    assert!(decode(&version).unwrap_err().what.contains("version 2"));

    // Swap the two attribute keys: unsorted.
    let n = good.len();
    let mut unsorted = good.clone();
    let (x, y) = (n - 16, n - 6); // each pair is 4+1 bytes of key, 4+1 of value
    assert_eq!((unsorted[x], unsorted[y]), (b'x', b'y'));
    unsorted.swap(x, y);
    assert!(decode(&unsorted).unwrap_err().what.contains("sorted"));

    // A duplicate key.
    let mut dup = good.clone();
    dup[y] = b'x';
    assert!(decode(&dup).unwrap_err().what.contains("sorted"));

    // Option tag 2 for `session` (right after result's empty string).
    let r2 = Record::new("a", "b", "c").at(UNIX_EPOCH);
    let mut tag = encoded(0, &Hash::ZERO, &r2);
    let session_at = tag.len() - 7; // session, run, tool_call tags then attrs count (4)
    assert_eq!(tag[session_at], 0);
    tag[session_at] = 2;
    assert!(decode(&tag).unwrap_err().what.contains("option tag 2"));

    // Invalid UTF-8 in actor.
    let mut utf = good.clone();
    utf[1 + 8 + 8 + 32 + 4] = 0xff;
    assert!(decode(&utf).unwrap_err().what.contains("UTF-8"));

    // Truncated.
    assert!(decode(&good[..good.len() - 1]).is_err());
    assert!(decode(&[]).is_err());
}

#[test]
fn limits_name_the_field() {
    let big = "x".repeat(MAX_FIELD_BYTES + 1);
    let mut out = vec![9];
    let e = encode(
        0,
        &Hash::ZERO,
        &Record::new("a", "b", "c").reason(&big),
        &mut out,
    );
    assert!(
        matches!(&e, Err(EncodeError::FieldTooLong { field, .. }) if field == "reasons[0]"),
        "{e:?}"
    );
    assert_eq!(out, vec![9], "a failed encode leaves the buffer as it was");

    let e = encode(
        0,
        &Hash::ZERO,
        &Record::new("a", "b", "c").attr("k", &big),
        &mut out,
    );
    assert!(matches!(&e, Err(EncodeError::FieldTooLong { field, .. }) if field == "attrs.k"));

    let mut many = Record::new("a", "b", "c");
    many.scopes = vec!["s".into(); MAX_ITEMS + 1];
    assert!(matches!(
        encode(0, &Hash::ZERO, &many, &mut out),
        Err(EncodeError::TooManyItems {
            field: "scopes",
            ..
        })
    ));

    let mut huge = Record::new("a", "b", "c");
    huge.reasons = vec!["y".repeat(MAX_FIELD_BYTES); 17];
    assert!(matches!(
        encode(0, &Hash::ZERO, &huge, &mut out),
        Err(EncodeError::EntryTooLarge { .. })
    ));

    let early = Record::new("a", "b", "c").at(UNIX_EPOCH - Duration::from_secs(1));
    assert_eq!(
        encode(0, &Hash::ZERO, &early, &mut out),
        Err(EncodeError::TimeOutOfRange)
    );
}
