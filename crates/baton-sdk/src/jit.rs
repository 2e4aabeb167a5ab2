//! Just-in-time access: grants that expire.
//!
//! A grant made with a duration is recorded in a small SQLite state file
//! with its expiry. [`revoke_expired`] revokes every recorded grant past its
//! expiry exactly once: a revoke that succeeds (or finds the grant already
//! gone) is marked done, one that fails is retried later with growing waits
//! and stays reported until it succeeds. The state survives restarts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use c1z::v2::Grant;
use prost::Message;
use rusqlite::{params, Connection};
use tracing::{info, warn};

use crate::provision::{AuditLog, AuditRecord, Outcome, ProvisionError, Provisioner};

/// Parses a duration such as `30m`, `4h`, `90s`, `2d` or `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("invalid duration {text:?}: expected a number and a unit (s, m, h or d), such as 30m, 4h or 1h30m")
    };
    let mut total = 0u64;
    let mut number = String::new();
    for ch in text.trim().chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let value: u64 = number.parse().map_err(|_| bad())?;
        total = total
            .checked_add(value.checked_mul(unit).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// The default state file next to a c1z: `<file>.jit.sqlite`.
pub fn default_state_path(c1z: &Path) -> PathBuf {
    let mut name = c1z
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".jit.sqlite");
    c1z.with_file_name(name)
}

/// One recorded grant with an expiry.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: i64,
    pub grant: Grant,
    pub expires_at: i64,
    pub reason: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// The state file of expiring grants.
