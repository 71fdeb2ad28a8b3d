use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fs::ensure_private_dir;

/// The environment variable that overrides the home location.
pub const HOME_ENV: &str = "AEGISCLAW_HOME";

/// The AegisClaw home directory and the places of everything in it.
///
/// ```text
/// config.toml      validated on load
/// policies/        the active policy (*.rego)
/// state.db         SQLite: approvals, grants, sessions, skills, pins, budgets, lockdown
/// audit/           log segments, checkpoints, the log key's public half
/// keys/            age identity and log signing key (0600; never visible in a sandbox)
/// secrets/         age-encrypted store
/// skills/          installed skills
/// trust/           public keys trusted to sign skills
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// The home named by `$AEGISCLAW_HOME`, else `~/.aegisclaw`.
    pub fn from_env() -> Result<Self> {
        if let Some(dir) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Self::at(dir));
        }
        let user_home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .ok_or(Error::NoHome)?;
        Ok(Self::at(PathBuf::from(user_home).join(".aegisclaw")))
    }

    /// A home at an explicit path. Relative paths are made absolute against the current
    /// directory, so that a path recorded in config or handed to a sandbox means one place.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(&root))
                .unwrap_or(root)
        };
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn policies_dir(&self) -> PathBuf {
        self.root.join("policies")
    }
    pub fn state_db(&self) -> PathBuf {
        self.root.join("state.db")
    }
    pub fn audit_dir(&self) -> PathBuf {
        self.root.join("audit")
    }
    pub fn keys_dir(&self) -> PathBuf {
        self.root.join("keys")
    }
    pub fn secrets_dir(&self) -> PathBuf {
        self.root.join("secrets")
    }
    pub fn skills_dir(&self) -> PathBuf {
        self.root.join("skills")
    }
    pub fn trust_dir(&self) -> PathBuf {
        self.root.join("trust")
    }

    /// Every directory of the layout, the root first.
    pub fn dirs(&self) -> Vec<PathBuf> {
        vec![
            self.root.clone(),
            self.policies_dir(),
            self.audit_dir(),
            self.keys_dir(),
            self.secrets_dir(),
            self.skills_dir(),
            self.trust_dir(),
        ]
    }

    /// Creates the layout (owner-only directories), tightening modes that are too open.
    pub fn create(&self) -> Result<()> {
        self.dirs().iter().try_for_each(|d| ensure_private_dir(d))
    }

    /// Whether `aegisclaw init` has run here (a config file exists).
    pub fn is_initialised(&self) -> bool {
        self.config_file().exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn create_builds_private_layout() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        home.create().unwrap();
        for d in home.dirs() {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        assert!(!home.is_initialised());
    }

    #[test]
    fn relative_home_becomes_absolute() {
        assert!(Home::at("rel/home").root().is_absolute());
    }
}
