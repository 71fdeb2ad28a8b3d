//! Replacing known secret values (and their encodings) with a marker naming the secret.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::encodings;
use crate::error::{Error, Result};
use crate::matcher::Matcher;
use crate::stream::RedactStream;

/// Shortest secret value the redactor accepts. Shorter values occur by chance in ordinary text,
/// and redacting them would mangle output while protecting little.
pub const MIN_SECRET_LEN: usize = 6;

/// Collects named secret values, then builds a [`Redactor`].
///
/// ```
/// let mut builder = aegisclaw_redact::Redactor::builder();
/// builder.secret("GITHUB_TOKEN", b"s3cr3t-t0ken-value")?;
/// let redactor = builder.build();
/// assert_eq!(
///     redactor.redact("token=s3cr3t-t0ken-value"),
///     "token=[REDACTED:GITHUB_TOKEN]"
/// );
/// # Ok::<(), aegisclaw_redact::Error>(())
/// ```
#[derive(Default)]
pub struct RedactorBuilder {
    secrets: Vec<(String, Vec<u8>)>,
}

impl fmt::Debug for RedactorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.secrets.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RedactorBuilder")
            .field("secrets", &names)
            .finish()
    }
}

impl RedactorBuilder {
    /// Adds a secret. Its marker is `[REDACTED:NAME]`.
    ///
    /// Fails when the name has characters other than `A-Z a-z 0-9 _ - .` (or is longer than
    /// 128), or the value is shorter than [`MIN_SECRET_LEN`] bytes.
    pub fn secret(&mut self, name: &str, value: &[u8]) -> Result<&mut Self> {
        let name_ok = !name.is_empty()
            && name.len() <= 128
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !name_ok {
            return Err(Error::BadName { name: name.into() });
        }
        if value.len() < MIN_SECRET_LEN {
            return Err(Error::TooShort {
                name: name.into(),
                len: value.len(),
                min: MIN_SECRET_LEN,
            });
        }
        self.secrets.push((name.to_string(), value.to_vec()));
        Ok(self)
    }

    /// Builds the matcher over every secret and every encoded form of it.
    ///
    /// When one string is a form of two secrets, the secret added first names the marker.
    pub fn build(&self) -> Redactor {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut owner: Vec<usize> = Vec::new();
        let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
        for (index, (_, value)) in self.secrets.iter().enumerate() {
            for form in encodings::forms(value) {
                if seen.contains_key(&form) {
                    continue;
                }
                seen.insert(form.clone(), index);
                patterns.push(form);
                owner.push(index);
            }
        }
        let matcher = (!patterns.is_empty()).then(|| Matcher::new(patterns));
        let markers = self
            .secrets
            .iter()
            .map(|(name, _)| format!("[REDACTED:{name}]").into_bytes().into_boxed_slice())
            .collect();
        Redactor {
            inner: Arc::new(Inner {
                matcher,
                owner,
                markers,
            }),
        }
    }
}

/// Replaces known secret values and their encodings with `[REDACTED:NAME]`.
///
/// Cheap to clone (shared). [`Redactor::redact`] works on whole texts; [`Redactor::stream`]
/// returns a [`RedactStream`] that finds values split across chunks.
///
/// Matching is leftmost-longest over the raw values and every form listed in the crate
/// documentation, so a value inside a longer one is covered by the longer marker.
#[derive(Clone)]
pub struct Redactor {
    inner: Arc<Inner>,
}

struct Inner {
    matcher: Option<Matcher>,
    /// Pattern id → index of the secret it belongs to.
    owner: Vec<usize>,
    /// Secret index → marker bytes.
    markers: Vec<Box<[u8]>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.inner.markers.len())
            .field(
                "patterns",
                &self.inner.matcher.as_ref().map_or(0, Matcher::len),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::empty()
    }
}

