//! Helpers: actions with a given signature and taint, the template tables.

use aegisclaw_core::{
    Action, ActionKind, Decision, PolicyTemplate, Risk, Scope, SignatureStatus, SkillRef,
};

/// An action needing `scopes`, by a skill that is signed or not (or no skill), tainted or not.
pub(crate) fn action(scopes: &[&str], signed: Option<bool>, tainted: bool) -> Action {
    let scopes: Vec<Scope> = scopes.iter().map(|s| s.parse().unwrap()).collect();
    let mut action = Action::new("test-agent", ActionKind::Exec, scopes);
    action.actor.skill = signed.map(|signed| SkillRef {
        name: "example-skill".into(),
        version: Some("1.0.0".into()),
        digest: Some("sha256:00".into()),
        signature: if signed {
            SignatureStatus::Signed
        } else {
            SignatureStatus::Unsigned
        },
        signer: signed.then(|| "key:test".into()),
    });
    action.provenance.tainted = tainted;
    action
}

/// One row of a template table: the scope, its risk, and the decision for
/// (signed, clean), (signed, tainted), (unsigned, clean), (unsigned, tainted).
pub(crate) struct Row {
    pub(crate) scope: String,
    pub(crate) risk: Risk,
    pub(crate) decisions: [Decision; 4],
}

/// The columns of a table, in order: (signed, tainted).
pub(crate) const COLUMNS: [(bool, bool); 4] =
    [(true, false), (true, true), (false, false), (false, true)];

pub(crate) fn table(template: PolicyTemplate) -> Vec<Row> {
    let text = match template {
        PolicyTemplate::Strict => include_str!("../../templates/strict.table"),
        PolicyTemplate::Standard => include_str!("../../templates/standard.table"),
        PolicyTemplate::Permissive => include_str!("../../templates/permissive.table"),
    };
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(cells.len(), 6, "malformed table row: {l}");
            Row {
                scope: cells[0].to_string(),
                risk: cells[1].parse().unwrap(),
                decisions: [2, 3, 4, 5].map(|i| cells[i].parse().unwrap()),
            }
        })
        .collect()
}