pub struct JitStore {
    conn: Connection,
    path: PathBuf,
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Formats Unix seconds as RFC 3339 (UTC).
pub fn rfc3339(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl JitStore {
    /// Opens (creating if needed) the state file.
    pub fn open(path: &Path) -> Result<Self, String> {
        let conn = Connection::open(path).map_err(|e| {
            format!(
                "cannot open the just-in-time state file {}: {e}",
                path.display()
            )
        })?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS expiring_grants (
                id INTEGER PRIMARY KEY,
                grant_id TEXT NOT NULL,
                grant_data BLOB NOT NULL,
                expires_at INTEGER NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                revoked_at INTEGER
            );
            CREATE INDEX IF NOT EXISTS expiring_grants_due ON expiring_grants (revoked_at, expires_at);",
        )
        .map_err(|e| format!("the just-in-time state file {} is not usable: {e}", path.display()))?;
        Ok(JitStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Records a grant that expires at `expires_at` (Unix seconds).
    pub fn record(&self, grant: &Grant, expires_at: i64, reason: &str) -> Result<(), String> {
        self.conn
            .execute(
                "INSERT INTO expiring_grants (grant_id, grant_data, expires_at, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![grant.id, grant.encode_to_vec(), expires_at, reason, now()],
            )
            .map(|_| ())
            .map_err(|e| format!("cannot record the expiry in {}: {e}", self.path.display()))
    }

    /// Grants past their expiry that are not revoked yet and due for an attempt.
    pub fn due(&self, at: i64) -> Result<Vec<Pending>, String> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, grant_data, expires_at, reason, attempts, last_error FROM expiring_grants \
                 WHERE revoked_at IS NULL AND expires_at <= ?1 AND next_attempt_at <= ?1 ORDER BY expires_at, id",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([at], |r| {
                let data: Vec<u8> = r.get(1)?;
                Ok(Pending {
                    id: r.get(0)?,
                    grant: Grant::decode(data.as_slice()).unwrap_or_default(),
                    expires_at: r.get(2)?,
                    reason: r.get(3)?,
                    attempts: r.get(4)?,
                    last_error: r.get(5)?,
                })
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
    }

    /// Every grant not revoked yet, due or not.
    pub fn outstanding(&self) -> Result<i64, String> {
        self.conn
            .query_row(
                "SELECT count(*) FROM expiring_grants WHERE revoked_at IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())
    }

    fn mark_revoked(&self, id: i64) -> Result<(), String> {
        self.conn
            .execute(
                "UPDATE expiring_grants SET revoked_at = ?2 WHERE id = ?1",
                params![id, now()],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Schedules the next attempt after a failure: 30 s (or
    /// `BATON_JIT_RETRY_BASE_SECONDS`), doubling, at most an hour.
    fn mark_failed(&self, id: i64, attempts: i64, error: &str) -> Result<(), String> {
        let base = std::env::var("BATON_JIT_RETRY_BASE_SECONDS")
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(30)
            .max(0);
        let wait = (base << attempts.min(7)).min(3600);
        self.conn
            .execute(
                "UPDATE expiring_grants SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
                params![id, error, now() + wait],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// What one pass of [`revoke_expired`] did.
#[derive(Debug, Default, Clone)]
pub struct RevokeReport {
    pub revoked: usize,
    pub already_revoked: usize,
    pub failed: Vec<(String, String)>,
}

/// Revokes every recorded grant past its expiry, once, appending each
/// outcome to the audit log.
pub async fn revoke_expired(
    provisioner: &dyn Provisioner,
    store: &JitStore,
    audit: &AuditLog,
) -> Result<RevokeReport, ProvisionError> {
    let mut report = RevokeReport::default();
    let due = store.due(now()).map_err(ProvisionError::NotFound)?;
    for pending in due {
        let grant = &pending.grant;
        let resource_type = grant
            .entitlement
            .as_ref()
            .and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref())
            .map(|i| i.resource_type.clone())
            .unwrap_or_default();
        let principal = grant
            .principal
            .as_ref()
            .and_then(|p| p.id.as_ref())
            .map(|i| format!("{}:{}", i.resource_type, i.resource));
        let entitlement = grant.entitlement.as_ref().map(|e| e.id.as_str());
        let result = match provisioner.grant_manager(&resource_type) {
            Some(manager) => manager.revoke(grant).await.map_err(|e| e.to_string()),
            None => Err(format!(
                "resource type {resource_type} does not have provisioner configured"
            )),
        };
        let (outcome, ids, message) = match &result {
            Ok(change) if change.outcome == Outcome::Done => {
                ("revoked", change.request_ids.clone(), None)
            }
            Ok(change) => ("already_revoked", change.request_ids.clone(), None),
            Err(e) => ("failed", Vec::new(), Some(e.clone())),
        };
        audit.append(&AuditRecord {
            time: rfc3339(now()),
            action: "revoke_expired",
            entitlement,
            principal: principal.clone(),
            resource: None,
            outcome,
            request_ids: ids,
            message,
            reason: (!pending.reason.is_empty()).then(|| pending.reason.clone()),
            expires_at: Some(rfc3339(pending.expires_at)),
        })?;
        match result {
            Ok(change) => {
                store
                    .mark_revoked(pending.id)
                    .map_err(ProvisionError::NotFound)?;
                if change.outcome == Outcome::Done {
                    report.revoked += 1;
                    info!(grant = %grant.id, "revoked an expired grant");
                } else {
                    report.already_revoked += 1;
                    info!(grant = %grant.id, "an expired grant was already revoked");
                }
            }
            Err(e) => {
                warn!(grant = %grant.id, attempts = pending.attempts + 1, error = %e, "could not revoke an expired grant; it will be retried");
                store
                    .mark_failed(pending.id, pending.attempts, &e)
                    .map_err(ProvisionError::NotFound)?;
                report.failed.push((grant.id.clone(), e));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        for bad in ["", "4", "h", "4x", "0s", "-1h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn due_and_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let store = JitStore::open(&dir.path().join("s.sqlite")).unwrap();
        let grant = Grant {
            id: "g1".into(),
            ..Default::default()
        };
        store.record(&grant, 100, "ticket 42").unwrap();
        assert!(store.due(99).unwrap().is_empty());
        let due = store.due(100).unwrap();
        assert_eq!(due[0].reason, "ticket 42");
        store.mark_failed(due[0].id, 0, "boom").unwrap();
        assert!(
            store.due(now()).unwrap().is_empty(),
            "a failed revoke waits before the next attempt"
        );
        assert_eq!(store.outstanding().unwrap(), 1);
        drop(store);
        let reopened = JitStore::open(&dir.path().join("s.sqlite")).unwrap();
        assert_eq!(
            reopened.outstanding().unwrap(),
            1,
            "the state survives a restart"
        );
    }
}
