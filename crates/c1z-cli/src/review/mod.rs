//! Access review packages: one row per grant, grouped by AWS account or
//! application, with privileged access flagged, written as an XLSX workbook,
//! a self-contained HTML report, a grants CSV and a `manifest.json` that
//! records what the package was built from.

mod html;
mod xlsx;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::{self, Edges};
use crate::aws;
use crate::error::{Error, Result};
use crate::inventory;
use crate::privilege::{self, Privileges};
use crate::snapshot::{self, Key, Snapshot};

/// Sheet key of grants on IAM Identity Center objects (SSO users, groups, permission sets).
pub const IDENTITY_CENTER: &str = "identity-center";
/// Sheet key of grants that name no AWS account.
pub const OTHER: &str = "other";

/// One grant as a row of the review. This is also the CSV export format.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRow {
    pub sync_id: String,
    pub account_id: String,
    pub account: String,
    pub principal_type: String,
    pub principal_id: String,
    pub principal: String,
    /// `user`, `group`, `role`, `other`, or `unknown` when the principal has no resource row.
    pub principal_kind: String,
    pub entitlement_id: String,
    pub entitlement: String,
    pub resource_type: String,
    pub resource_id: String,
    pub resource: String,
    /// `direct`, `via …` or both.
    pub granted: String,
    /// `connector` (listed by the connector), `expanded` (written by SDK grant
    /// expansion) or `derived` (implied by an expansion edge the file did not expand).
    pub origin: String,
    /// `yes` or empty.
    pub privileged: String,
    pub privilege_reason: String,
    pub last_login: String,
    /// `yes (N days)` when the principal's last login is older than `--unused-days`; empty otherwise or when unknown.
    #[serde(default)]
    pub unused: String,
    pub grant_id: String,
}

/// CSV header of [`ReviewRow`], in field order.
pub const CSV_COLUMNS: &[&str] = &[
    "sync_id",
    "account_id",
    "account",
    "principal_type",
    "principal_id",
    "principal",
    "principal_kind",
    "entitlement_id",
    "entitlement",
    "resource_type",
    "resource_id",
    "resource",
    "granted",
    "origin",
    "privileged",
    "privilege_reason",
    "last_login",
    "unused",
    "grant_id",
];

/// Builds the review rows of a snapshot: every stored grant, then the derived
/// holdings of every principal, sorted by account, principal and entitlement.
pub fn rows(snap: &Snapshot, privileges: &Privileges) -> Vec<ReviewRow> {
    rows_with_usage(snap, privileges, None)
}

/// Builds the review rows and flags those whose principal has not logged in
/// for more than `unused_days` days before the end of the sync.
pub fn rows_with_usage(
    snap: &Snapshot,
    privileges: &Privileges,
    unused_days: Option<u32>,
) -> Vec<ReviewRow> {
    let mut rows = rows_plain(snap, privileges);
    if let Some(days) = unused_days {
        let reference = snap
            .sync
            .ended_at
            .as_deref()
            .or(Some(snap.sync.started_at.as_str()))
            .and_then(c1z::timefmt::parse);
        for row in &mut rows {
            let key = (row.principal_type.clone(), row.principal_id.clone());
            let last = snap.user_trait(&key).and_then(|u| u.last_login);
            if let (Some(reference), Some(last)) = (reference, last) {
                let idle = (reference.unix_timestamp() - last.seconds) / 86_400;
                if idle > i64::from(days) {
                    row.unused = format!("yes ({idle} days)");
                }
            }
        }
    }
    rows
}

