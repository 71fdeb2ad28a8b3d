//! The policy engine: a compiled policy, reloaded when its file changes, that turns actions
//! into verdicts and fails closed.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aegisclaw_core::{Action, Config, Home, PolicyTemplate, Verdict};
use serde::Serialize;

use crate::compiled::{CompileError, Compiled, Lint, PolicyRef};
use crate::error::{Error, Result};
use crate::explain::Explanation;
use crate::input;
use crate::outcome::{self, Outcome};
use crate::registry::ScopeRegistry;
use crate::templates;

/// Longest a single evaluation may run before it is abandoned (and the action denied).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);

/// Where the policy text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// A file, checked for changes before every evaluation.
    File(PathBuf),
    /// Text held in memory (an embedded template, a test).
    Text { name: String, text: String },
}

/// The result of one evaluation: the verdict and the policy that gave it (absent when no
/// policy could be loaded). This is what the audit log records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub policy: Option<PolicyRef>,
}

/// What the loaded policy looks like (for `doctor`, `policy show`, `policy check`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyStatus {
    pub policy: PolicyRef,
    pub lints: Vec<Lint>,
    pub tests: Vec<String>,
}

/// Identity of a policy file's contents as the file system reports them. Any write (in place
/// or by rename) changes it: the inode or the change time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    mode: u32,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            mode: meta.mode(),
        }
    }
}

#[derive(Debug)]
struct State {
    /// The compiled policy, or why there is none.
    loaded: std::result::Result<Compiled, String>,
    /// The file as it was when `loaded` was made (`None`: not a file, or it was missing).
    stamp: Option<Stamp>,
    /// Whether `loaded` reflects the source at least once.
    ready: bool,
}

/// The policy engine.
///
/// Compiles the policy once and evaluates it many times. With a [`PolicySource::File`] it
/// checks the file's metadata before every evaluation (one `stat`) and recompiles when it
/// changed, so an edit takes effect on the next decision. It never fails open: a missing,
/// unreadable, group/world-writable or uncompilable policy, an evaluation error, a timeout, an
/// unknown scope or malformed output each give a deny whose reasons say what went wrong.
///
/// Evaluations are serialised by a mutex; each takes microseconds.
#[derive(Debug)]
pub struct PolicyEngine {
    source: PolicySource,
    registry: ScopeRegistry,
    timeout: Duration,
    state: Mutex<State>,
}

impl PolicyEngine {
    /// An engine over `source`. Nothing is read until the first use; load problems show in
    /// [`status`](Self::status) and as denies.
    pub fn new(source: PolicySource, registry: ScopeRegistry) -> Self {
        Self {
            source,
            registry,
            timeout: DEFAULT_TIMEOUT,
            state: Mutex::new(State {
                loaded: Err("not loaded yet".into()),
                stamp: None,
                ready: false,
            }),
        }
    }

    /// An engine over an embedded template.
    pub fn from_template(template: PolicyTemplate, registry: ScopeRegistry) -> Self {
        Self::new(
            PolicySource::Text {
                name: format!("template:{template}"),
                text: templates::source(template).to_string(),
            },
            registry,
        )
    }

    /// The engine of a home: the active policy file (see [`active_policy_path`]) and the scope
    /// registry of the configuration.
    pub fn for_home(home: &Home, config: &Config) -> Self {
        Self::new(
            PolicySource::File(active_policy_path(home, config)),
            ScopeRegistry::from_config(&config.scopes),
        )
    }

