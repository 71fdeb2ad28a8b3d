use std::time::Duration;

use super::*;

fn state() -> (tempfile::TempDir, State) {
    let dir = tempfile::tempdir().unwrap();
    let state = State::open_path(&dir.path().join("state.db")).unwrap();
    (dir, state)
}

fn request(binding: &str, timeout: Duration) -> NewApproval {
    NewApproval {
        binding: binding.into(),
        request: serde_json::json!({"skill": "hello-world", "scopes": ["shell.exec"]}),
        timeout,
    }
}

#[test]
fn create_list_and_approve() {
    let (_dir, mut state) = state();
    let a = state
        .create_approval(&request("b1", Duration::from_secs(60)))
        .unwrap();
    assert_eq!(a.status, ApprovalStatus::Pending);
    assert_eq!(a.id.len(), 10);
    assert_eq!(a.request["skill"], "hello-world");
    let pending = state.list_approvals(Some(ApprovalStatus::Pending)).unwrap();
    assert_eq!(pending.len(), 1);
    let decided = state
        .decide_approval(
            &a.id,
            Resolution::Approve { grant_for: None },
            "alice",
            None,
        )
        .unwrap();
    assert_eq!(decided.status, ApprovalStatus::Approved);
    assert_eq!(decided.decided_by.as_deref(), Some("alice"));
    assert!(
        state
            .list_approvals(Some(ApprovalStatus::Pending))
            .unwrap()
            .is_empty()
    );
    assert!(
        state.active_grant("b1").unwrap().is_none(),
        "approve once grants nothing further"
    );
}

#[test]
fn a_decision_is_final() {
    let (_dir, mut state) = state();
    let a = state
        .create_approval(&request("b", Duration::from_secs(60)))
        .unwrap();
    state
        .decide_approval(&a.id, Resolution::Deny, "bob", Some("not today"))
        .unwrap();
    let again = state.decide_approval(
        &a.id,
        Resolution::Approve { grant_for: None },
        "mallory",
        None,
    );
    assert!(
        matches!(
            again,
            Err(Error::NotPending {
                status: ApprovalStatus::Denied,
                ..
            })
        ),
        "{again:?}"
    );
    let stored = state.approval(&a.id).unwrap().unwrap();
    assert_eq!(stored.status, ApprovalStatus::Denied);
    assert_eq!(stored.reason.as_deref(), Some("not today"));
}

#[test]
fn unknown_id_is_an_error() {
    let (_dir, mut state) = state();
    let e = state
        .decide_approval("nope", Resolution::Deny, "x", None)
        .unwrap_err();
    assert!(matches!(e, Error::UnknownApproval(_)), "{e}");
}

#[test]
fn overdue_approvals_expire_and_cannot_be_approved() {
    let (_dir, mut state) = state();
    let a = state
        .create_approval(&request("b", Duration::from_millis(30)))
        .unwrap();
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(
        state.approval(&a.id).unwrap().unwrap().status,
        ApprovalStatus::Expired
    );
    let late = state.decide_approval(
        &a.id,
        Resolution::Approve { grant_for: None },
        "alice",
        None,
    );
    assert!(
        matches!(
            late,
            Err(Error::NotPending {
                status: ApprovalStatus::Expired,
                ..
            })
        ),
        "{late:?}"
    );
}

#[test]
fn wait_returns_on_expiry() {
    let (_dir, state) = state();
    let a = state
        .create_approval(&request("b", Duration::from_millis(80)))
        .unwrap();
    let done = state
        .wait_approval(&a.id, Duration::from_millis(10))
        .unwrap();
    assert_eq!(done.status, ApprovalStatus::Expired);
}

#[test]
fn wait_sees_a_decision_made_through_another_connection() {
    let (dir, state) = state();
    let a = state
        .create_approval(&request("b", Duration::from_secs(30)))
        .unwrap();
    let path = dir.path().join("state.db");
    let id = a.id.clone();
    let approver = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let mut other = State::open_path(&path).unwrap();
        other.decide_approval(
            &id,
            Resolution::Approve {
                grant_for: Some(Duration::from_secs(3600)),
            },
            "ops",
            None,
        )
    });
    let done = state
        .wait_approval(&a.id, Duration::from_millis(10))
        .unwrap();
    approver.join().unwrap().unwrap();
    assert_eq!(done.status, ApprovalStatus::Approved);
    assert_eq!(done.grant_for, Some(Duration::from_secs(3600)));
    let grant = state
        .active_grant("b")
        .unwrap()
        .expect("an approval for a duration grants");
    assert_eq!(grant.approval_id.as_deref(), Some(a.id.as_str()));
    assert!(state.active_grant("other-binding").unwrap().is_none());
}

#[test]
fn concurrent_deciders_one_wins() {
    let (dir, state) = state();
    let a = state
        .create_approval(&request("b", Duration::from_secs(30)))
        .unwrap();
    let path = dir.path().join("state.db");
    let results: Vec<_> = (0..8)
        .map(|i| {
            let (path, id) = (path.clone(), a.id.clone());
            std::thread::spawn(move || {
                let mut s = State::open_path(&path).unwrap();
                let r = if i % 2 == 0 {
                    Resolution::Deny
                } else {
                    Resolution::Approve { grant_for: None }
                };
                s.decide_approval(&id, r, &format!("user{i}"), None).is_ok()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
}

#[test]
fn grants_expire_and_can_be_revoked() {
    let (_dir, state) = state();
    state
        .add_grant("short", None, Duration::from_millis(20))
        .unwrap();
    state
        .add_grant("long", None, Duration::from_secs(3600))
        .unwrap();
    assert!(state.active_grant("short").unwrap().is_some());
    std::thread::sleep(Duration::from_millis(40));
    assert!(state.active_grant("short").unwrap().is_none());
    assert!(state.active_grant("long").unwrap().is_some());
    assert_eq!(state.revoke_grants().unwrap(), 1);
    assert!(state.active_grant("long").unwrap().is_none());
}

#[test]
fn processes_opening_a_new_database_at_once_all_succeed() {
    // Each iteration races eight first opens of a fresh file (the schema upgrade must run once).
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    State::open_path(&path).map(drop)
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}