fn rows_plain(snap: &Snapshot, privileges: &Privileges) -> Vec<ReviewRow> {
    let mut rows = Vec::with_capacity(snap.grants.len());
    for g in &snap.grants {
        let grant = &g.grant;
        let origin = if snapshot::is_expanded(grant) {
            "expanded"
        } else {
            "connector"
        };
        rows.push(row(
            snap,
            privileges,
            grant.entitlement.as_ref(),
            snapshot::entitlement_id(grant),
            &snapshot::principal_key(grant),
            access::describe_grant(snap, grant),
            origin,
            &grant.id,
        ));
    }

    let edges = Edges::of(snap);
    for principal in snap.principals_with_grants().keys() {
        let effective = access::effective_access(snap, &edges, principal);
        for holding in effective.holdings.iter().filter(|h| h.derived()) {
            let granted = format!(
                "{} (derived from expansion edges, not expanded in the file)",
                access::describe_holding(snap, &effective, holding)
            );
            let id = format!("{}:{}:{}", holding.entitlement_id, principal.0, principal.1);
            let embedded = snap.any_entitlement(&holding.entitlement_id);
            rows.push(row(
                snap,
                privileges,
                embedded,
                &holding.entitlement_id,
                principal,
                granted,
                "derived",
                &id,
            ));
        }
    }
    rows.sort_by(|a, b| {
        (
            &a.account_id,
            &a.principal,
            &a.principal_id,
            &a.entitlement,
            &a.grant_id,
        )
            .cmp(&(
                &b.account_id,
                &b.principal,
                &b.principal_id,
                &b.entitlement,
                &b.grant_id,
            ))
    });
    rows
}

#[allow(clippy::too_many_arguments)]
fn row(
    snap: &Snapshot,
    privileges: &Privileges,
    embedded: Option<&c1z::v2::Entitlement>,
    entitlement_id: &str,
    principal: &Key,
    granted: String,
    origin: &str,
    grant_id: &str,
) -> ReviewRow {
    let ent = snap.entitlement(entitlement_id).or(embedded);
    let rkey = snapshot::key_of(
        ent.and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref()),
    );
    let (account_id, account) = account_of(snap, &rkey, principal);
    let last_login = match snap.user_trait(principal) {
        Some(user) => user
            .last_login
            .as_ref()
            .map(snapshot::format_timestamp)
            .unwrap_or_else(|| "not recorded".to_string()),
        None => String::new(),
    };
    let reason = privileges.reason(entitlement_id).unwrap_or("").to_string();
    ReviewRow {
        sync_id: snap.sync.sync_id.clone(),
        account_id,
        account,
        principal_type: principal.0.clone(),
        principal_id: principal.1.clone(),
        principal: snap.resource_label(principal),
        principal_kind: inventory::principal_kind(snap, principal).to_string(),
        entitlement_id: entitlement_id.to_string(),
        entitlement: snap.entitlement_name(entitlement_id, ent),
        resource_type: rkey.0.clone(),
        resource_id: rkey.1.clone(),
        resource: snap.resource_label(&rkey),
        granted,
        origin: origin.to_string(),
        privileged: if reason.is_empty() {
            String::new()
        } else {
            "yes".to_string()
        },
        privilege_reason: reason,
        last_login,
        unused: String::new(),
        grant_id: grant_id.to_string(),
    }
}

/// Finds the account a grant belongs to, as (sheet key, label). The account
/// is the `account` resource the grant is on, the account of a permission set
/// assignment, or the account id in the ARN of the entitlement's resource or
/// else of the principal. SSO objects go to IAM Identity Center.
pub fn account_of(snap: &Snapshot, resource: &Key, principal: &Key) -> (String, String) {
    let account = match resource.0.as_str() {
        "account" => Some(resource.1.clone()),
        "permission_set_assignment" => snap
            .resource(resource)
            .and_then(|r| r.parent_resource_id.as_ref())
            .filter(|p| p.resource_type == "account")
            .map(|p| p.resource.clone())
            .or_else(|| aws::binding_account(&resource.1).map(str::to_string)),
        _ => aws::arn_account(&resource.1).map(str::to_string),
    }
    .or_else(|| match principal.0.as_str() {
        "permission_set_assignment" => aws::binding_account(&principal.1).map(str::to_string),
        _ => aws::arn_account(&principal.1).map(str::to_string),
    });
    if let Some(id) = account {
        let name = snap
            .resource(&("account".to_string(), id.clone()))
            .map(|r| r.display_name.clone())
            .filter(|n| !n.is_empty());
        let label = match name {
            Some(name) => format!("{name} ({id})"),
            None => format!("AWS account {id}"),
        };
        return (id, label);
    }
    let sso = ["sso_user", "sso_group", "permission_set"];
    if sso.contains(&resource.0.as_str()) || sso.contains(&principal.0.as_str()) {
        return (
            IDENTITY_CENTER.to_string(),
            "IAM Identity Center".to_string(),
        );
    }
    (OTHER.to_string(), "No AWS account".to_string())
}

