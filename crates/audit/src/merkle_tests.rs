//! Known-answer tests against published RFC 6962 vectors, and exhaustive round trips.
//!
//! The vectors are the classic ones of the Certificate Transparency reference implementation,
//! as published in transparency-dev/merkle, `proof/verify_test.go` (Apache-2.0, the licence of
//! this project): eight leaves, the roots of the trees of sizes 1 to 8, and inclusion and
//! consistency proofs between them. Only the data is reproduced here.

use super::*;
use crate::hash::leaf_hash;

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

fn leaves() -> Vec<Hash> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|x| leaf_hash(&hex::decode(x).unwrap()))
    .collect()
}

/// ROOTS[i] is the root of the tree of the first i + 1 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn root_of(size: u64) -> Hash {
    h(ROOTS[size as usize - 1])
}

/// (leaf index, tree size, audit path). The published table counts leaves from 1.
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof).
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

#[test]
fn roots_match_published_vectors() {
    let leaves = leaves();
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), empty_root());
    for size in 1..=8u64 {
        frontier.push(leaves[size as usize - 1]);
        assert_eq!(
            root(&leaves[..size as usize]),
            root_of(size),
            "MTH size {size}"
        );
        assert_eq!(frontier.root(), root_of(size), "frontier size {size}");
        assert_eq!(frontier.nodes().len(), size.count_ones() as usize);
    }
}

#[test]
fn inclusion_proofs_match_published_vectors() {
    let leaves = leaves();
    for (index, size, want) in inclusion_vectors() {
        let tree = &leaves[..size as usize];
        let got = inclusion_proof(tree, index).unwrap();
        assert_eq!(got, want, "path of {index} in {size}");
        verify_inclusion(index, size, &leaves[index as usize], &want, &root_of(size))
            .unwrap_or_else(|e| panic!("{index} in {size}: {e}"));
    }
}

#[test]
fn consistency_proofs_match_published_vectors() {
    let leaves = leaves();
    for (old, new, want) in consistency_vectors() {
        let got = consistency_proof(&leaves[..new as usize], old).unwrap();
        assert_eq!(got, want, "proof {old} -> {new}");
        verify_consistency(old, new, &root_of(old), &root_of(new), &want)
            .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
    }
}

/// Every alteration of a valid inclusion proof or of its claim must be rejected (the probe set
/// of the published test suite).
#[test]
fn corrupted_inclusion_proofs_fail() {
    let leaves = leaves();
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    for (index, size, proof) in inclusion_vectors() {
        let leaf = leaves[index as usize];
        let r = root_of(size);
        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            ("index+1".into(), index + 1, size, leaf, r, proof.clone()),
            ("index^2".into(), index ^ 2, size, leaf, r, proof.clone()),
            ("size*2".into(), index, size * 2, leaf, r, proof.clone()),
            ("size/2".into(), index, size / 2, leaf, r, proof.clone()),
            (
                "wrong leaf".into(),
                index,
                size,
                leaf_hash(b"WrongLeaf"),
                r,
                proof.clone(),
            ),
            (
                "empty root".into(),
                index,
                size,
                leaf,
                empty_root(),
                proof.clone(),
            ),
            ("random root".into(), index, size, leaf, some, proof.clone()),
            (
                "trailing root".into(),
                index,
                size,
                leaf,
                r,
                [proof.clone(), vec![r]].concat(),
            ),
            (
                "preceding root".into(),
                index,
                size,
                leaf,
                r,
                [vec![r], proof.clone()].concat(),
            ),
        ];
        if index > 0 {
            probes.push(("index-1".into(), index - 1, size, leaf, r, proof.clone()));
        }
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i].0[0] ^= 8;
            probes.push((format!("bit flip in proof[{i}]"), index, size, leaf, r, p));
        }
        if !proof.is_empty() {
            let p = proof[..proof.len() - 1].to_vec();
            probes.push(("removed component".into(), index, size, leaf, r, p));
        }
        if proof.len() > 1 {
            let p = [vec![proof[0], some], proof[1..].to_vec()].concat();
            probes.push(("inserted component".into(), index, size, leaf, r, p));
        }
        for (desc, i, s, l, rt, p) in probes {
            if (i, s, l, rt, &p) == (index, size, leaf, r, &proof) {
                continue; // e.g. index ^ 2 == index is impossible, but size / 2 may equal size
            }
            assert!(
                verify_inclusion(i, s, &l, &p, &rt).is_err(),
                "{desc} of ({index}, {size}) verified"
            );
        }
    }
}

