//! The Rego input document: the action, with each scope spelled out and its risk added.

use aegisclaw_core::{Action, Scope};
use serde_json::{Value as Json, json};

use crate::registry::ScopeRegistry;

/// Builds the input document of `action`: the action as serialised by `aegisclaw-core`, with
/// every scope replaced by an object
///
/// ```json
/// {"scope": "files.read:/home/me/docs", "name": "files.read", "domain": "files",
///  "verb": "read", "resource": "/home/me/docs", "risk": "low", "builtin": true,
///  "approved": false}
/// ```
///
/// `approved` is true when an approval of this session that has not expired at the action's
/// time covers the scope. An unknown scope is an error (the caller denies).
pub(crate) fn document(action: &Action, registry: &ScopeRegistry) -> Result<Json, String> {
    let mut scopes = Vec::with_capacity(action.scopes.len());
    for scope in &action.scopes {
        let risk = registry.risk(scope).map_err(|e| e.to_string())?;
        let approved = action.session.approvals.iter().any(|a| {
            a.expires_at > action.time && a.scopes.iter().any(|g: &Scope| g.covers(scope))
        });
        let name = scope.name();
        let (domain, verb) = name.split_once('.').unwrap_or((name, ""));
        scopes.push(json!({
            "scope": scope.to_string(),
            "name": name,
            "domain": domain,
            "verb": verb,
            "resource": scope.resource(),
            "risk": risk,
            "builtin": scope.builtin().is_some(),
            "approved": approved,
        }));
    }
    let mut doc =
        serde_json::to_value(action).map_err(|e| format!("cannot serialise the action: {e}"))?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("scopes".into(), Json::Array(scopes));
    }
    Ok(doc)
}

/// The scopes an input document requests, as written (`input.scopes[_].scope`). A document
/// whose `scopes` is not a list of such objects is an error.
pub(crate) fn requested_scopes(doc: &Json) -> Result<Vec<String>, String> {
    match doc.get("scopes") {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|item| {
                item.get("scope")
                    .and_then(Json::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        format!("input.scopes has an entry without a \"scope\" string: {item}")
                    })
            })
            .collect(),
        Some(other) => Err(format!("input.scopes must be a list, got {other}")),
    }
}

/// A small, typical input document (one low-risk scope, a signed skill), used to warm up a
/// freshly compiled policy so that evaluation errors surface at load time.
pub(crate) fn sample() -> Json {
    use aegisclaw_core::{ActionKind, BuiltinScope, SignatureStatus, SkillRef};
    let mut action = Action::new(
        "aegisclaw",
        ActionKind::FileAccess,
        vec![BuiltinScope::FilesRead.example()],
    );
    action.time = std::time::SystemTime::UNIX_EPOCH;
    action.actor.skill = Some(SkillRef {
        name: "sample".into(),
        version: None,
        digest: None,
        signature: SignatureStatus::Signed,
        signer: None,
    });
    document(&action, &ScopeRegistry::builtin()).unwrap_or(Json::Null)
}