/// A grant added or removed since the previous package.
#[derive(Debug, Clone, Serialize)]
pub struct RowChange {
    pub change: &'static str,
    #[serde(flatten)]
    pub row: ReviewRow,
}

/// Rows of a previous package or c1z, for the changes sheet.
pub struct Previous {
    pub source: PathBuf,
    pub sync_id: String,
    pub rows: Vec<ReviewRow>,
}

/// Loads a previous review: a package directory (its `grants.csv` and
/// `manifest.json`), a `grants.csv` file, or a c1z file (its latest full sync).
pub fn load_previous(path: &Path) -> Result<Previous> {
    let csv_path = if path.is_dir() {
        path.join(GRANTS_CSV)
    } else {
        path.to_path_buf()
    };
    let is_csv = path.is_dir()
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        let snap = Snapshot::open(path, None)?;
        let privileges = privilege::analyze(&snap);
        return Ok(Previous {
            source: path.to_path_buf(),
            sync_id: snap.sync.sync_id.clone(),
            rows: rows(&snap, &privileges),
        });
    }
    if !csv_path.is_file() {
        return Err(Error::Usage(format!(
            "{}: previous review not found; give a package directory written by `c1z review`, its {GRANTS_CSV}, or a c1z file",
            csv_path.display()
        )));
    }
    let mut reader = csv::Reader::from_path(&csv_path).map_err(|source| Error::Csv {
        path: csv_path.clone(),
        source,
    })?;
    let rows: Vec<ReviewRow> = reader
        .deserialize()
        .collect::<std::result::Result<_, _>>()
        .map_err(|source| Error::Csv {
            path: csv_path.clone(),
            source,
        })?;
    let sync_id = rows.first().map(|r| r.sync_id.clone()).unwrap_or_default();
    Ok(Previous {
        source: path.to_path_buf(),
        sync_id,
        rows,
    })
}

/// Grants removed and added between two row sets, matched by grant id.
pub fn compare(previous: &[ReviewRow], current: &[ReviewRow]) -> Vec<RowChange> {
    let before: HashSet<&str> = previous.iter().map(|r| r.grant_id.as_str()).collect();
    let after: HashSet<&str> = current.iter().map(|r| r.grant_id.as_str()).collect();
    let mut out: Vec<RowChange> = previous
        .iter()
        .filter(|r| !after.contains(r.grant_id.as_str()))
        .map(|r| RowChange {
            change: "removed",
            row: r.clone(),
        })
        .collect();
    out.extend(
        current
            .iter()
            .filter(|r| !before.contains(r.grant_id.as_str()))
            .map(|r| RowChange {
                change: "added",
                row: r.clone(),
            }),
    );
    out
}

/// One sheet of the review: the rows of one account or application.
pub struct Sheet {
    pub key: String,
    pub label: String,
    pub name: String,
    pub rows: Vec<ReviewRow>,
}

/// Groups rows into sheets, one per account key, with unique valid sheet names.
pub fn sheets(rows: &[ReviewRow]) -> Vec<Sheet> {
    let mut grouped: BTreeMap<String, (String, Vec<ReviewRow>)> = BTreeMap::new();
    for r in rows {
        grouped
            .entry(r.account_id.clone())
            .or_insert_with(|| (r.account.clone(), Vec::new()))
            .1
            .push(r.clone());
    }
    let mut used: HashSet<String> = RESERVED_SHEETS.iter().map(|s| s.to_lowercase()).collect();
    grouped
        .into_iter()
        .map(|(key, (label, rows))| {
            let name = unique_sheet_name(&label, &mut used);
            Sheet {
                key,
                label,
                name,
                rows,
            }
        })
        .collect()
}

