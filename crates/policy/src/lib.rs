//! The policy engine of AegisClaw.
//!
//! Every action goes through the policy after the guard and before approval. This crate holds:
//!
//! - the scope registry ([`ScopeRegistry`]): every scope the policy may be asked about, its
//!   risk and what granting it means for enforcement; custom scopes come from
//!   `[[scopes.custom]]` of the configuration, and an unknown scope is an error;
//! - the engine ([`PolicyEngine`]): a Rego policy (evaluated by `regorus`) compiled once and
//!   evaluated many times, reloaded when its file changes, that turns an
//!   [`Action`](aegisclaw_core::Action) into a [`Verdict`](aegisclaw_core::Verdict) and
//!   fails closed on every error;
//! - the templates `strict`, `standard` and `permissive` ([`templates`]), embedded;
//! - [`check`]: compile, lint and run a policy's own tests; [`Explanation`]: which rules fired.
//!
//! # The policy contract
//!
//! A policy is `package aegisclaw`. It defines the partial sets `deny`, `ask` and `allow`,
//! whose elements are reasons `{"rule": ..., "message": ...}`, optionally with `"scope"`: the
//! requested scope (as written in `input.scopes[_].scope`) the reason decides. A reason
//! without a scope decides the whole action. For each scope the strictest reason wins
//! (deny > ask > allow); a scope no reason mentions is denied; the verdict is the strictest
//! over the scopes. Sets cannot conflict, so no policy fails with a conflict error. The
//! optional set `obligations` holds objects with `approval_ttl`, `max_runtime` (durations
//! such as `"15m"`) and `redact` (bool); the strictest of each is kept.
//!
//! ```
//! use aegisclaw_core::{Action, ActionKind, Decision, PolicyTemplate};
//! use aegisclaw_policy::{PolicyEngine, ScopeRegistry};
//!
//! let engine = PolicyEngine::from_template(PolicyTemplate::Standard, ScopeRegistry::builtin());
//! let read = Action::new("agent", ActionKind::FileAccess, vec!["files.read:/home/me/docs".parse()?]);
//! assert_eq!(engine.evaluate(&read).verdict.decision, Decision::Allow);
//! let exec = Action::new("agent", ActionKind::Exec, vec!["shell.exec".parse()?]);
//! assert_eq!(engine.evaluate(&exec).verdict.decision, Decision::Ask);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod check;
mod compiled;
mod engine;
mod error;
mod explain;
mod input;
mod outcome;
mod registry;
pub mod templates;

pub use check::{CheckReport, TestResult, check};
pub use compiled::{Lint, PolicyRef, Severity};
pub use engine::{
    DEFAULT_TIMEOUT, Evaluation, PolicyEngine, PolicySource, PolicyStatus, active_policy_path,
    read_policy,
};
pub use error::{Error, Result};
pub use explain::Explanation;
pub use outcome::{Fired, ScopeDecision};
pub use registry::{ScopeInfo, ScopeRegistry};
