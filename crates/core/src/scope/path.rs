//! File resources: normalised absolute paths with component-wise containment.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest path accepted (Linux `PATH_MAX`).
const MAX_PATH: usize = 4096;

/// A normalised absolute path: starts with `/`, no `.` or `..` components, no repeated or
/// trailing `/` (except the root itself).
///
/// Normalisation is lexical: `/tmp/../etc/shadow` is `/etc/shadow`, and `..` at the root stays
/// at the root. Symlinks are not resolved here (the path may not exist on this machine); the
/// sandbox resolves them when it mounts, and refuses a mount whose target escapes.
///
/// Containment is component-wise: `/tmp` covers `/tmp/x` but not `/tmpfoo`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FilePath(String);

impl FilePath {
    /// Parses and normalises `raw`; the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("expected an absolute path such as /home/me/docs, got nothing".into());
        }
        if raw.len() > MAX_PATH {
            return Err(format!("path longer than {MAX_PATH} bytes"));
        }
        if raw.contains('\0') {
            return Err("a path cannot contain a NUL byte".into());
        }
        if raw.chars().any(char::is_control) {
            return Err(format!("{raw:?} contains a control character"));
        }
        if !raw.starts_with('/') {
            return Err(format!(
                "expected an absolute path (starting with /), got {raw:?}; `~` and relative paths are not expanded"
            ));
        }
        let mut parts: Vec<&str> = Vec::new();
        for component in raw.split('/') {
            match component {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        let mut normal = String::with_capacity(raw.len());
        for part in &parts {
            normal.push('/');
            normal.push_str(part);
        }
        if normal.is_empty() {
            normal.push('/');
        }
        Ok(Self(normal))
    }

    /// The root, `/`.
    pub fn root() -> Self {
        Self("/".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }

    /// Whether `other` is this path or lies beneath it (component-wise).
    pub fn covers(&self, other: &FilePath) -> bool {
        if self.0 == "/" {
            return true;
        }
        match other.0.strip_prefix(&self.0) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

impl fmt::Display for FilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FilePath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<Path> for FilePath {
    fn as_ref(&self) -> &Path {
        self.as_path()
    }
}

impl Serialize for FilePath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FilePath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}
