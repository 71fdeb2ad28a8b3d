//! Evaluating arbitrary input documents (and arbitrary actions) with the standard template:
//! never panics, always answers, and never allows a scope it was not shown a reason for.
#![no_main]

use std::sync::OnceLock;

use aegisclaw_core::{Action, Decision, PolicyTemplate};
use aegisclaw_policy::{PolicyEngine, ScopeRegistry};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        PolicyEngine::from_template(PolicyTemplate::Standard, ScopeRegistry::builtin())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let verdict = engine().evaluate_document(text).verdict;
    assert!(
        !verdict.reasons.is_empty(),
        "every verdict has a reason: {text}"
    );
    if verdict.decision == Decision::Allow {
        // An allowed document must be an object whose scopes the policy spoke about.
        let doc: serde_json::Value = serde_json::from_str(text).expect("allowed input is JSON");
        assert!(doc.is_object(), "{text}");
    }
    if let Ok(action) = serde_json::from_str::<Action>(text) {
        let typed = engine().evaluate(&action).verdict;
        assert!(!typed.reasons.is_empty());
        if action.environment.lockdown {
            assert_eq!(typed.decision, Decision::Deny, "lockdown denies: {text}");
        }
    }
});
