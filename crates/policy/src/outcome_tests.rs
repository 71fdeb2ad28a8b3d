use super::*;
use pretty_assertions::assert_eq;

fn reason(rule: &str, scope: Option<&str>) -> Value {
    let mut json = serde_json::json!({"rule": rule, "message": format!("because {rule}")});
    if let Some(s) = scope {
        json["scope"] = s.into();
    }
    Value::from(json)
}

fn set(items: Vec<Value>) -> Value {
    Value::from(
        items
            .into_iter()
            .collect::<std::collections::BTreeSet<Value>>(),
    )
}

fn raw(deny: Vec<Value>, ask: Vec<Value>, allow: Vec<Value>) -> RawOutput {
    RawOutput {
        deny: set(deny),
        ask: set(ask),
        allow: set(allow),
        obligations: Value::Undefined,
    }
}

#[test]
fn per_scope_strictest_and_default_deny() {
    let requested = vec!["a.b".to_string(), "c.d".to_string()];
    let o = combine(
        &requested,
        &raw(
            vec![],
            vec![reason("q", Some("c.d"))],
            vec![reason("p", Some("a.b"))],
        ),
    )
    .unwrap();
    assert_eq!(o.verdict.decision, Decision::Ask);
    assert_eq!(o.verdict.reasons.len(), 1);
    assert_eq!(o.verdict.reasons[0].rule, "q");

    let o = combine(
        &requested,
        &raw(vec![], vec![], vec![reason("p", Some("a.b"))]),
    )
    .unwrap();
    assert_eq!(o.verdict.decision, Decision::Deny);
    assert_eq!(o.verdict.reasons[0].rule, DEFAULT_DENY);
    assert_eq!(o.verdict.reasons[0].scope.as_deref(), Some("c.d"));

    let o = combine(&requested, &raw(vec![], vec![], vec![reason("all", None)])).unwrap();
    assert_eq!(o.verdict.decision, Decision::Allow);
}

#[test]
fn undefined_entry_points_are_empty_and_other_shapes_errors() {
    let out = RawOutput {
        deny: Value::Undefined,
        ask: Value::Undefined,
        allow: Value::Bool(true),
        obligations: Value::Undefined,
    };
    let e = combine(&[], &out).unwrap_err();
    assert!(e.contains("`allow` must be a set"), "{e}");
    let out = RawOutput {
        deny: Value::Undefined,
        ask: Value::Undefined,
        allow: Value::Undefined,
        obligations: Value::Undefined,
    };
    let o = combine(&[], &out).unwrap();
    assert_eq!(o.verdict.decision, Decision::Deny);
}

#[test]
fn obligations_parse() {
    let mut out = raw(vec![], vec![], vec![reason("a", None)]);
    out.obligations = set(vec![Value::from(
        serde_json::json!({"max_runtime": "soon"}),
    )]);
    assert!(combine(&[], &out).unwrap_err().contains("not a duration"));
    out.obligations = set(vec![Value::from(serde_json::json!({"redact": "yes"}))]);
    assert!(combine(&[], &out).unwrap_err().contains("true or false"));
}
