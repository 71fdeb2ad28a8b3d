//! The state database of AegisClaw: `state.db` in the home.
//!
//! Several processes share it (CLI runs waiting for approval, the shell that approves, the
//! daemon), so every change is a single SQLite transaction and every read sees committed data.
//! The database runs in WAL mode with a busy timeout, so a writer never makes a reader fail.
//!
//! - [`State::create_approval`], [`State::decide_approval`], [`State::wait_approval`]: the
//!   pending-approval queue. An approval is bound to a *binding*, the hash of exactly what was
//!   asked (skill digest, scopes, arguments), and expires.
//! - [`State::add_grant`], [`State::active_grant`]: "allow for a duration" grants, by binding.
//! - [`State::lockdown`], [`State::set_lockdown`]: the panic button, which survives restarts.

mod approvals;
mod db;
mod error;
mod lockdown;

pub use approvals::{Approval, ApprovalStatus, Grant, NewApproval, Resolution};
pub use db::State;
pub use error::{Error, Result};
pub use lockdown::Lockdown;
