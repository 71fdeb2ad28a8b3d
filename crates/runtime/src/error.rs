use thiserror::Error;

/// Why the pipeline could not do what was asked. A refusal by policy or a human is not an
/// error: it is a [`crate::RunResult`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Skill(#[from] aegisclaw_skills::Error),
    #[error("invalid arguments for skill {skill}: {message}")]
    Arguments { skill: String, message: String },
    #[error(transparent)]
    State(#[from] aegisclaw_state::Error),
    #[error("cannot record {what} in the audit log: {source}")]
    Audit {
        what: &'static str,
        source: aegisclaw_audit::Error,
    },
    #[error(transparent)]
    Sandbox(#[from] aegisclaw_sandbox::Error),
    #[error(transparent)]
    Secrets(#[from] aegisclaw_secrets::Error),
    #[error(
        "the skill copy for this run changed while it was staged (expected {expected}, found {found})"
    )]
    StagedCopyChanged { expected: String, found: String },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.display().to_string(),
            source,
        }
    }

    /// How to fix it, when there is a known way.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Sandbox(e) => e.hint(),
            Self::Secrets(e) => e.hint(),
            Self::Audit { .. } => Some(
                "fix the audit log first (`aegisclaw logs verify`); a run that cannot be audited does not start"
                    .into(),
            ),
            Self::Skill(aegisclaw_skills::Error::Tampered { name, .. }) => Some(format!(
                "the installed copy of {name} changed after install; reinstall it from a trusted source with `aegisclaw skill install`"
            )),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
