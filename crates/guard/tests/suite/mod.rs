mod api;
mod evaluation;
mod evasion;

use std::path::PathBuf;

use aegisclaw_guard::{Example, read_jsonl};

/// A validation split shipped with the crate.
pub(crate) fn validation(name: &str) -> Vec<Example> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(format!("{name}-validation.jsonl"));
    read_jsonl(&path).expect("validation split readable")
}
