use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// Logs go to stderr. `-v`/`-vv` raise the level, `-q` lowers it; `RUST_LOG` overrides both,
/// and a malformed `RUST_LOG` is an error rather than silently ignored.
pub(crate) fn init(verbose: u8, quiet: bool) -> anyhow::Result<()> {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::try_new(&spec)
            .with_context(|| format!("RUST_LOG={spec:?} is not a valid log filter"))?,
        _ => EnvFilter::new(default),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot install the logger: {e}"))
}
