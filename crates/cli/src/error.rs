//! Error reporting at the binary: the whole context chain, then a `hint:` that says how to fix.

use std::fmt;
use std::process::ExitCode;

/// Exit code of "the command ran; the answer is no".
pub(crate) const EXIT_NEGATIVE: u8 = 1;
/// Exit code of "the command could not do what was asked".
pub(crate) const EXIT_ERROR: u8 = 2;

/// A suggestion attached to an error with [`HintExt::hint`].
#[derive(Debug)]
struct Hint {
    message: String,
    hint: String,
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hint {}

/// Builds an error with a hint line: `bail_hint("no config", "run `aegisclaw init`")`.
pub(crate) fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hint {
        message: message.into(),
        hint: hint.into(),
    })
}

pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    // A closed pipe (`aegisclaw logs show | head`) is not an error worth a message.
    if err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if let Some(hint) = err.chain().find_map(|c| c.downcast_ref::<Hint>()) {
        eprintln!("hint: {}", hint.hint);
    }
    ExitCode::from(EXIT_ERROR)
}
