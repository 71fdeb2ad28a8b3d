//! `policy check`: compile, lint and run the policy's own tests.

use std::time::Duration;

use serde::Serialize;

use crate::compiled::{CompileError, Compiled, Lint, Severity};

/// The result of one `test_*` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    pub name: String,
    pub passed: bool,
    /// Why it failed, when it did not merely evaluate to false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything `policy check` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub name: String,
    /// `None` when the policy compiles and honours the contract; else why not.
    pub error: Option<String>,
    pub lints: Vec<Lint>,
    pub tests: Vec<TestResult>,
}

impl CheckReport {
    /// Compiles, no lint error, every test passed.
    pub fn ok(&self) -> bool {
        self.error.is_none()
            && self.lints.iter().all(|l| l.severity != Severity::Error)
            && self.tests.iter().all(|t| t.passed)
    }
}

/// Checks a policy text: does it parse, honour the contract (lint), evaluate on a sample
/// action, and pass its own `test_*` rules?
pub fn check(name: &str, text: &str) -> CheckReport {
    let mut report = CheckReport {
        name: name.to_string(),
        error: None,
        lints: Vec::new(),
        tests: Vec::new(),
    };
    match Compiled::lint(name, text) {
        Ok(lints) => report.lints = lints,
        Err(CompileError::Rego(e) | CompileError::Contract(e)) => {
            report.error = Some(e);
            return report;
        }
    }
    if report.lints.iter().any(|l| l.severity == Severity::Error) {
        return report;
    }
    let mut compiled = match Compiled::compile(name, text, Duration::from_secs(5)) {
        Ok(c) => c,
        Err(CompileError::Rego(e) | CompileError::Contract(e)) => {
            report.error = Some(e);
            return report;
        }
    };
    for name in compiled.tests.clone() {
        let result = compiled.run_test(&name);
        report.tests.push(TestResult {
            passed: matches!(result, Ok(true)),
            error: result.err(),
            name,
        });
    }
    report
}
