//! One policy text, parsed, checked against the AegisClaw contract and ready to evaluate.

use std::num::NonZeroU32;
use std::time::Duration;

use regorus::unstable::{Rule, RuleHead};
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::outcome::RawOutput;

/// The package every AegisClaw policy declares.
pub(crate) const PACKAGE: &str = "aegisclaw";
/// The entry points, in the order of [`RawOutput`].
pub(crate) const ENTRY_POINTS: [&str; 4] = ["deny", "ask", "allow", "obligations"];
/// Name of the wrapper module that reads every entry point in one evaluation.
const WRAPPER: &str = "aegisclaw_engine";

/// How bad a lint finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The policy still works, but probably not as meant.
    Warning,
    /// The policy breaks the contract; the engine refuses it (every action is denied).
    Error,
}

/// One problem found by reading the policy (without evaluating it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lint {
    pub severity: Severity,
    /// 1-based line, when the finding is about one place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

/// Identifies the policy a decision was made by (for the audit log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    /// The file path, or `template:<name>` for an embedded template.
    pub name: String,
    /// `sha256:` and the hex digest of the policy text.
    pub digest: String,
}

/// A compiled policy.
#[derive(Debug)]
pub(crate) struct Compiled {
    engine: Engine,
    /// The entry points compiled to regorus' bytecode VM, used for decisions (the interpreter
    /// runs tests, which need `with`).
    vm: regorus::rvm::RegoVM,
    pub(crate) policy: PolicyRef,
    pub(crate) lints: Vec<Lint>,
    /// Names of the `test_*` rules.
    pub(crate) tests: Vec<String>,
}

/// Why a policy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompileError {
    /// Not valid Rego (syntax, unknown function, type error, …).
    Rego(String),
    /// Valid Rego that breaks the AegisClaw contract.
    Contract(String),
}

impl Compiled {
    /// Parses `text` and reads its rules, without evaluating anything: the lint findings
    /// (a wrong package is an error finding too).
    pub(crate) fn lint(name: &str, text: &str) -> Result<Vec<Lint>, CompileError> {
        let mut engine = Engine::new();
        let package = engine
            .add_policy(name.to_string(), text.to_string())
            .map_err(|e| CompileError::Rego(e.to_string()))?;
        let (_, _, mut lints) = read_rules(&mut engine);
        if package != format!("data.{PACKAGE}") {
            lints.insert(
                0,
                Lint {
                    severity: Severity::Error,
                    line: Some(1),
                    message: format!(
                        "it declares `package {}`; an AegisClaw policy declares `package {PACKAGE}`",
                        package.trim_start_matches("data.")
                    ),
                },
            );
        }
        Ok(lints)
    }

