use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::db::{State, from_ms, now_ms, to_ms};
use crate::error::{Error, Result};

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Denied,
    /// Nobody decided before the deadline; treated as a denial.
    Expired,
}

impl ApprovalStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "expired" => Self::Expired,
            other => return Err(Error::Corrupt(format!("approval status {other:?}"))),
        })
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for a human decision.
#[derive(Debug, Clone)]
pub struct NewApproval {
    /// The hash of exactly what is asked (skill digest, scopes, arguments); a decision applies
    /// to this binding and nothing else.
    pub binding: String,
    /// What a human needs to decide, shown by `approvals list` and the prompt.
    pub request: serde_json::Value,
    /// How long the request waits for a decision.
    pub timeout: Duration,
}

/// A human decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Allow; with a duration, later identical actions are allowed until it ends.
    Approve {
        grant_for: Option<Duration>,
    },
    Deny,
}

/// An approval as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub id: String,
    pub binding: String,
    pub request: serde_json::Value,
    pub status: ApprovalStatus,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub decided_at: Option<SystemTime>,
    pub decided_by: Option<String>,
    /// For an approval "for a duration", how long the grant lasts.
    pub grant_for: Option<Duration>,
    pub reason: Option<String>,
}

/// A standing permission for one binding, created by an approval "for a duration".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub binding: String,
    pub approval_id: Option<String>,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
}

const COLUMNS: &str = "id, binding, request, status, created_ms, expires_ms, decided_ms, decided_by, grant_ms, reason";

fn approval_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Approval>> {
    let request: String = row.get(2)?;
    let status: String = row.get(3)?;
    let grant_ms: Option<i64> = row.get(8)?;
    let decided_ms: Option<i64> = row.get(6)?;
    let id: String = row.get(0)?;
    let binding: String = row.get(1)?;
    let created_ms: i64 = row.get(4)?;
    let expires_ms: i64 = row.get(5)?;
    let decided_by: Option<String> = row.get(7)?;
    let reason: Option<String> = row.get(9)?;
    Ok((|| {
        Ok(Approval {
            request: serde_json::from_str(&request)
                .map_err(|e| Error::Corrupt(format!("approval {id}: request is not JSON: {e}")))?,
            status: ApprovalStatus::parse(&status)?,
            created_at: from_ms(created_ms),
            expires_at: from_ms(expires_ms),
            decided_at: decided_ms.map(from_ms),
            grant_for: grant_ms.map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
            id,
            binding,
            decided_by,
            reason,
        })
    })())
}

