//! The decision tables of the templates (`templates/*.table`), row by row.

use aegisclaw_core::{BuiltinScope, PolicyTemplate, Scope};
use aegisclaw_policy::{PolicyEngine, ScopeRegistry, check, templates};
use pretty_assertions::assert_eq;

use crate::common::{COLUMNS, action, table};

#[test]
fn tables_cover_every_registered_scope() {
    let registry = ScopeRegistry::builtin();
    for template in PolicyTemplate::ALL {
        let rows = table(template);
        let names: Vec<String> = rows
            .iter()
            .map(|r| r.scope.parse::<Scope>().unwrap().name().to_string())
            .collect();
        let registered: Vec<String> = registry.entries().into_iter().map(|i| i.name).collect();
        assert_eq!(names, registered, "{template}");
        for row in &rows {
            let scope: Scope = row.scope.parse().unwrap();
            assert_eq!(
                registry.risk(&scope).unwrap(),
                row.risk,
                "{template}: {}",
                row.scope
            );
        }
        assert_eq!(rows.len(), BuiltinScope::ALL.len());
    }
}

#[test]
fn every_template_decides_as_its_table_says() {
    let mut checked = 0;
    for template in PolicyTemplate::ALL {
        let engine = PolicyEngine::from_template(template, ScopeRegistry::builtin());
        for row in table(template) {
            for ((signed, tainted), expected) in COLUMNS.iter().zip(row.decisions) {
                let verdict = engine
                    .evaluate(&action(&[&row.scope], Some(*signed), *tainted))
                    .verdict;
                assert_eq!(
                    verdict.decision, expected,
                    "{template}: {} signed={signed} tainted={tainted}: {:?}",
                    row.scope, verdict.reasons
                );
                assert!(!verdict.reasons.is_empty(), "a verdict always has a reason");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 13 * 4);
}

#[test]
fn an_agent_without_a_skill_is_decided_like_a_signed_skill() {
    for template in PolicyTemplate::ALL {
        let engine = PolicyEngine::from_template(template, ScopeRegistry::builtin());
        for row in table(template) {
            for (column, tainted) in [(0, false), (1, true)] {
                let got = engine
                    .evaluate(&action(&[&row.scope], None, tainted))
                    .verdict;
                assert_eq!(
                    got.decision, row.decisions[column],
                    "{template}: {}",
                    row.scope
                );
            }
        }
    }
}

#[test]
fn the_strictest_scope_decides_a_multi_scope_action() {
    let engine = PolicyEngine::from_template(PolicyTemplate::Standard, ScopeRegistry::builtin());
    let decide = |scopes: &[&str], signed| {
        engine
            .evaluate(&action(scopes, Some(signed), false))
            .verdict
    };
    let v = decide(&["files.read:/a", "llm.call:openai/gpt-4o"], true);
    assert_eq!(v.decision, aegisclaw_core::Decision::Allow);
    let v = decide(&["files.read:/a", "shell.exec"], true);
    assert_eq!(v.decision, aegisclaw_core::Decision::Ask);
    assert_eq!(v.reasons[0].scope.as_deref(), Some("shell.exec"));
    let v = decide(&["files.read:/a", "shell.exec", "payments.send"], false);
    assert_eq!(v.decision, aegisclaw_core::Decision::Deny);
    assert_eq!(v.reasons[0].rule, "critical_unsigned");
}

#[test]
fn whole_action_rules() {
    use aegisclaw_core::{Decision, Finding, SignatureStatus};
    for template in PolicyTemplate::ALL {
        let engine = PolicyEngine::from_template(template, ScopeRegistry::builtin());
        let mut a = action(&["files.read:/a"], Some(true), false);
        assert_eq!(
            engine.evaluate(&a).verdict.decision,
            Decision::Allow,
            "{template}"
        );

        a.environment.lockdown = true;
        let v = engine.evaluate(&a).verdict;
        assert_eq!(
            (v.decision, v.reasons[0].rule.as_str()),
            (Decision::Deny, "lockdown"),
            "{template}"
        );
        a.environment.lockdown = false;

        a.actor.skill.as_mut().unwrap().signature = SignatureStatus::Invalid;
        assert_eq!(
            engine.evaluate(&a).verdict.decision,
            Decision::Deny,
            "{template}"
        );
        a.actor.skill.as_mut().unwrap().signature = SignatureStatus::Signed;

        a.findings.push(Finding {
            detector: "heuristics".into(),
            kind: "prompt_injection".into(),
            score: 0.95,
            detail: "ignore previous instructions".into(),
        });
        let v = engine.evaluate(&a).verdict;
        assert_eq!(
            (v.decision, v.reasons[0].rule.as_str()),
            (Decision::Deny, "guard_finding"),
            "{template}"
        );

        let none = action(&[], Some(true), false);
        assert_eq!(
            engine.evaluate(&none).verdict.decision,
            Decision::Allow,
            "{template}"
        );
    }
}

#[test]
fn prior_approvals_allow_in_standard_but_not_strict() {
    use aegisclaw_core::{Decision, PriorApproval};
    use std::time::Duration;
    let mut a = action(&["files.write:/home/me/out/report.txt"], Some(true), false);
    a.session.approvals.push(PriorApproval {
        scopes: vec!["files.write:/home/me/out".parse().unwrap()],
        expires_at: a.time + Duration::from_secs(60),
    });
    let standard = PolicyEngine::from_template(PolicyTemplate::Standard, ScopeRegistry::builtin());
    let strict = PolicyEngine::from_template(PolicyTemplate::Strict, ScopeRegistry::builtin());
    assert_eq!(standard.evaluate(&a).verdict.decision, Decision::Allow);
    assert_eq!(strict.evaluate(&a).verdict.decision, Decision::Ask);
    // Untrusted content cannot ride on an earlier approval.
    a.provenance.tainted = true;
    assert_eq!(standard.evaluate(&a).verdict.decision, Decision::Ask);
    // An expired approval counts for nothing.
    a.provenance.tainted = false;
    a.session.approvals[0].expires_at = a.time - Duration::from_secs(1);
    assert_eq!(standard.evaluate(&a).verdict.decision, Decision::Ask);
    // Nor does one for a different path.
    a.session.approvals[0].expires_at = a.time + Duration::from_secs(60);
    a.scopes = vec!["files.write:/home/me/outside".parse().unwrap()];
    assert_eq!(standard.evaluate(&a).verdict.decision, Decision::Ask);
}

#[test]
fn obligations_of_the_standard_template() {
    use std::time::Duration;
    let engine = PolicyEngine::from_template(PolicyTemplate::Standard, ScopeRegistry::builtin());
    let v = engine
        .evaluate(&action(
            &["shell.exec", "secrets.access:TOKEN"],
            Some(true),
            false,
        ))
        .verdict;
    assert_eq!(
        v.obligations.approval_ttl,
        Some(Duration::from_secs(15 * 60))
    );
    assert_eq!(v.obligations.max_runtime, Some(Duration::from_secs(5 * 60)));
    assert!(v.obligations.redact);
}

#[test]
fn templates_pass_their_own_tests() {
    for template in PolicyTemplate::ALL {
        let report = check(&format!("template:{template}"), templates::source(template));
        assert!(report.ok(), "{template}: {report:#?}");
        assert!(report.tests.len() >= 3, "{template}: {report:#?}");
        assert!(report.lints.is_empty(), "{template}: {:?}", report.lints);
    }
}
