//! Who may carry out subscriber requests on this laptop: the role of the account signed in
//! here, checked before anything is written, by the rule the server enforces at push
//! (`Role::carries_out_requests`), so a rep's laptop refuses instead of queueing an erasure the
//! server would refuse.

use crate::error::{CoreError, Result};
use crate::store::sync_state;
use rusqlite::Connection;
use serde::Serialize;
use switchboard_protocol::{authz, RequestKind, Role};
use ts_rs::TS;

/// The role of the account signed in on this replica. `None` without an account (a laptop
/// that does not sync, or one signed out): nothing to check here; the server checks each push.
pub fn signed_in_role(conn: &Connection) -> Result<Option<Role>> {
    let state = sync_state::state(conn)?;
    Ok(sync_state::signed_in_account(&state).and_then(|(_, role)| role.parse().ok()))
}

/// Refuses (`role_required`, saying who can) carrying out a request of `kind` when the
/// signed-in role may not; opting someone out is everyone's.
pub fn require_carry_out(conn: &Connection, kind: RequestKind) -> Result<()> {
    match refusal(signed_in_role(conn)?, kind) {
        Some(reason) => Err(CoreError::RoleRequired(reason)),
        None => Ok(()),
    }
}

/// Why `role` (the signed-in one, if any) may not carry out or close a request of `kind`,
/// saying who can; `None` when it may.
pub fn refusal(role: Option<Role>, kind: RequestKind) -> Option<String> {
    let role = role?;
    (kind != RequestKind::OptOut && !role.carries_out_requests())
        .then(|| authz::carry_out_refusal(role, Some(kind)))
}

/// What the signed-in role may do with subscriber requests, for the window and `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RequestPermissions {
    /// The signed-in account's role, if one is signed in.
    pub role: Option<Role>,
    /// Whether erasures, access exports and corrections may be carried out here.
    pub carry_out: bool,
    /// Why not, saying who can (for a disabled button's explanation).
    pub reason: Option<String>,
}

/// What the signed-in role may do with subscriber requests.
pub fn permissions(conn: &Connection) -> Result<RequestPermissions> {
    let role = signed_in_role(conn)?;
    let reason = role
        .filter(|r| !r.carries_out_requests())
        .map(|r| authz::carry_out_refusal(r, None));
    Ok(RequestPermissions {
        role,
        carry_out: reason.is_none(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{lead, memory_store};
    use crate::privacy::{correct, erase, requests};
    use crate::store::sync_state::{record_login, ServerLogin};
    use crate::Store;
    use switchboard_protocol::RequestStatus;

    fn sign_in(store: &Store, role: &str) {
        record_login(
            store.conn(),
            &ServerLogin {
                server_url: "https://127.0.0.1:1".into(),
                user: "rita".into(),
                role: role.into(),
                office: Some("BER".into()),
                ..ServerLogin::default()
            },
        )
        .unwrap();
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_rep_records_requests_and_opts_out_but_carries_out_nothing() {
        let (mut store, _clock) = memory_store();
        let ann = lead(&mut store, "Ann Example", "ann@example.com", None);
        sign_in(&store, "rep");
        let now = store.now();
        let erase_request = store
            .with_tx(|tx| requests::open(tx, &ann, RequestKind::Erase, None, now, "rita"))
            .unwrap();
        store
            .with_tx(|tx| {
                requests::opt_out_request(
                    tx,
                    &ann,
                    switchboard_protocol::ConsentScope::Email,
                    "phone",
                    "rita",
                    now,
                )
            })
            .unwrap();

        let refusals = [
            erase::erase(&mut store, &ann, "rita").unwrap_err(),
            store
                .with_tx(|tx| {
                    correct::correct(
                        tx,
                        &ann,
                        &[("name".into(), "Ann Other".into())],
                        "rita",
                        now,
                    )
                })
                .unwrap_err(),
            store
                .with_tx(|tx| requests::fulfil(tx, &ann, RequestKind::Access, None, "rita", now))
                .unwrap_err(),
            store
                .with_tx(|tx| {
                    requests::handle(tx, &erase_request.id, RequestStatus::Rejected, "rita", now)
                })
                .unwrap_err(),
        ];
        for e in &refusals {
            assert_eq!(e.code(), "role_required", "{e}");
            assert!(e.to_string().contains("privacy officer"), "{e}");
            assert!(e.to_string().contains("signed in as a rep"), "{e}");
        }
        // Nothing was written by the refused attempts.
        assert_eq!(
            count(&store, "SELECT count(*) FROM lead WHERE status = 'erased'"),
            0
        );
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM subscriber_request WHERE status = 'open'"
            ),
            1
        );
        // The inbox says which requests the rep may not close, and why.
        let inbox = requests::inbox(store.conn(), &Default::default(), now).unwrap();
        let refusals: Vec<_> = inbox
            .iter()
            .map(|e| (e.request.kind, e.closing_refusal.is_some()))
            .collect();
        assert!(
            refusals.contains(&(RequestKind::Erase, true)),
            "{refusals:?}"
        );
        assert!(
            refusals.contains(&(RequestKind::OptOut, false)),
            "{refusals:?}"
        );
        let p = permissions(store.conn()).unwrap();
        assert_eq!((p.role, p.carry_out), (Some(Role::Rep), false));
        assert!(p
            .reason
            .unwrap()
            .contains("erasures, access exports and corrections"));
    }

    #[test]
    fn privacy_staff_and_managers_carry_out_and_no_account_means_the_server_decides() {
        for role in [
            Some("privacy"),
            Some("manager"),
            Some("privacy_officer"),
            None,
        ] {
            let (mut store, _clock) = memory_store();
            let ann = lead(&mut store, "Ann Example", "ann@example.com", None);
            if let Some(role) = role {
                sign_in(&store, role);
            }
            assert!(permissions(store.conn()).unwrap().carry_out, "{role:?}");
            erase::erase(&mut store, &ann, "rita").unwrap();
            assert_eq!(
                count(&store, "SELECT count(*) FROM lead WHERE status = 'erased'"),
                1,
                "{role:?}"
            );
        }
    }
}