/// Names of the fixed sheets, which account sheets must not take.
pub const RESERVED_SHEETS: &[&str] = &["Evidence", "Privileged", "Changes"];

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`,
/// unique ignoring case. Long names keep the account id in parentheses.
fn unique_sheet_name(label: &str, used: &mut HashSet<String>) -> String {
    let clean: String = label
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let clean = clean.trim_matches('\'').to_string();
    let shorten = |text: &str, max: usize| -> String {
        if text.chars().count() <= max {
            return text.to_string();
        }
        // Keep a trailing "(id)" and shorten the name before it.
        if let Some(open) = text.rfind(" (") {
            let tail = &text[open..];
            let keep = max.saturating_sub(tail.chars().count() + 1);
            let head: String = text[..open].chars().take(keep).collect();
            return format!("{head}…{tail}").chars().take(max).collect();
        }
        text.chars().take(max).collect()
    };
    let mut name = shorten(&clean, 31);
    let mut n = 2;
    while used.contains(&name.to_lowercase()) {
        let suffix = format!(" {n}");
        name = format!("{}{suffix}", shorten(&clean, 31 - suffix.len()));
        n += 1;
    }
    used.insert(name.to_lowercase());
    name
}

/// Facts about the input and the sync, shown on the evidence sheet and in `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub tool: &'static str,
    pub tool_version: &'static str,
    pub generated_at: String,
    pub input_file: String,
    pub input_sha256: String,
    pub input_size_bytes: u64,
    pub sync_id: String,
    pub sync_type: String,
    pub sync_started_at: String,
    pub sync_ended_at: Option<String>,
    /// Resource type id to (resources, entitlements, grants).
    pub counts: BTreeMap<String, TypeCounts>,
    pub totals: TypeCounts,
    pub review_rows: usize,
    pub derived_rows: usize,
    pub privileged_rows: usize,
    pub users_without_mfa: usize,
    pub previous: Option<PreviousEvidence>,
}

/// Row counts of one resource type.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeCounts {
    pub resources: i64,
    pub entitlements: i64,
    pub grants: i64,
}

/// Source and counts of the comparison on the changes sheet.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousEvidence {
    pub source: String,
    pub sync_id: String,
    pub added: usize,
    pub removed: usize,
}

/// Everything a package renders.
pub struct Package {
    pub evidence: Evidence,
    pub sheets: Vec<Sheet>,
    pub changes: Option<Vec<RowChange>>,
    pub user_findings: Vec<(Key, String, String)>,
}

impl Package {
    /// Every privileged row, in sheet order.
    pub fn privileged_rows(&self) -> impl Iterator<Item = &ReviewRow> {
        self.sheets
            .iter()
            .flat_map(|s| s.rows.iter())
            .filter(|r| !r.privileged.is_empty())
    }
}

/// File names inside a package directory.
pub const WORKBOOK: &str = "review.xlsx";
pub const HTML_REPORT: &str = "review.html";
pub const GRANTS_CSV: &str = "grants.csv";
pub const MANIFEST: &str = "manifest.json";

/// Builds the package content for a snapshot.
pub fn build(
    snap: &Snapshot,
    previous: Option<&Previous>,
    unused_days: Option<u32>,
) -> Result<Package> {
    let privileges = privilege::analyze(snap);
    let rows = rows_with_usage(snap, &privileges, unused_days);
    let stats = snap.file.stats(&snap.sync.sync_id)?;
    let mut counts: BTreeMap<String, TypeCounts> = BTreeMap::new();
    for (t, n) in &stats.resources_by_resource_type {
        counts.entry(t.clone()).or_default().resources = *n;
    }
    for (t, n) in &stats.entitlements_by_resource_type {
        counts.entry(t.clone()).or_default().entitlements = *n;
    }
    for (t, n) in &stats.grants_by_resource_type {
        counts.entry(t.clone()).or_default().grants = *n;
    }
    let changes = previous.map(|p| compare(&p.rows, &rows));
    let user_findings: Vec<(Key, String, String)> = privileges
        .users
        .iter()
        .map(|(k, f)| (k.clone(), snap.resource_label(k), f.clone()))
        .collect();
    let evidence = Evidence {
        tool: "c1z",
        tool_version: crate::TOOL_VERSION,
        generated_at: now_rfc3339(),
        input_file: snap.path.display().to_string(),
        input_sha256: sha256_file(&snap.path)?,
        input_size_bytes: std::fs::metadata(&snap.path)
            .map_err(|e| Error::io(&snap.path, e))?
            .len(),
        sync_id: snap.sync.sync_id.clone(),
        sync_type: snap.sync.sync_type.clone(),
        sync_started_at: snapshot::rfc3339(&snap.sync.started_at),
        sync_ended_at: snap.sync.ended_at.as_deref().map(snapshot::rfc3339),
        counts,
        totals: TypeCounts {
            resources: stats.resources,
            entitlements: stats.entitlements,
            grants: stats.grants,
        },
        review_rows: rows.len(),
        derived_rows: rows.iter().filter(|r| r.origin == "derived").count(),
        privileged_rows: rows.iter().filter(|r| !r.privileged.is_empty()).count(),
        users_without_mfa: user_findings.len(),
        previous: previous
            .zip(changes.as_ref())
            .map(|(p, c)| PreviousEvidence {
                source: p.source.display().to_string(),
                sync_id: p.sync_id.clone(),
                added: c.iter().filter(|x| x.change == "added").count(),
                removed: c.iter().filter(|x| x.change == "removed").count(),
            }),
    };
    Ok(Package {
        evidence,
        sheets: sheets(&rows),
        changes,
        user_findings,
    })
}