    /// Parses, lints and warms up `text`. Lint errors make it unusable.
    pub(crate) fn compile(name: &str, text: &str, timeout: Duration) -> Result<Self, CompileError> {
        let mut engine = Engine::new();
        engine.set_execution_timer_config(ExecutionTimerConfig {
            limit: timeout,
            check_interval: NonZeroU32::MIN.saturating_add(63),
        });
        let package = engine
            .add_policy(name.to_string(), text.to_string())
            .map_err(|e| CompileError::Rego(e.to_string()))?;
        if package != format!("data.{PACKAGE}") {
            return Err(CompileError::Contract(format!(
                "it declares `package {}`; an AegisClaw policy declares `package {PACKAGE}`",
                package.trim_start_matches("data.")
            )));
        }
        let (entries, tests, lints) = read_rules(&mut engine);
        if let Some(lint) = lints.iter().find(|l| l.severity == Severity::Error) {
            return Err(CompileError::Contract(match lint.line {
                Some(line) => format!("line {line}: {}", lint.message),
                None => lint.message.clone(),
            }));
        }
        let fields: Vec<String> = ENTRY_POINTS
            .iter()
            .zip(entries)
            .filter(|(_, present)| *present)
            .map(|(e, _)| format!("\"{e}\": data.{PACKAGE}.{e}"))
            .collect();
        let wrapper = format!(
            "package {WRAPPER}\nimport rego.v1\nout := {{{}}}\n",
            fields.join(", ")
        );
        engine
            .add_policy(format!("<{WRAPPER}>"), wrapper)
            .map_err(|e| CompileError::Rego(e.to_string()))?;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        let entry = format!("data.{WRAPPER}.out");
        let policy = engine
            .compile_with_entrypoint(&entry.as_str().into())
            .map_err(|e| CompileError::Rego(e.to_string()))?;
        let program = regorus::languages::rego::compiler::Compiler::compile_from_policy(
            &policy,
            &[entry.as_str()],
        )
        .map_err(|e| CompileError::Rego(e.to_string()))?;
        let mut vm = regorus::rvm::RegoVM::new();
        vm.load_program(program);
        vm.set_execution_timer_config(Some(ExecutionTimerConfig {
            limit: timeout,
            check_interval: NonZeroU32::MIN.saturating_add(63),
        }));
        let mut compiled = Self {
            engine,
            vm,
            policy: PolicyRef {
                name: name.to_string(),
                digest,
            },
            lints,
            tests,
        };
        // Evaluating once surfaces what parsing does not (unknown functions, unsafe
        // variables, conflicts on a sample action).
        let sample = crate::input::sample();
        let requested = crate::input::requested_scopes(&sample).map_err(CompileError::Rego)?;
        let raw = compiled
            .eval(Value::from(sample))
            .map_err(CompileError::Rego)?;
        crate::outcome::combine(&requested, &raw).map_err(|e| {
            CompileError::Contract(format!("on a sample action its output is malformed: {e}"))
        })?;
        Ok(compiled)
    }

    /// Evaluates every entry point for `input`.
    pub(crate) fn eval(&mut self, input: Value) -> Result<RawOutput, String> {
        self.vm.set_input(input);
        let out = self.vm.execute().map_err(|e| e.to_string())?;
        let field = |name: &str| match &out {
            Value::Object(fields) => fields
                .get(&Value::from(name))
                .cloned()
                .unwrap_or(Value::Undefined),
            _ => Value::Undefined,
        };
        if !matches!(out, Value::Object(_)) {
            return Err("the policy produced no output".into());
        }
        Ok(RawOutput {
            deny: field("deny"),
            ask: field("ask"),
            allow: field("allow"),
            obligations: field("obligations"),
        })
    }

    /// Evaluates the entry points with the interpreter instead of the VM (to check that both
    /// agree).
    #[cfg(test)]
    pub(crate) fn eval_interpreted(&mut self, input: Value) -> Result<Value, String> {
        self.engine.set_input(input);
        self.engine
            .eval_rule(format!("data.{WRAPPER}.out"))
            .map_err(|e| e.to_string())
    }

    /// Evaluates the entry points with the VM, as raw output.
    #[cfg(test)]
    pub(crate) fn eval_vm(&mut self, input: Value) -> Result<Value, String> {
        self.vm.set_input(input);
        self.vm.execute().map_err(|e| e.to_string())
    }

