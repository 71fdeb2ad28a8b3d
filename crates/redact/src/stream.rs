//! Redaction of output that arrives in chunks (a sandbox's stdout, a proxied response body).
//!
//! A secret may be split across two chunks (or many). The stream keeps back the last
//! `longest pattern - 1` bytes of what it has seen, so that a value split anywhere is found
//! whole; everything before that is redacted and released at once. The result is byte for byte
//! what [`Redactor::redact_bytes`] gives on the whole input, wherever the splits fall.

use std::fmt;
use std::io::{self, Write};

use crate::redactor::Redactor;

/// Redacts a stream pushed in chunks. Obtained from [`Redactor::stream`].
///
/// ```
/// let mut b = aegisclaw_redact::Redactor::builder();
/// b.secret("TOKEN", b"abcdef123456")?;
/// let mut stream = b.build().stream();
/// let mut out = stream.push(b"key: abcdef");
/// out.extend(stream.push(b"123456\n"));
/// out.extend(stream.finish());
/// assert_eq!(out, b"key: [REDACTED:TOKEN]\n");
/// # Ok::<(), aegisclaw_redact::Error>(())
/// ```
pub struct RedactStream {
    redactor: Redactor,
    pending: Vec<u8>,
}

impl fmt::Debug for RedactStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactStream")
            .field("redactor", &self.redactor)
            .field("pending_bytes", &self.pending.len())
            .finish()
    }
}

impl RedactStream {
    pub(crate) fn new(redactor: Redactor) -> Self {
        Self {
            redactor,
            pending: Vec::new(),
        }
    }

    /// Takes the next chunk and returns the output that is now safe to release (possibly
    /// empty: up to `longest pattern - 1` bytes are held back until more input or
    /// [`finish`](Self::finish)).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len() + self.pending.len());
        self.push_into(chunk, &mut out);
        out
    }

    /// Like [`push`](Self::push), appending to `out` instead of allocating.
    pub fn push_into(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.pending.is_empty() {
            let consumed = self.redactor.redact_prefix(chunk, false, out);
            self.pending.extend_from_slice(&chunk[consumed..]);
        } else {
            self.pending.extend_from_slice(chunk);
            let consumed = self.redactor.redact_prefix(&self.pending, false, out);
            self.pending.drain(..consumed);
        }
    }

    /// Number of bytes held back, waiting to see whether a secret continues in the next chunk.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Ends the stream: redacts and returns what was held back.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pending.len());
        self.flush_into(&mut out);
        out
    }

    /// Redacts and releases what was held back now, as if the stream ended here (a secret split
    /// across this point is then no longer found). For line-oriented sinks that must not wait.
    pub fn flush_into(&mut self, out: &mut Vec<u8>) {
        let pending = std::mem::take(&mut self.pending);
        self.redactor.redact_prefix(&pending, true, out);
    }
}

/// A [`Write`] adapter that redacts everything written through it before passing it on.
///
/// Bytes that might begin a secret are held back until more arrive; [`RedactWriter::finish`]
/// (or dropping the writer) releases them. [`Write::flush`] flushes only what is already safe,
/// so that a secret written in two calls with a flush in between is still found.
pub struct RedactWriter<W: Write> {
    stream: Option<RedactStream>,
    /// `None` only after `finish` handed it back.
    inner: Option<W>,
    buf: Vec<u8>,
}

impl<W: Write> fmt::Debug for RedactWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactWriter")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl<W: Write> RedactWriter<W> {
    /// Redacts with `redactor` and writes the result to `inner`.
    pub fn new(redactor: &Redactor, inner: W) -> Self {
        Self {
            stream: Some(redactor.stream()),
            inner: Some(inner),
            buf: Vec::new(),
        }
    }

    /// Writes what was held back, flushes, and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.release()?;
        let mut inner = self.inner.take().ok_or_else(finished)?;
        inner.flush()?;
        Ok(inner)
    }

    fn release(&mut self) -> io::Result<()> {
        if let (Some(stream), Some(inner)) = (self.stream.take(), self.inner.as_mut()) {
            inner.write_all(&stream.finish())?;
        }
        Ok(())
    }
}

fn finished() -> io::Error {
    io::Error::other("RedactWriter used after finish")
}

impl<W: Write> Write for RedactWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let (Some(stream), Some(inner)) = (self.stream.as_mut(), self.inner.as_mut()) else {
            return Err(finished());
        };
        self.buf.clear();
        stream.push_into(data, &mut self.buf);
        inner.write_all(&self.buf)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.as_mut().ok_or_else(finished)?.flush()
    }
}

impl<W: Write> Drop for RedactWriter<W> {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; call `finish` to see them.
        let _ = self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_redacts_across_writes_and_releases_on_finish() {
        let mut b = Redactor::builder();
        b.secret("K", b"0123456789abcdef").unwrap();
        let r = b.build();
        let mut w = RedactWriter::new(&r, Vec::new());
        w.write_all(b"a 01234567").unwrap();
        w.flush().unwrap();
        w.write_all(b"89abcdef b").unwrap();
        let out = w.finish().unwrap();
        assert_eq!(out, b"a [REDACTED:K] b");
    }

    #[test]
    fn dropping_the_writer_releases_held_bytes() {
        let mut b = Redactor::builder();
        b.secret("K", b"0123456789abcdef").unwrap();
        let r = b.build();
        let mut sink = Vec::new();
        {
            let mut w = RedactWriter::new(&r, &mut sink);
            w.write_all(b"tail 0123").unwrap();
        }
        assert_eq!(sink, b"tail 0123");
    }
}
