//! `policy explain`: which rules fired, and why the verdict is what it is.

use aegisclaw_core::Verdict;
use serde::Serialize;

use crate::compiled::PolicyRef;
use crate::outcome::{Fired, Outcome, ScopeDecision};

/// A decision with its workings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The policy that decided (absent when none could be loaded).
    pub policy: Option<PolicyRef>,
    /// The input document the policy saw (absent when the action could not be turned into
    /// one, e.g. an unknown scope).
    pub input: Option<serde_json::Value>,
    /// Every reason the policy produced, deny first.
    pub fired: Vec<Fired>,
    /// The decision for each requested scope (the strictest reason naming it or the whole
    /// action; denied when none does).
    pub scopes: Vec<ScopeDecision>,
    pub verdict: Verdict,
    /// What failed, when the verdict is a deny because something went wrong.
    pub error: Option<String>,
}

impl Explanation {
    pub(crate) fn new(
        input: Option<serde_json::Value>,
        outcome: Result<Outcome, (&'static str, String)>,
        policy: Option<PolicyRef>,
    ) -> Self {
        match outcome {
            Ok(o) => Self {
                policy,
                input,
                fired: o.fired,
                scopes: o.scopes,
                verdict: o.verdict,
                error: None,
            },
            Err((rule, message)) => Self {
                policy,
                input,
                fired: Vec::new(),
                scopes: Vec::new(),
                error: Some(message.clone()),
                verdict: Verdict::deny(rule, message),
            },
        }
    }
}
