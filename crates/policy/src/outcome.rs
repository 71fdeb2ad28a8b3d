//! Reading what the policy produced: the `deny`, `ask` and `allow` reason sets and the
//! obligations, combined deterministically into a verdict.

use aegisclaw_core::{Decision, Obligations, Reason, Verdict};
use regorus::Value;
use serde::Serialize;

/// The rule id of the reason the engine adds for a scope no rule decided.
pub(crate) const DEFAULT_DENY: &str = "default_deny";

/// One reason the policy produced, with the set it came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Fired {
    pub decision: Decision,
    pub rule: String,
    pub message: String,
    /// The requested scope it decides; `None` for the whole action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The decision for one requested scope and the reasons that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeDecision {
    pub scope: String,
    pub decision: Decision,
}

/// Everything the policy said, before and after combination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) fired: Vec<Fired>,
    pub(crate) scopes: Vec<ScopeDecision>,
    pub(crate) verdict: Verdict,
}

/// The raw values of the entry points (`Undefined` for an entry point the policy lacks).
#[derive(Debug, Clone)]
pub(crate) struct RawOutput {
    pub(crate) deny: Value,
    pub(crate) ask: Value,
    pub(crate) allow: Value,
    pub(crate) obligations: Value,
}

/// Combines the raw output for the requested scopes (as written in the input document).
///
/// Per scope, the strictest reason naming it or the whole action wins (deny > ask > allow); a
/// scope no reason decides is denied, and so is an action with no scope and no action-wide
/// reason. The verdict is the strictest over the scopes; its reasons are those of that
/// decision. Any malformed output is an error (the caller turns it into a deny).
pub(crate) fn combine(requested: &[String], raw: &RawOutput) -> Result<Outcome, String> {
    let mut fired = Vec::new();
    for (decision, value, name) in [
        (Decision::Deny, &raw.deny, "deny"),
        (Decision::Ask, &raw.ask, "ask"),
        (Decision::Allow, &raw.allow, "allow"),
    ] {
        for element in set_elements(value, name)? {
            fired.push(reason(element, decision, name, requested)?);
        }
    }
    fired.sort();
    fired.dedup();
    let obligations = obligations(&raw.obligations)?;

    let action_wide = fired
        .iter()
        .filter(|f| f.scope.is_none())
        .map(|f| f.decision)
        .max();
    let mut defaults = Vec::new();
    let mut scopes = Vec::new();
    for scope in requested {
        let own = fired
            .iter()
            .filter(|f| f.scope.as_deref() == Some(scope.as_str()))
            .map(|f| f.decision)
            .max();
        let decision = match own.max(action_wide) {
            Some(d) => d,
            None => {
                defaults.push(Reason {
                    rule: DEFAULT_DENY.into(),
                    message: format!("no rule of the policy decides {scope}: denied by default"),
                    scope: Some(scope.clone()),
                });
                Decision::Deny
            }
        };
        if !scopes.iter().any(|s: &ScopeDecision| &s.scope == scope) {
            scopes.push(ScopeDecision {
                scope: scope.clone(),
                decision,
            });
        }
    }
    let decision = if requested.is_empty() {
        action_wide.unwrap_or_else(|| {
            defaults.push(Reason {
                rule: DEFAULT_DENY.into(),
                message: "no rule of the policy decides this action: denied by default".into(),
                scope: None,
            });
            Decision::Deny
        })
    } else {
        scopes
            .iter()
            .map(|s| s.decision)
            .max()
            .unwrap_or(Decision::Deny)
    };
    let mut reasons: Vec<Reason> = fired
        .iter()
        .filter(|f| f.decision == decision)
        .map(|f| Reason {
            rule: f.rule.clone(),
            message: f.message.clone(),
            scope: f.scope.clone(),
        })
        .collect();
    if decision == Decision::Deny {
        reasons.extend(defaults);
    }
    Ok(Outcome {
        fired,
        scopes,
        verdict: Verdict {
            decision,
            reasons,
            obligations,
        },
    })
}

