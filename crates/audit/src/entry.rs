//! What one audit entry says.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::hash::Hash;

/// One action (or step of an action) to be logged, as a writer hands it over. The log adds the
/// sequence number and the hash of the previous entry when it appends it.
///
/// Fields are plain strings so that the log does not depend on the policy's types; the runtime
/// maps its actions onto them and runs them through the redactor first. **Nothing here may hold
/// a secret in clear.**
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// When it happened (nanosecond precision; from 1970 to 2554).
    pub time: SystemTime,
    /// Who asked: `agent:claude-code`, `skill:git-stats@1.2.0`, `user`, `aegisclaw`.
    pub actor: String,
    /// The kind of action: `exec`, `tool_call`, `model_call`, `connect`, `secret_read`,
    /// `file_access`, `approval`, `audit.recover`, ...
    pub action: String,
    /// The scopes it needs or was granted, e.g. `files.read:/home/me/docs`.
    pub scopes: Vec<String>,
    /// The outcome of the gate: `allow`, `deny`, `ask`, `approved`, `error`, ...
    pub decision: String,
    /// Why: the policy's reasons, the guard's findings.
    pub reasons: Vec<String>,
    /// A short, redacted summary of the result (exit status, bytes, a tool's verdict).
    pub result: String,
    /// Correlation ids.
    pub session: Option<String>,
    pub run: Option<String>,
    pub tool_call: Option<String>,
    /// Anything else worth keeping as key/value pairs (`degraded = "no seccomp"`, `risk =
    /// "high"`). Keys are kept sorted.
    pub attrs: BTreeMap<String, String>,
}

impl Record {
    /// A record stamped now, with empty scopes, reasons, result and ids.
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        decision: impl Into<String>,
    ) -> Self {
        Self {
            time: SystemTime::now(),
            actor: actor.into(),
            action: action.into(),
            scopes: Vec::new(),
            decision: decision.into(),
            reasons: Vec::new(),
            result: String::new(),
            session: None,
            run: None,
            tool_call: None,
            attrs: BTreeMap::new(),
        }
    }

    pub fn at(mut self, time: SystemTime) -> Self {
        self.time = time;
        self
    }
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reasons.push(reason.into());
        self
    }
    pub fn result(mut self, result: impl Into<String>) -> Self {
        self.result = result.into();
        self
    }
    pub fn session(mut self, id: impl Into<String>) -> Self {
        self.session = Some(id.into());
        self
    }
    pub fn run(mut self, id: impl Into<String>) -> Self {
        self.run = Some(id.into());
        self
    }
    pub fn tool_call(mut self, id: impl Into<String>) -> Self {
        self.tool_call = Some(id.into());
        self
    }
    pub fn attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.insert(key.into(), value.into());
        self
    }
}

/// A logged entry: the record, its place in the log and the hashes that chain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the log, from 0, without gaps; also the entry's leaf index in the tree.
    pub seq: u64,
    /// The hash of entry `seq - 1` (all zeros for entry 0).
    pub prev: Hash,
    /// This entry's own hash: the RFC 6962 leaf hash of its canonical encoding.
    pub hash: Hash,
    pub record: Record,
}

/// Nanoseconds since the Unix epoch, as encoded; `None` outside 1970..2554.
pub(crate) fn time_to_nanos(time: SystemTime) -> Option<u64> {
    let d = time.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(d.as_nanos()).ok()
}

pub(crate) fn nanos_to_time(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// RFC 3339 in UTC with nanoseconds, e.g. `2025-03-01T12:00:00.123456789Z`.
pub fn format_time(time: SystemTime) -> String {
    humantime::format_rfc3339_nanos(time).to_string()
}

/// The JSON form of an entry (`logs show --json`, `logs export`): every field, times in RFC
/// 3339, hashes in hex.
#[derive(Serialize)]
struct EntryJson<'a> {
    seq: u64,
    time: String,
    actor: &'a str,
    action: &'a str,
    scopes: &'a [String],
    decision: &'a str,
    reasons: &'a [String],
    result: &'a str,
    session: Option<&'a str>,
    run: Option<&'a str>,
    tool_call: Option<&'a str>,
    attrs: &'a BTreeMap<String, String>,
    prev: Hash,
    hash: Hash,
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.record;
        EntryJson {
            seq: self.seq,
            time: format_time(r.time),
            actor: &r.actor,
            action: &r.action,
            scopes: &r.scopes,
            decision: &r.decision,
            reasons: &r.reasons,
            result: &r.result,
            session: r.session.as_deref(),
            run: r.run.as_deref(),
            tool_call: r.tool_call.as_deref(),
            attrs: &r.attrs,
            prev: self.prev,
            hash: self.hash,
        }
        .serialize(s)
    }
}