    /// Sets how long one evaluation may run (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn source(&self) -> &PolicySource {
        &self.source
    }

    pub fn registry(&self) -> &ScopeRegistry {
        &self.registry
    }

    /// Loads (or reloads) the policy and describes it, or says why it cannot be used.
    pub fn status(&self) -> Result<PolicyStatus> {
        let mut state = self.lock();
        self.refresh(&mut state);
        match &state.loaded {
            Ok(c) => Ok(PolicyStatus {
                policy: c.policy.clone(),
                lints: c.lints.clone(),
                tests: c.tests.clone(),
            }),
            Err(_) => Err(self.load_error()),
        }
    }

    /// Decides about `action`. Never fails: every problem is a deny with the reason.
    pub fn evaluate(&self, action: &Action) -> Evaluation {
        let (outcome, policy) = self.run(action);
        Evaluation {
            verdict: outcome.map_or_else(|e| Verdict::deny(e.0, e.1), |o| o.verdict),
            policy,
        }
    }

    /// Decides about a raw input document (JSON), without the typing of [`Action`]: for
    /// simulation and fuzzing. The requested scopes are `input.scopes[_].scope`.
    pub fn evaluate_document(&self, input_json: &str) -> Evaluation {
        let result = serde_json::from_str::<serde_json::Value>(input_json)
            .map_err(|e| {
                (
                    "input.invalid",
                    format!("the input document is not JSON: {e}"),
                )
            })
            .and_then(|doc| self.run_document(doc));
        let (outcome, policy) = result.map_or_else(|e| (Err(e), None), |(o, p)| (o, p));
        Evaluation {
            verdict: outcome.map_or_else(|e| Verdict::deny(e.0, e.1), |o| o.verdict),
            policy,
        }
    }

    /// Decides about `action` and tells why: the input document, every reason each rule
    /// produced, the decision per scope and the verdict.
    pub fn explain(&self, action: &Action) -> Explanation {
        let doc = input::document(action, &self.registry);
        let (outcome, policy) = self.run(action);
        Explanation::new(doc.ok(), outcome, policy)
    }

    fn run(&self, action: &Action) -> (std::result::Result<Outcome, Failure>, Option<PolicyRef>) {
        match input::document(action, &self.registry) {
            Ok(doc) => match self.run_document(doc) {
                Ok(r) => r,
                Err(e) => (Err(e), None),
            },
            Err(e) => (Err(("scope.unknown", e)), None),
        }
    }

    #[allow(clippy::type_complexity)]
    fn run_document(
        &self,
        doc: serde_json::Value,
    ) -> std::result::Result<(std::result::Result<Outcome, Failure>, Option<PolicyRef>), Failure>
    {
        let requested = input::requested_scopes(&doc).map_err(|e| ("input.invalid", e))?;
        let value = regorus::Value::from(doc);
        let mut state = self.lock();
        self.refresh(&mut state);
        let compiled = match &mut state.loaded {
            Ok(c) => c,
            Err(e) => return Ok((Err(("policy.unavailable", e.clone())), None)),
        };
        let policy = Some(compiled.policy.clone());
        let raw = match compiled.eval(value) {
            Ok(raw) => raw,
            Err(e) => {
                let rule = if e.contains("time limit") || e.contains("timed out") {
                    "policy.timeout"
                } else {
                    "policy.error"
                };
                return Ok((
                    Err((rule, format!("evaluating the policy failed: {e}"))),
                    policy,
                ));
            }
        };
        drop(state);
        let outcome = outcome::combine(&requested, &raw).map_err(|e| {
            (
                "policy.output",
                format!("the policy's output is malformed: {e}"),
            )
        });
        Ok((outcome, policy))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-made decision behind: the state
        // is only a compiled policy, replaced whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reloads the policy when the source changed (or was never loaded).
    fn refresh(&self, state: &mut State) {
        match &self.source {
            PolicySource::Text { name, text } => {
                if !state.ready {
                    state.loaded = self.compile(name, text);
                    state.ready = true;
                }
            }
            PolicySource::File(path) => {
                let stamp = std::fs::metadata(path).ok().map(|m| Stamp::of(&m));
                if state.ready && stamp == state.stamp && stamp.is_some() {
                    return;
                }
                state.loaded = self.load_file(path);
                state.stamp = stamp;
                state.ready = true;
                match &state.loaded {
                    Ok(c) => {
                        tracing::info!(policy = %path.display(), digest = %c.policy.digest, "policy loaded");
                    }
                    Err(e) => {
                        tracing::warn!(policy = %path.display(), error = %e, "policy unusable; every action is denied");
                    }
                }
            }
        }
    }

    fn load_file(&self, path: &Path) -> std::result::Result<Compiled, String> {
        let text = read_policy(path).map_err(|e| e.to_string())?;
        self.compile(&path.display().to_string(), &text)
    }

    fn compile(&self, name: &str, text: &str) -> std::result::Result<Compiled, String> {
        Compiled::compile(name, text, self.timeout).map_err(|e| match e {
            CompileError::Rego(m) => format!("the policy {name} does not compile: {m}"),
            CompileError::Contract(m) => {
                format!("the policy {name} is not an AegisClaw policy: {m}")
            }
        })
    }

    /// The load error as a typed error (re-derived, since the state keeps only its text).
    fn load_error(&self) -> Error {
        match &self.source {
            PolicySource::File(path) => match read_policy(path) {
                Err(e) => e,
                Ok(text) => compile_error(&path.display().to_string(), &text, self.timeout),
            },
            PolicySource::Text { name, text } => compile_error(name, text, self.timeout),
        }
    }
}

/// A failed evaluation: the reason's rule id and message.
type Failure = (&'static str, String);

fn compile_error(name: &str, text: &str, timeout: Duration) -> Error {
    match Compiled::compile(name, text, timeout) {
        Err(CompileError::Rego(message)) => Error::Compile {
            name: name.to_string(),
            message,
        },
        Err(CompileError::Contract(message)) => Error::Contract {
            name: name.to_string(),
            message,
        },
        Ok(_) => Error::Compile {
            name: name.to_string(),
            message: "the policy changed while it was loaded; try again".into(),
        },
    }
}

/// Reads a policy file, refusing one that other users may change (as the engine does).
pub fn read_policy(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.mode() & 0o022 != 0 {
        return Err(Error::Writable {
            path: path.to_path_buf(),
            mode: meta.mode() & 0o7777,
        });
    }
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The active policy of a home: `policy.file` of the configuration (relative to the home)
/// when set, else `policies/<policy.template>.rego`.
pub fn active_policy_path(home: &Home, config: &Config) -> PathBuf {
    match &config.policy.file {
        Some(file) if file.is_absolute() => file.clone(),
        Some(file) => home.root().join(file),
        None => home
            .policies_dir()
            .join(format!("{}.rego", config.policy.template)),
    }
}
