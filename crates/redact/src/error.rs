/// Errors of the redact crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A secret value too short to be redacted without mangling ordinary text.
    #[error(
        "secret `{name}` is {len} bytes long; values shorter than {min} bytes cannot be redacted reliably"
    )]
    TooShort {
        name: String,
        len: usize,
        min: usize,
    },
    /// A secret name that cannot appear in a redaction marker.
    #[error(
        "secret name {name:?} is not valid in a redaction marker: expected 1 to 128 characters among A-Z, a-z, 0-9, '_', '-' and '.'"
    )]
    BadName { name: String },
}

/// Result alias of the redact crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