#[test]
fn corrupted_consistency_proofs_fail() {
    for (old, new, proof) in consistency_vectors() {
        if proof.is_empty() {
            continue;
        }
        let (r1, r2) = (root_of(old), root_of(new));
        let wrong = leaf_hash(b"WrongRoot");
        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            ("old-1".into(), old - 1, new, r1, r2, proof.clone()),
            ("old+1".into(), old + 1, new, r1, r2, proof.clone()),
            ("old^2".into(), old ^ 2, new, r1, r2, proof.clone()),
            ("new*2".into(), old, new * 2, r1, r2, proof.clone()),
            ("new/2".into(), old, new / 2, r1, r2, proof.clone()),
            ("wrong root1".into(), old, new, wrong, r2, proof.clone()),
            ("wrong root2".into(), old, new, r1, wrong, proof.clone()),
            ("swapped roots".into(), old, new, r2, r1, proof.clone()),
            ("empty proof".into(), old, new, r1, r2, vec![]),
            (
                "trailing root1".into(),
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r1]].concat(),
            ),
            (
                "trailing root2".into(),
                old,
                new,
                r1,
                r2,
                [proof.clone(), vec![r2]].concat(),
            ),
            (
                "preceding root1".into(),
                old,
                new,
                r1,
                r2,
                [vec![r1], proof.clone()].concat(),
            ),
            (
                "preceding proof[0]".into(),
                old,
                new,
                r1,
                r2,
                [vec![proof[0]], proof.clone()].concat(),
            ),
            (
                "truncated".into(),
                old,
                new,
                r1,
                r2,
                proof[..proof.len() - 1].to_vec(),
            ),
        ];
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i].0[0] ^= 16;
            probes.push((format!("bit flip in proof[{i}]"), old, new, r1, r2, p));
        }
        for (desc, o, n, a, b, p) in probes {
            assert!(
                verify_consistency(o, n, &a, &b, &p).is_err(),
                "{desc} of ({old} -> {new}) verified"
            );
        }
    }
}

#[test]
fn trivial_consistency_cases() {
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    assert!(verify_consistency(0, 0, &a, &a, &[]).is_ok());
    assert!(verify_consistency(0, 5, &a, &b, &[]).is_ok());
    assert!(verify_consistency(3, 3, &a, &a, &[]).is_ok());
    assert!(verify_consistency(3, 3, &a, &b, &[]).is_err());
    assert!(verify_consistency(3, 3, &a, &a, &[b]).is_err());
    assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
    assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
    assert!(inclusion_proof(&[], 0).is_err());
    assert!(verify_inclusion(0, 0, &a, &[], &a).is_err());
}

/// Every proof this module generates for trees up to 70 leaves verifies, and the streaming
/// frontier agrees with the recursive definition at every size.
#[test]
fn generated_proofs_round_trip() {
    let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let mut frontier = Frontier::new();
    for n in 1..=leaves.len() {
        frontier.push(leaves[n - 1]);
        let tree = &leaves[..n];
        let r = root(tree);
        assert_eq!(frontier.root(), r, "size {n}");
        for i in 0..n as u64 {
            let p = inclusion_proof(tree, i).unwrap();
            verify_inclusion(i, n as u64, &leaves[i as usize], &p, &r)
                .unwrap_or_else(|e| panic!("{i} in {n}: {e}"));
        }
        for m in 0..=n as u64 {
            let p = consistency_proof(tree, m).unwrap();
            let old = root(&leaves[..m as usize]);
            verify_consistency(m, n as u64, &old, &r, &p)
                .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
        }
    }
}

#[test]
fn frontier_from_parts_checks_the_shape() {
    let mut f = Frontier::new();
    for i in 0..11u32 {
        f.push(leaf_hash(&i.to_be_bytes()));
    }
    let again = Frontier::from_parts(f.size(), f.nodes().to_vec()).unwrap();
    assert_eq!(again, f);
    assert!(Frontier::from_parts(12, f.nodes().to_vec()).is_none());
}
