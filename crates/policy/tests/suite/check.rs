//! `check`: lint findings and the policy's own tests.

use aegisclaw_policy::{Severity, check};

#[test]
fn failing_and_erroring_tests_are_reported() {
    let report = check(
        "p.rego",
        r#"package aegisclaw
import rego.v1
allow contains {"rule": "r", "message": "m"} if input.kind == "exec"
test_passes if { count(allow) == 1 with input as {"kind": "exec"} }
test_fails if { count(allow) == 2 with input as {"kind": "exec"} }
test_errors := 1 / 0
"#,
    );
    assert!(!report.ok());
    let by_name = |n: &str| report.tests.iter().find(|t| t.name == n).unwrap();
    assert!(by_name("test_passes").passed);
    assert!(!by_name("test_fails").passed);
    assert!(!by_name("test_errors").passed);
}

#[test]
fn lint_findings() {
    let report = check(
        "p.rego",
        "package aegisclaw\nimport rego.v1\nask contains {\"rule\": \"r\", \"message\": \"m\"} if true\n",
    );
    assert!(report.ok(), "{report:#?}");
    let warnings: Vec<&str> = report.lints.iter().map(|l| l.message.as_str()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("no `allow` rule")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("no `test_*` rules")),
        "{warnings:?}"
    );

    let report = check(
        "p.rego",
        "package aegisclaw\nimport rego.v1\n\nallow := true\n",
    );
    assert!(!report.ok());
    let lint = &report.lints[0];
    assert_eq!((lint.severity, lint.line), (Severity::Error, Some(4)));

    let report = check("p.rego", "package aegisclaw\nallow contains x if {");
    assert!(!report.ok());
    assert!(report.error.is_some());
}