impl Redactor {
    /// A builder to add secrets to.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder::default()
    }

    /// A redactor that knows no secret and changes nothing.
    pub fn empty() -> Self {
        Self {
            inner: Arc::new(Inner {
                matcher: None,
                owner: Vec::new(),
                markers: Vec::new(),
            }),
        }
    }

    /// Number of secrets known.
    pub fn len(&self) -> usize {
        self.inner.markers.len()
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.inner.markers.is_empty()
    }

    /// Redacts a whole text. Borrowed when nothing was found.
    ///
    /// Values given as bytes that are not valid UTF-8 can match inside a multi-byte character;
    /// such bytes are then replaced with U+FFFD.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(bytes) => match String::from_utf8(bytes) {
                Ok(s) => Cow::Owned(s),
                Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
            },
        }
    }

    /// Redacts a whole byte string. Borrowed when nothing was found.
    pub fn redact_bytes<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        let Some(matcher) = &self.inner.matcher else {
            return Cow::Borrowed(data);
        };
        let Some(mut found) = matcher.find_at(data, 0) else {
            return Cow::Borrowed(data);
        };
        let mut out = Vec::with_capacity(data.len());
        let mut last = 0;
        loop {
            let (start, end, pattern) = found;
            out.extend_from_slice(&data[last..start]);
            out.extend_from_slice(self.marker(pattern));
            last = end;
            match matcher.find_at(data, end) {
                Some(next) => found = next,
                None => break,
            }
        }
        out.extend_from_slice(&data[last..]);
        Cow::Owned(out)
    }

    /// A stream redactor for output that arrives in chunks.
    pub fn stream(&self) -> RedactStream {
        RedactStream::new(self.clone())
    }

    /// Redacts the longest prefix of `buf` that no later byte can change, appending the result to
    /// `out`; returns how many bytes of `buf` were consumed. With `last`, consumes everything.
    pub(crate) fn redact_prefix(&self, buf: &[u8], last: bool, out: &mut Vec<u8>) -> usize {
        let Some(matcher) = &self.inner.matcher else {
            out.extend_from_slice(buf);
            return buf.len();
        };
        // A match starting before `safe_end` is complete: every pattern that starts there fits
        // in `buf`. A match starting later might still grow into a longer one.
        let safe_end = if last {
            buf.len()
        } else {
            buf.len()
                .saturating_sub(matcher.max_len().saturating_sub(1))
        };
        let mut done = 0;
        while let Some((start, end, pattern)) = matcher.find_at(buf, done) {
            if start >= safe_end {
                break;
            }
            out.extend_from_slice(&buf[done..start]);
            out.extend_from_slice(self.marker(pattern));
            done = end;
        }
        let consumed = done.max(safe_end);
        out.extend_from_slice(&buf[done..consumed]);
        consumed
    }

    fn marker(&self, pattern: usize) -> &[u8] {
        let secret = self.inner.owner.get(pattern).copied().unwrap_or(0);
        self.inner
            .markers
            .get(secret)
            .map_or(b"[REDACTED]".as_slice(), |m| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(secrets: &[(&str, &str)]) -> Redactor {
        let mut b = Redactor::builder();
        for (name, value) in secrets {
            b.secret(name, value.as_bytes()).unwrap();
        }
        b.build()
    }

    #[test]
    fn replaces_every_occurrence_with_the_named_marker() {
        let r = redactor(&[("API_KEY", "abc123XYZ"), ("DB_PASS", "hunter2hunter2")]);
        assert_eq!(
            r.redact("k=abc123XYZ p=hunter2hunter2 again abc123XYZ."),
            "k=[REDACTED:API_KEY] p=[REDACTED:DB_PASS] again [REDACTED:API_KEY]."
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn longest_secret_wins_when_one_contains_another() {
        let r = redactor(&[("SHORT", "secret"), ("LONG", "secret-and-more")]);
        assert_eq!(
            r.redact("x secret-and-more y secret"),
            "x [REDACTED:LONG] y [REDACTED:SHORT]"
        );
    }

    #[test]
    fn rejects_short_values_and_bad_names() {
        let mut b = Redactor::builder();
        assert!(matches!(
            b.secret("A", b"12345"),
            Err(Error::TooShort { len: 5, .. })
        ));
        assert!(matches!(
            b.secret("bad name", b"123456"),
            Err(Error::BadName { .. })
        ));
        assert!(matches!(
            b.secret("x]y", b"123456"),
            Err(Error::BadName { .. })
        ));
    }

    #[test]
    fn empty_redactor_changes_nothing() {
        let r = Redactor::builder().build();
        assert!(r.is_empty());
        assert_eq!(r.redact("abc"), "abc");
        let mut s = r.stream();
        assert_eq!(s.push(b"abc"), b"abc");
    }

    #[test]
    fn debug_never_shows_values() {
        let mut b = Redactor::builder();
        b.secret("TOKEN", b"very-secret-value").unwrap();
        let shown = format!("{b:?} {:?}", b.build());
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("TOKEN"), "{shown}");
    }
}
