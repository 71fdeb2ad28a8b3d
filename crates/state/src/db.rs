use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aegisclaw_core::Home;
use aegisclaw_core::fs::PRIVATE_FILE_MODE;
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::error::{Error, Result};

/// Schema versions, oldest first. Never edit a landed migration: append a new one.
static MIGRATIONS: LazyLock<Migrations<'static>> = LazyLock::new(|| {
    Migrations::new(vec![M::up(
        "CREATE TABLE approvals (
            id          TEXT PRIMARY KEY,
            binding     TEXT NOT NULL,
            request     TEXT NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
            created_ms  INTEGER NOT NULL,
            expires_ms  INTEGER NOT NULL,
            decided_ms  INTEGER,
            decided_by  TEXT,
            grant_ms    INTEGER,
            reason      TEXT
        );
        CREATE INDEX approvals_status ON approvals (status, created_ms);
        CREATE TABLE grants (
            id          INTEGER PRIMARY KEY,
            binding     TEXT NOT NULL,
            approval_id TEXT,
            created_ms  INTEGER NOT NULL,
            expires_ms  INTEGER NOT NULL
        );
        CREATE INDEX grants_binding ON grants (binding, expires_ms);
        CREATE TABLE lockdown (
            id          INTEGER PRIMARY KEY CHECK (id = 1),
            active      INTEGER NOT NULL,
            changed_ms  INTEGER NOT NULL,
            changed_by  TEXT NOT NULL,
            reason      TEXT NOT NULL
        );",
    )])
});

/// An open state database. Cheap to open; open one per thread or process.
#[derive(Debug)]
pub struct State {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl State {
    /// Opens (creating and upgrading as needed) the home's `state.db`.
    pub fn open(home: &Home) -> Result<Self> {
        Self::open_path(&home.state_db())
    }

    /// Opens a state database at an explicit path. The file is created owner-only.
    pub fn open_path(path: &Path) -> Result<Self> {
        let open_err = |source| Error::Open {
            path: path.to_path_buf(),
            source,
        };
        // Created by us so it is 0600 from the first byte (SQLite gives its -wal and -shm files
        // the same mode). The handle also serialises schema upgrades between processes: two
        // processes opening a new database at once would otherwise both see version 0 and both
        // create the tables. An flock does not interfere with SQLite's own fcntl locks.
        let guard = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(PRIVATE_FILE_MODE)
            .open(path)
            .map_err(|source| Error::Create {
                path: path.to_path_buf(),
                source,
            })?;
        guard.lock().map_err(|source| Error::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        MIGRATIONS
            .to_latest(&mut conn)
            .map_err(|source| Error::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        drop(guard);
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Milliseconds since the Unix epoch, the time unit of every column.
pub(crate) fn to_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

pub(crate) fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        MIGRATIONS.validate().unwrap();
    }

    #[test]
    fn open_creates_private_file_and_reopens() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        drop(State::open_path(&path).unwrap());
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        State::open_path(&path).unwrap();
    }

    #[test]
    fn garbage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        std::fs::write(&path, vec![0x42; 8192]).unwrap();
        let e = State::open_path(&path).unwrap_err();
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}
