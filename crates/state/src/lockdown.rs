use std::time::SystemTime;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::db::{State, from_ms, now_ms};
use crate::error::Result;

/// The lockdown switch. While active, every new action is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Lockdown {
    pub active: bool,
    /// When it last changed; `None` if it never has.
    pub changed_at: Option<SystemTime>,
    pub changed_by: Option<String>,
    pub reason: Option<String>,
}

impl State {
    /// The current lockdown state (inactive when never set).
    pub fn lockdown(&self) -> Result<Lockdown> {
        let row = self
            .conn
            .query_row(
                "SELECT active, changed_ms, changed_by, reason FROM lockdown WHERE id = 1",
                [],
                |row| {
                    Ok(Lockdown {
                        active: row.get::<_, i64>(0)? != 0,
                        changed_at: Some(from_ms(row.get(1)?)),
                        changed_by: Some(row.get(2)?),
                        reason: Some(row.get(3)?),
                    })
                },
            )
            .optional()?;
        Ok(row.unwrap_or(Lockdown {
            active: false,
            changed_at: None,
            changed_by: None,
            reason: None,
        }))
    }

    /// Turns lockdown on or off. Durable when this returns: it survives restarts.
    pub fn set_lockdown(&self, active: bool, by: &str, reason: &str) -> Result<Lockdown> {
        self.conn.execute(
            "INSERT INTO lockdown (id, active, changed_ms, changed_by, reason) VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET active = ?1, changed_ms = ?2, changed_by = ?3, reason = ?4",
            params![i64::from(active), now_ms(), by, reason],
        )?;
        self.lockdown()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockdown_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let state = State::open_path(&path).unwrap();
        assert!(!state.lockdown().unwrap().active);
        state.set_lockdown(true, "admin", "incident 42").unwrap();
        drop(state);
        let state = State::open_path(&path).unwrap();
        let l = state.lockdown().unwrap();
        assert!(l.active);
        assert_eq!(l.changed_by.as_deref(), Some("admin"));
        assert_eq!(l.reason.as_deref(), Some("incident 42"));
        assert!(
            !state
                .set_lockdown(false, "admin", "resolved")
                .unwrap()
                .active
        );
    }
}