/// Paths of the files a package wrote.
#[derive(Debug)]
pub struct Written {
    pub workbook: PathBuf,
    pub html: PathBuf,
    pub csv: PathBuf,
    pub manifest: PathBuf,
}

/// Writes a package to `out_dir` (created if missing).
pub fn write(package: &Package, out_dir: &Path) -> Result<Written> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let written = Written {
        workbook: out_dir.join(WORKBOOK),
        html: out_dir.join(HTML_REPORT),
        csv: out_dir.join(GRANTS_CSV),
        manifest: out_dir.join(MANIFEST),
    };
    xlsx::write(package, &written.workbook)?;
    let page = html::render(package);
    std::fs::write(&written.html, page).map_err(|e| Error::io(&written.html, e))?;
    let all_rows: Vec<&ReviewRow> = package.sheets.iter().flat_map(|s| s.rows.iter()).collect();
    crate::export::write_csv_file(&written.csv, all_rows)?;

    let mut files = serde_json::Map::new();
    for path in [&written.workbook, &written.html, &written.csv] {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        files.insert(name, serde_json::json!({ "sha256": sha256_file(path)? }));
    }
    let sheets: Vec<serde_json::Value> = package
        .sheets
        .iter()
        .map(|s| serde_json::json!({ "sheet": s.name, "account_id": s.key, "account": s.label, "rows": s.rows.len(),
            "privileged_rows": s.rows.iter().filter(|r| !r.privileged.is_empty()).count() }))
        .collect();
    let mut manifest = serde_json::to_value(&package.evidence).map_err(|source| Error::Json {
        path: written.manifest.clone(),
        source,
    })?;
    manifest["sheets"] = serde_json::Value::Array(sheets);
    manifest["files"] = serde_json::Value::Object(files);
    let text = serde_json::to_string_pretty(&manifest).map_err(|source| Error::Json {
        path: written.manifest.clone(),
        source,
    })?;
    std::fs::write(&written.manifest, text + "\n").map_err(|e| Error::io(&written.manifest, e))?;
    Ok(written)
}

/// The SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_match_fields() {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(ReviewRow::default()).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        assert_eq!(text.lines().next().unwrap(), CSV_COLUMNS.join(","));
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut used: HashSet<String> = RESERVED_SHEETS.iter().map(|s| s.to_lowercase()).collect();
        let long = unique_sheet_name(
            "A very long account name: production (123456789012)",
            &mut used,
        );
        assert!(long.chars().count() <= 31, "{long}");
        assert!(long.ends_with("(123456789012)"), "{long}");
        assert!(!long.contains(':'));
        let again = unique_sheet_name(
            "A very long account name: production (123456789012)",
            &mut used,
        );
        assert_ne!(long, again);
        assert!(again.chars().count() <= 31, "{again}");
        assert_eq!(unique_sheet_name("evidence", &mut used), "evidence 2");
    }
}
