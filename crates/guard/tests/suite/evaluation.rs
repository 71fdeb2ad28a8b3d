//! The detector meets its targets on the validation splits: F1 ≥ 0.93, false-positive rate ≤ 3%.

use aegisclaw_core::{GuardConfig, GuardMode};
use aegisclaw_guard::Guard;

use super::validation;

fn guard() -> Guard {
    Guard::new(&GuardConfig {
        host: GuardMode::Warn,
        tools: GuardMode::Warn,
        model: GuardMode::Warn,
        network: GuardMode::Warn,
    })
}

#[test]
fn s_labs_validation_meets_targets() {
    let r = guard().evaluate(&validation("s-labs"));
    assert_eq!(r.examples, 2101);
    assert!(r.f1 >= 0.93, "{r:?}");
    assert!(r.false_positive_rate <= 0.03, "{r:?}");
}

#[test]
fn neuralchemy_validation_meets_targets() {
    let r = guard().evaluate(&validation("neuralchemy"));
    assert_eq!(r.examples, 941);
    assert!(r.f1 >= 0.93, "{r:?}");
    assert!(r.false_positive_rate <= 0.03, "{r:?}");
}
