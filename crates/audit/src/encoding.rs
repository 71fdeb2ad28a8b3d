//! The canonical binary encoding of an entry (see `FORMAT.md`, "Entry encoding").
//!
//! Every field is length-prefixed and every value has exactly one encoding: the decoder rejects
//! anything the encoder would not produce (unknown versions, unsorted or duplicate attribute
//! keys, option tags other than 0 and 1, invalid UTF-8, oversized fields, trailing bytes). So
//! `encode(decode(b)) == b` for every accepted `b`, and the entry's hash covers every byte of
//! every field.

use std::collections::BTreeMap;

use crate::entry::{Record, nanos_to_time, time_to_nanos};
use crate::hash::Hash;

/// The first byte of every encoded entry.
pub(crate) const ENTRY_VERSION: u8 = 1;
/// The longest string field, in bytes.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// The most items in a list (scopes, reasons) or pairs in the attributes.
pub const MAX_ITEMS: usize = 256;
/// The largest encoded entry, in bytes.
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// Why a record cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    #[error("field `{field}` is {len} bytes; at most {max} are allowed (log a summary instead)")]
    FieldTooLong {
        field: String,
        len: usize,
        max: usize,
    },
    #[error("field `{field}` has {len} items; at most {max} are allowed")]
    TooManyItems {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("the encoded entry is {len} bytes; at most {max} are allowed")]
    EntryTooLarge { len: usize, max: usize },
    #[error("the entry's time is before 1970 or after 2554")]
    TimeOutOfRange,
}

/// Why bytes are not a canonical entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at} of the entry")]
pub struct DecodeError {
    pub at: usize,
    pub what: String,
}

/// Appends the canonical encoding of entry `seq` (with `prev`, the previous entry's hash) to
/// `out`. On error `out` is left as it was.
pub(crate) fn encode(
    seq: u64,
    prev: &Hash,
    record: &Record,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_inner(seq, prev, record, out);
    match result {
        Ok(()) if out.len() - start > MAX_ENTRY_BYTES => {
            let len = out.len() - start;
            out.truncate(start);
            Err(EncodeError::EntryTooLarge {
                len,
                max: MAX_ENTRY_BYTES,
            })
        }
        Ok(()) => Ok(()),
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

fn encode_inner(seq: u64, prev: &Hash, r: &Record, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let time = time_to_nanos(r.time).ok_or(EncodeError::TimeOutOfRange)?;
    out.push(ENTRY_VERSION);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&time.to_be_bytes());
    out.extend_from_slice(&prev.0);
    put_str(out, "actor", &r.actor)?;
    put_str(out, "action", &r.action)?;
    put_list(out, "scopes", &r.scopes)?;
    put_str(out, "decision", &r.decision)?;
    put_list(out, "reasons", &r.reasons)?;
    put_str(out, "result", &r.result)?;
    put_opt(out, "session", r.session.as_deref())?;
    put_opt(out, "run", r.run.as_deref())?;
    put_opt(out, "tool_call", r.tool_call.as_deref())?;
    put_count(out, "attrs", r.attrs.len())?;
    // A BTreeMap iterates in ascending byte order of its keys: the canonical order.
    for (k, v) in &r.attrs {
        put_str(out, "attrs key", k)?;
        put_str_named(out, || format!("attrs.{k}"), v)?;
    }
    Ok(())
}

fn put_str(out: &mut Vec<u8>, field: &str, s: &str) -> Result<(), EncodeError> {
    put_str_named(out, || field.to_string(), s)
}

/// `field` names the field in the error; it is only built when there is one.
fn put_str_named(
    out: &mut Vec<u8>,
    field: impl FnOnce() -> String,
    s: &str,
) -> Result<(), EncodeError> {
    if s.len() > MAX_FIELD_BYTES {
        return Err(EncodeError::FieldTooLong {
            field: field(),
            len: s.len(),
            max: MAX_FIELD_BYTES,
        });
    }
    // Fits: MAX_FIELD_BYTES < u32::MAX.
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_count(out: &mut Vec<u8>, field: &'static str, n: usize) -> Result<(), EncodeError> {
    if n > MAX_ITEMS {
        return Err(EncodeError::TooManyItems {
            field,
            len: n,
            max: MAX_ITEMS,
        });
    }
    out.extend_from_slice(&(n as u32).to_be_bytes());
    Ok(())
}

fn put_list(out: &mut Vec<u8>, field: &'static str, items: &[String]) -> Result<(), EncodeError> {
    put_count(out, field, items.len())?;
    for (i, item) in items.iter().enumerate() {
        put_str_named(out, || format!("{field}[{i}]"), item)?;
    }
    Ok(())
}

fn put_opt(out: &mut Vec<u8>, field: &str, s: Option<&str>) -> Result<(), EncodeError> {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, field, s)?;
        }
    }
    Ok(())
}

/// A decoded entry that borrows its strings from the encoded bytes (no allocation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryView<'a> {
    pub(crate) seq: u64,
    pub(crate) time_nanos: u64,
    pub(crate) prev: Hash,
    pub(crate) actor: &'a str,
    pub(crate) action: &'a str,
    pub(crate) scopes: StrList<'a>,
    pub(crate) decision: &'a str,
    pub(crate) reasons: StrList<'a>,
    pub(crate) result: &'a str,
    pub(crate) session: Option<&'a str>,
    pub(crate) run: Option<&'a str>,
    pub(crate) tool_call: Option<&'a str>,
    /// Keys and values alternate.
    pub(crate) attrs: StrList<'a>,
}

