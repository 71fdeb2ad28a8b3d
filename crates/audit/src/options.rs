use std::time::Duration;

use aegisclaw_core::AuditConfig;

/// How the log is written: the `[audit]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Sign a checkpoint once this many entries are not covered by one...
    pub checkpoint_every: u64,
    /// ... or once the newest checkpoint is this old and entries are not covered by it.
    pub checkpoint_interval: Duration,
    /// Seal the active segment and start a new one once it has reached this many bytes.
    pub segment_size: u64,
}

impl From<&AuditConfig> for Options {
    fn from(c: &AuditConfig) -> Self {
        Self {
            checkpoint_every: c.checkpoint_every.max(1),
            checkpoint_interval: c.checkpoint_interval,
            segment_size: c.segment_size.as_u64(),
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::from(&AuditConfig::default())
    }
}