fn new_id() -> Result<String> {
    let mut bytes = [0u8; 5];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl State {
    /// Queues a request for a decision and returns it (status pending).
    pub fn create_approval(&self, new: &NewApproval) -> Result<Approval> {
        let now = now_ms();
        let id = new_id()?;
        self.conn.execute(
            "INSERT INTO approvals (id, binding, request, status, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, 'pending', ?4, ?5)",
            params![
                id,
                new.binding,
                new.request.to_string(),
                now,
                now.saturating_add(duration_ms(new.timeout))
            ],
        )?;
        self.approval(&id)?.ok_or(Error::UnknownApproval(id))
    }

    /// Marks every pending approval whose deadline has passed as expired.
    fn expire_overdue(&self) -> Result<()> {
        self.conn.execute(
            "UPDATE approvals SET status = 'expired', decided_ms = expires_ms
             WHERE status = 'pending' AND expires_ms <= ?1",
            params![now_ms()],
        )?;
        Ok(())
    }

    /// One approval by id (expired ones show as expired).
    pub fn approval(&self, id: &str) -> Result<Option<Approval>> {
        self.expire_overdue()?;
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM approvals WHERE id = ?1"),
                params![id],
                approval_from_row,
            )
            .optional()?
            .transpose()
    }

    /// Approvals, newest first, optionally only those with one status.
    pub fn list_approvals(&self, status: Option<ApprovalStatus>) -> Result<Vec<Approval>> {
        self.expire_overdue()?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM approvals WHERE ?1 IS NULL OR status = ?1 ORDER BY created_ms DESC, id"
        ))?;
        let rows = stmt.query_map(
            params![status.map(ApprovalStatus::as_str)],
            approval_from_row,
        )?;
        rows.map(|r| r?).collect()
    }

    /// Decides a pending approval. Only a pending, unexpired approval can be decided, and only
    /// once: two people deciding at the same moment get one success and one
    /// [`Error::NotPending`]. An approval for a duration also records a grant for its binding.
    pub fn decide_approval(
        &mut self,
        id: &str,
        resolution: Resolution,
        by: &str,
        reason: Option<&str>,
    ) -> Result<Approval> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_ms();
        let (status, grant_ms) = match resolution {
            Resolution::Approve { grant_for } => {
                (ApprovalStatus::Approved, grant_for.map(duration_ms))
            }
            Resolution::Deny => (ApprovalStatus::Denied, None),
        };
        let changed = tx.execute(
            "UPDATE approvals SET status = ?2, decided_ms = ?3, decided_by = ?4, grant_ms = ?5, reason = ?6
             WHERE id = ?1 AND status = 'pending' AND expires_ms > ?3",
            params![id, status.as_str(), now, by, grant_ms, reason],
        )?;
        if changed == 1
            && let Some(ms) = grant_ms
        {
            tx.execute(
                "INSERT INTO grants (binding, approval_id, created_ms, expires_ms)
                 SELECT binding, id, ?2, ?3 FROM approvals WHERE id = ?1",
                params![id, now, now.saturating_add(ms)],
            )?;
        }
        tx.commit()?;
        let approval = self
            .approval(id)?
            .ok_or_else(|| Error::UnknownApproval(id.to_string()))?;
        if changed == 1 {
            Ok(approval)
        } else {
            Err(Error::NotPending {
                id: id.to_string(),
                status: approval.status,
            })
        }
    }

    /// Blocks until the approval is decided or expires, checking every `poll`. Returns it in
    /// its final state (approved, denied or expired).
    pub fn wait_approval(&self, id: &str, poll: Duration) -> Result<Approval> {
        let first = self
            .approval(id)?
            .ok_or_else(|| Error::UnknownApproval(id.to_string()))?;
        // The deadline is kept in monotonic time as well, so that a wall clock set backwards
        // cannot make us wait forever.
        let left = first
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let deadline = Instant::now() + left;
        loop {
            let approval = self
                .approval(id)?
                .ok_or_else(|| Error::UnknownApproval(id.to_string()))?;
            if approval.status != ApprovalStatus::Pending {
                return Ok(approval);
            }
            let now = Instant::now();
            if now >= deadline {
                self.conn.execute(
                    "UPDATE approvals SET status = 'expired', decided_ms = ?2 WHERE id = ?1 AND status = 'pending'",
                    params![id, now_ms()],
                )?;
                continue;
            }
            std::thread::sleep(poll.min(deadline - now));
        }
    }

    /// Records a grant for a binding directly (used when a human approves in the prompt).
    pub fn add_grant(
        &self,
        binding: &str,
        approval_id: Option<&str>,
        ttl: Duration,
    ) -> Result<Grant> {
        let now = now_ms();
        let expires = now.saturating_add(duration_ms(ttl));
        self.conn.execute(
            "INSERT INTO grants (binding, approval_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
            params![binding, approval_id, now, expires],
        )?;
        Ok(Grant {
            binding: binding.to_string(),
            approval_id: approval_id.map(str::to_owned),
            created_at: from_ms(now),
            expires_at: from_ms(expires),
        })
    }

    /// The unexpired grant for a binding that lasts longest, if any.
    pub fn active_grant(&self, binding: &str) -> Result<Option<Grant>> {
        Ok(self
            .conn
            .query_row(
                "SELECT binding, approval_id, created_ms, expires_ms FROM grants
                 WHERE binding = ?1 AND expires_ms > ?2 ORDER BY expires_ms DESC LIMIT 1",
                params![binding, now_ms()],
                |row| {
                    Ok(Grant {
                        binding: row.get(0)?,
                        approval_id: row.get(1)?,
                        created_at: from_ms(row.get(2)?),
                        expires_at: from_ms(row.get(3)?),
                    })
                },
            )
            .optional()?)
    }

    /// Ends every grant now (lockdown, or `approvals revoke`). Returns how many ended.
    pub fn revoke_grants(&self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE grants SET expires_ms = ?1 WHERE expires_ms > ?1",
            params![to_ms(SystemTime::now())],
        )?)
    }
}

#[cfg(test)]
#[path = "approvals_tests.rs"]
mod tests;