impl EntryView<'_> {
    pub(crate) fn to_record(self) -> Record {
        let owned = |l: StrList<'_>| l.iter().map(str::to_owned).collect::<Vec<_>>();
        let flat = owned(self.attrs);
        let attrs: BTreeMap<String, String> = flat
            .chunks_exact(2)
            .map(|kv| (kv[0].clone(), kv[1].clone()))
            .collect();
        Record {
            time: nanos_to_time(self.time_nanos),
            actor: self.actor.to_owned(),
            action: self.action.to_owned(),
            scopes: owned(self.scopes),
            decision: self.decision.to_owned(),
            reasons: owned(self.reasons),
            result: self.result.to_owned(),
            session: self.session.map(str::to_owned),
            run: self.run.map(str::to_owned),
            tool_call: self.tool_call.map(str::to_owned),
            attrs,
        }
    }
}

/// A validated run of length-prefixed UTF-8 strings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StrList<'a> {
    raw: &'a [u8],
}

impl<'a> StrList<'a> {
    pub(crate) fn iter(self) -> impl Iterator<Item = &'a str> {
        let mut rest = self.raw;
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = u32::from_be_bytes(*len) as usize;
            let (s, tail) = tail.split_at_checked(len)?;
            rest = tail;
            // Validated when the list was decoded.
            std::str::from_utf8(s).ok()
        })
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn fail<T>(&self, what: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError {
            at: self.at,
            what: what.into(),
        })
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        match self.bytes.get(self.at..self.at + n) {
            Some(s) => {
                self.at += n;
                Ok(s)
            }
            None => self.fail(format!("{what} runs past the end")),
        }
    }

    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, DecodeError> {
        let b = self.take(8, what)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn str(&mut self, what: &str) -> Result<&'a str, DecodeError> {
        let len = self.u32(what)? as usize;
        if len > MAX_FIELD_BYTES {
            return self.fail(format!(
                "{what} is {len} bytes, above the {MAX_FIELD_BYTES} limit"
            ));
        }
        let at = self.at;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes).map_err(|e| DecodeError {
            at: at + e.valid_up_to(),
            what: format!("{what} is not valid UTF-8"),
        })
    }

    fn count(&mut self, what: &str) -> Result<usize, DecodeError> {
        let n = self.u32(what)? as usize;
        if n > MAX_ITEMS {
            return self.fail(format!("{what} has {n} items, above the {MAX_ITEMS} limit"));
        }
        Ok(n)
    }

    fn list(&mut self, what: &str) -> Result<StrList<'a>, DecodeError> {
        let n = self.count(what)?;
        let start = self.at;
        for _ in 0..n {
            self.str(what)?;
        }
        Ok(StrList {
            raw: &self.bytes[start..self.at],
        })
    }

    fn opt(&mut self, what: &str) -> Result<Option<&'a str>, DecodeError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(self.str(what)?)),
            tag => {
                self.at -= 1;
                self.fail(format!("{what} has option tag {tag}; only 0 and 1 exist"))
            }
        }
    }

    fn attrs(&mut self) -> Result<StrList<'a>, DecodeError> {
        let n = self.count("attrs")?;
        let start = self.at;
        let mut last: Option<&str> = None;
        for _ in 0..n {
            let key_at = self.at;
            let key = self.str("attrs key")?;
            if last.is_some_and(|l| l >= key) {
                self.at = key_at;
                return self.fail(format!(
                    "attrs key {key:?} is not after {:?} (keys must be sorted and unique)",
                    last.unwrap_or_default()
                ));
            }
            last = Some(key);
            self.str("attrs value")?;
        }
        Ok(StrList {
            raw: &self.bytes[start..self.at],
        })
    }
}

/// Decodes and validates a canonical entry without copying its strings.
pub(crate) fn decode(bytes: &[u8]) -> Result<EntryView<'_>, DecodeError> {
    let mut c = Cursor { bytes, at: 0 };
    if bytes.len() > MAX_ENTRY_BYTES {
        return c.fail(format!(
            "the entry is {} bytes, above the {MAX_ENTRY_BYTES} limit",
            bytes.len()
        ));
    }
    let version = c.u8("version")?;
    if version != ENTRY_VERSION {
        c.at = 0;
        return c.fail(format!(
            "unknown entry version {version} (this build reads version {ENTRY_VERSION})"
        ));
    }
    let seq = c.u64("seq")?;
    let time_nanos = c.u64("time")?;
    let prev = Hash::from_slice(c.take(32, "prev")?).unwrap_or_default();
    let view = EntryView {
        seq,
        time_nanos,
        prev,
        actor: c.str("actor")?,
        action: c.str("action")?,
        scopes: c.list("scopes")?,
        decision: c.str("decision")?,
        reasons: c.list("reasons")?,
        result: c.str("result")?,
        session: c.opt("session")?,
        run: c.opt("run")?,
        tool_call: c.opt("tool_call")?,
        attrs: c.attrs()?,
    };
    if c.at != bytes.len() {
        return c.fail(format!("{} trailing bytes", bytes.len() - c.at));
    }
    Ok(view)
}

#[cfg(test)]
#[path = "encoding_tests.rs"]
mod tests;