    /// Evaluates one `test_*` rule: `Ok(true)` when it holds.
    pub(crate) fn run_test(&mut self, name: &str) -> Result<bool, String> {
        self.engine.set_input(Value::new_object());
        match self.engine.eval_rule(format!("data.{PACKAGE}.{name}")) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(Value::Undefined) => Ok(false),
            Ok(other) => Err(format!(
                "a test must be true; it is {}",
                other.to_json_str().unwrap_or_default()
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Walks the rules of the (single) policy module: which entry points exist, the test rules,
/// and lint findings.
fn read_rules(engine: &mut Engine) -> ([bool; 4], Vec<String>, Vec<Lint>) {
    let mut entries = [false; 4];
    let mut tests: Vec<String> = Vec::new();
    let mut lints = Vec::new();
    for module in engine.get_modules() {
        for rule in &module.policy {
            let (head_text, line, is_set, is_default, is_function) = match rule.as_ref() {
                Rule::Spec { head, span, .. } => match head {
                    RuleHead::Set { refr, .. } => (
                        refr.span().text().to_string(),
                        span.line,
                        true,
                        false,
                        false,
                    ),
                    RuleHead::Compr { refr, .. } => (
                        refr.span().text().to_string(),
                        span.line,
                        false,
                        false,
                        false,
                    ),
                    RuleHead::Func { refr, .. } => (
                        refr.span().text().to_string(),
                        span.line,
                        false,
                        false,
                        true,
                    ),
                },
                Rule::Default { refr, span, .. } => (
                    refr.span().text().to_string(),
                    span.line,
                    false,
                    true,
                    false,
                ),
            };
            let root = head_text
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            if let Some(i) = ENTRY_POINTS.iter().position(|e| *e == root) {
                entries[i] = true;
                if !is_set || head_text.trim() != root {
                    let how = if is_default {
                        "has a default value"
                    } else if is_function {
                        "is a function"
                    } else {
                        "is defined as a single value"
                    };
                    lints.push(Lint {
                        severity: Severity::Error,
                        line: Some(line),
                        message: format!(
                            "`{root}` {how}; it must be a set: write `{root} contains {{...}} if {{ ... }}` (a single value could conflict or produce an unknown decision)"
                        ),
                    });
                }
            } else if root == "decision" || root == "result" {
                lints.push(Lint {
                    severity: Severity::Error,
                    line: Some(line),
                    message: format!(
                        "`{root}` is not read by AegisClaw: the engine decides from the `deny`, `ask` and `allow` sets (deny > ask > allow); put reasons in those"
                    ),
                });
            } else if root.starts_with("test_")
                && !is_function
                && !is_set
                && !is_default
                && !tests.contains(&root)
            {
                tests.push(root);
            }
        }
    }
    if !entries[..3].iter().any(|e| *e) {
        lints.push(Lint {
            severity: Severity::Error,
            line: None,
            message:
                "the policy defines none of `deny`, `ask`, `allow`: every action would be denied"
                    .into(),
        });
    } else if !entries[2] {
        lints.push(Lint {
            severity: Severity::Warning,
            line: None,
            message: "the policy defines no `allow` rule: no action can ever be allowed".into(),
        });
    }
    if tests.is_empty() {
        lints.push(Lint {
            severity: Severity::Warning,
            line: None,
            message: "the policy has no `test_*` rules; `aegisclaw policy check` runs them".into(),
        });
    }
    (entries, tests, lints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegisclaw_core::{
        Action, ActionKind, BuiltinScope, PolicyTemplate, SignatureStatus, SkillRef,
    };

    /// Decisions are made by regorus' bytecode VM, the templates' own tests run in its
    /// interpreter: on every table action the two must produce the same output.
    #[test]
    fn vm_and_interpreter_agree_on_the_templates() {
        let registry = crate::registry::ScopeRegistry::builtin();
        for template in PolicyTemplate::ALL {
            let mut compiled = Compiled::compile(
                "t",
                crate::templates::source(template),
                Duration::from_secs(5),
            )
            .unwrap();
            for b in BuiltinScope::ALL {
                for (signed, tainted, lockdown) in [
                    (true, false, false),
                    (true, true, false),
                    (false, false, false),
                    (false, true, true),
                ] {
                    let mut action = Action::new("a", ActionKind::Exec, vec![b.example()]);
                    action.actor.skill = Some(SkillRef {
                        name: "s".into(),
                        version: None,
                        digest: None,
                        signature: if signed {
                            SignatureStatus::Signed
                        } else {
                            SignatureStatus::Unsigned
                        },
                        signer: None,
                    });
                    action.provenance.tainted = tainted;
                    action.environment.lockdown = lockdown;
                    let doc = crate::input::document(&action, &registry).unwrap();
                    let vm = compiled.eval_vm(Value::from(doc.clone())).unwrap();
                    let interpreted = compiled.eval_interpreted(Value::from(doc)).unwrap();
                    assert_eq!(
                        vm, interpreted,
                        "{template} {b} signed={signed} tainted={tainted}"
                    );
                }
            }
        }
    }
}