fn set_elements<'a>(value: &'a Value, name: &str) -> Result<Vec<&'a Value>, String> {
    match value {
        Value::Undefined => Ok(Vec::new()),
        Value::Set(set) => Ok(set.iter().collect()),
        other => Err(format!(
            "`{name}` must be a set of reasons (write `{name} contains {{...}} if {{...}}`), but it is {}",
            kind(other)
        )),
    }
}

fn reason(
    element: &Value,
    decision: Decision,
    set: &str,
    requested: &[String],
) -> Result<Fired, String> {
    let Value::Object(fields) = element else {
        return Err(format!(
            "every reason in `{set}` must be an object {{\"rule\", \"message\"[, \"scope\"]}}, got {}",
            short(element)
        ));
    };
    let mut rule = None;
    let mut message = None;
    let mut scope = None;
    for (key, value) in fields.iter() {
        let text = match value {
            Value::String(s) => s.to_string(),
            other => {
                return Err(format!(
                    "in a reason of `{set}`, {} must be a string, got {}",
                    short(key),
                    kind(other)
                ));
            }
        };
        match key {
            Value::String(k) if &**k == "rule" => rule = Some(text),
            Value::String(k) if &**k == "message" => message = Some(text),
            Value::String(k) if &**k == "scope" => scope = Some(text),
            other => {
                return Err(format!(
                    "a reason of `{set}` has the unknown key {} (expected rule, message, scope)",
                    short(other)
                ));
            }
        }
    }
    let (Some(rule), Some(message)) = (rule, message) else {
        return Err(format!(
            "a reason of `{set}` lacks \"rule\" or \"message\": {}",
            short(element)
        ));
    };
    if let Some(s) = &scope
        && !requested.iter().any(|r| r == s)
    {
        return Err(format!(
            "a reason of `{set}` (rule {rule}) names the scope {s:?}, which the action does not request"
        ));
    }
    Ok(Fired {
        decision,
        rule,
        message,
        scope,
    })
}

fn obligations(value: &Value) -> Result<Obligations, String> {
    let mut merged = Obligations::default();
    for element in set_elements(value, "obligations")? {
        let Value::Object(fields) = element else {
            return Err(format!(
                "every element of `obligations` must be an object, got {}",
                short(element)
            ));
        };
        let mut one = Obligations::default();
        for (key, value) in fields.iter() {
            let duration = || match value {
                Value::String(s) => humantime::parse_duration(s).map_err(|e| {
                    format!(
                        "obligation {}: {s:?} is not a duration such as \"15m\": {e}",
                        short(key)
                    )
                }),
                other => Err(format!(
                    "obligation {} must be a duration string such as \"15m\", got {}",
                    short(key),
                    kind(other)
                )),
            };
            match key {
                Value::String(k) if &**k == "approval_ttl" => one.approval_ttl = Some(duration()?),
                Value::String(k) if &**k == "max_runtime" => one.max_runtime = Some(duration()?),
                Value::String(k) if &**k == "redact" => match value {
                    Value::Bool(b) => one.redact = *b,
                    other => {
                        return Err(format!(
                            "obligation \"redact\" must be true or false, got {}",
                            kind(other)
                        ));
                    }
                },
                other => {
                    return Err(format!(
                        "unknown obligation {} (this engine enforces approval_ttl, max_runtime, redact)",
                        short(other)
                    ));
                }
            }
        }
        merged = merged.merge(one);
    }
    Ok(merged)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Set(_) => "a set",
        Value::Object(_) => "an object",
        Value::Undefined => "undefined",
    }
}

/// A value as JSON, cut to a readable length.
fn short(v: &Value) -> String {
    let mut s = v.to_json_str().unwrap_or_else(|_| kind(v).to_string());
    if s.len() > 120 {
        let cut = (0..=117)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
