//! What an approval is bound to.

use serde_json::json;
use sha2::{Digest, Sha256};

/// The hash of exactly what a human approves: the skill, its content digest, the command line
/// and arguments it runs with, and the scopes it is granted. A decision (and a grant "for a
/// duration") applies to this hash and to nothing else: another argument, another scope or a
/// changed file of the skill is a new question.
///
/// The input is canonical JSON (sorted scopes, a fixed field order) so that the same action
/// always hashes the same way.
pub fn binding(skill: &str, digest: &str, argv: &[String], scopes: &[String]) -> String {
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let canonical = json!({
        "v": 1,
        "skill": skill,
        "digest": digest,
        "argv": argv,
        "scopes": scopes,
    });
    let hash = Sha256::digest(canonical.to_string().as_bytes());
    format!("sha256:{}", hex::encode(hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn every_part_of_the_action_changes_the_binding() {
        let base = binding("s", "sha256:aa", &argv(&["x", "y"]), &argv(&["shell.exec"]));
        assert_eq!(
            base,
            binding("s", "sha256:aa", &argv(&["x", "y"]), &argv(&["shell.exec"]))
        );
        for other in [
            binding("t", "sha256:aa", &argv(&["x", "y"]), &argv(&["shell.exec"])),
            binding("s", "sha256:ab", &argv(&["x", "y"]), &argv(&["shell.exec"])),
            binding(
                "s",
                "sha256:aa",
                &argv(&["x", "y "]),
                &argv(&["shell.exec"]),
            ),
            binding("s", "sha256:aa", &argv(&["x y"]), &argv(&["shell.exec"])),
            binding("s", "sha256:aa", &argv(&["x", "y"]), &argv(&[])),
            binding(
                "s",
                "sha256:aa",
                &argv(&["x", "y"]),
                &argv(&["shell.exec", "files.read:/tmp"]),
            ),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn scope_order_does_not_matter() {
        assert_eq!(
            binding("s", "d", &[], &argv(&["a.b", "c.d"])),
            binding("s", "d", &[], &argv(&["c.d", "a.b", "a.b"]))
        );
    }
}
