use std::path::PathBuf;

/// Errors of the policy crate. Each names the file, scope or rule it concerns.
///
/// Evaluation never returns these: an evaluation that fails is a deny whose reasons carry the
/// error. They come from loading, checking and parsing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("cannot read the policy {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the policy {} is writable by other users (mode {mode:o}); run `chmod go-w {}`", path.display(), path.display())]
    Writable { path: PathBuf, mode: u32 },
    #[error("the policy {name} does not compile: {message}")]
    Compile { name: String, message: String },
    #[error("the policy {name} is not an AegisClaw policy: {message}")]
    Contract { name: String, message: String },
    #[error(transparent)]
    Scope(#[from] aegisclaw_core::ScopeError),
    #[error("unknown scope {name:?}: {hint}")]
    UnknownScope { name: String, hint: String },
}

/// Result alias of the policy crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
