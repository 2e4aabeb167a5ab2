//! The SQLite database inside a c1z: schema, row layout, sync runs.
//!
//! [`C1zFile`] decodes a c1z into a private temporary directory, works on the
//! database there, and writes it back with [`C1zFile::save`]. The schema and
//! index names are those of baton-sdk v0.25.0, including the resource index
//! names that do not match their columns: readers depend on the names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use rusqlite::{params, Connection, OptionalExtension};

use crate::codec::{self, Decoded};
use crate::error::{Error, Result};
use crate::v2::{Entitlement, Grant, GrantExpandable, Resource, ResourceType};
use crate::{any, ksuid, timefmt};

/// The DDL of every table and index, spelled as the Go SDK spells it so that
/// `sqlite_master` reads the same. Tabs and comments are deliberate.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS v1_resource_types (\n    id integer primary key,\n    external_id text not null,\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_resource_types_external_sync_v1 on v1_resource_types (external_id, sync_id)",
    "CREATE TABLE IF NOT EXISTS v1_resources (\n    id integer primary key,\n    resource_type_id text not null,\n    external_id text not null,\n\tparent_resource_type_id text,\n\tparent_resource_id text,\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
    "CREATE INDEX IF NOT EXISTS idx_resources_resource_type_id_v1 on v1_resources (resource_type_id)",
    "CREATE INDEX IF NOT EXISTS idx_resources_external_sync_v1 on v1_resources (parent_resource_type_id, parent_resource_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_resources_parent_resource_id_v1 on v1_resources (external_id, sync_id)",
    "CREATE TABLE IF NOT EXISTS v1_entitlements (\n    id integer primary key,\n    resource_type_id text not null,\n    resource_id text not null,\n    external_id text not null,\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
    "CREATE INDEX IF NOT EXISTS idx_entitlements_resource_id_v1 on v1_entitlements (resource_type_id, resource_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_entitlements_external_sync_v1 on v1_entitlements (external_id, sync_id)",
    "CREATE TABLE IF NOT EXISTS v1_sync_runs (\n    id integer primary key,\n    sync_id text not null,\n    started_at datetime not null,\n    ended_at datetime,\n    sync_token text not null,\n    sync_type text not null default 'full',\n    parent_sync_id text not null default '',\n    linked_sync_id text not null default '',\n    supports_diff integer not null default 0,\n    grants_backfilled integer not null default 0,\n\t\tstats text,\n    ingest_invariant_generation text not null default '',\n    ingest_invariant_coverage text not null default '',\n    ingest_invariant_mode text not null default ''\n)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_sync_runs_sync_id_v1 on v1_sync_runs (sync_id)",
    "CREATE TABLE IF NOT EXISTS v1_grants (\n    id integer primary key,\n\tresource_type_id text not null,\n    resource_id text not null,\n    entitlement_id text not null,\n    principal_resource_type_id text not null,\n    principal_resource_id text not null,\n    external_id text not null,\n    expansion blob,                             -- Serialized GrantExpandable proto; NULL if grant is not expandable.\n    needs_expansion integer not null default 0, -- 1 if grant should be processed during expansion.\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
    "CREATE INDEX IF NOT EXISTS idx_grants_resource_type_id_resource_id_v1 on v1_grants (resource_type_id, resource_id)",
    "CREATE INDEX IF NOT EXISTS idx_grants_principal_id_v1 on v1_grants (principal_resource_type_id, principal_resource_id)",
    "CREATE INDEX IF NOT EXISTS idx_grants_entitlement_id_principal_id_v1 on v1_grants (entitlement_id, principal_resource_type_id, principal_resource_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_grants_external_sync_v1 on v1_grants (external_id, sync_id)",
    "CREATE INDEX IF NOT EXISTS idx_grants_entitlement_sync_grant_v1 on v1_grants (entitlement_id, sync_id, id)",
    "CREATE INDEX IF NOT EXISTS idx_grants_sync_expansion_v1 on v1_grants (sync_id) where expansion is not null",
    "CREATE INDEX IF NOT EXISTS idx_grants_sync_needs_expansion_v1 on v1_grants (sync_id) where needs_expansion = 1",
    "CREATE TABLE IF NOT EXISTS v1_assets (\n    id integer primary key,\n    external_id text not null,\n    content_type text not null,\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_assets_external_sync_v1 on v1_assets (external_id, sync_id)",
    "CREATE TABLE IF NOT EXISTS v1_connector_sessions (\n    id integer primary key,\n\tsync_id text NOT NULL,\n\tkey TEXT NOT NULL,\n\tvalue BLOB NOT NULL\n)",
    "CREATE UNIQUE INDEX IF NOT EXISTS idx_session_store_sync_key_v1 on v1_connector_sessions (sync_id, key)",
];

/// Columns that older writers may lack, added on open as the Go readers do.
const SYNC_RUN_MIGRATIONS: &[(&str, &str)] = &[
    ("sync_type", "text not null default 'full'"),
    ("parent_sync_id", "text not null default ''"),
    ("linked_sync_id", "text not null default ''"),
    ("supports_diff", "integer not null default 0"),
    ("grants_backfilled", "integer not null default 0"),
    ("stats", "text"),
    ("ingest_invariant_generation", "text not null default ''"),
    ("ingest_invariant_coverage", "text not null default ''"),
    ("ingest_invariant_mode", "text not null default ''"),
];

const TABLES_WITH_SYNC_ID: &[&str] = &[
    "v1_resource_types",
    "v1_resources",
    "v1_entitlements",
    "v1_grants",
    "v1_assets",
    "v1_connector_sessions",
];

/// One row of `v1_sync_runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    pub sync_id: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub sync_type: String,
    pub parent_sync_id: String,
    pub supports_diff: bool,
    pub stats: Option<String>,
}

/// Per-sync row counts, as cached in `v1_sync_runs.stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStats {
    pub resource_types: i64,
    pub resources: i64,
    pub entitlements: i64,
    pub grants: i64,
    pub resources_by_resource_type: BTreeMap<String, i64>,
    pub grants_by_resource_type: BTreeMap<String, i64>,
    pub entitlements_by_resource_type: BTreeMap<String, i64>,
}

impl SyncStats {
    /// The JSON the Go SDK caches: snake_case keys in struct order, empty maps
    /// and zero counts omitted, map keys sorted.
    pub fn to_json(&self) -> String {
        fn map(m: &BTreeMap<String, i64>) -> String {
            let body: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{v}", serde_string(k)))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        let mut parts = Vec::new();
        for (key, value) in [
            ("resource_types", self.resource_types),
            ("resources", self.resources),
            ("entitlements", self.entitlements),
            ("grants", self.grants),
        ] {
            if value != 0 {
                parts.push(format!("\"{key}\":{value}"));
            }
        }
        for (key, value) in [
            (
                "resources_by_resource_type",
                &self.resources_by_resource_type,
            ),
            ("grants_by_resource_type", &self.grants_by_resource_type),
            (
                "entitlements_by_resource_type",
                &self.entitlements_by_resource_type,
            ),
        ] {
            if !value.is_empty() {
                parts.push(format!("\"{key}\":{}", map(value)));
            }
        }
        format!("{{{}}}", parts.join(","))
    }
}

fn serde_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A c1z file opened for reading or writing. Work happens on a decoded copy
/// in a private temporary directory; the file at `path` changes only when
/// [`C1zFile::save`] succeeds.
pub struct C1zFile {
    path: PathBuf,
    conn: Connection,
    db_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl C1zFile {
    /// Opens `path` for a sync: an existing v1 file is decoded, a missing or
    /// empty one becomes a new database. `temp_dir` overrides where the
    /// working copy lives.
    pub fn open(path: &Path, temp_dir: Option<&Path>) -> Result<Self> {
        Self::open_inner(path, temp_dir, true)
    }

    /// Opens an existing c1z for reading. An empty or missing file is an error.
    pub fn open_read(path: &Path) -> Result<Self> {
        Self::open_inner(path, None, false)
    }

    fn open_inner(path: &Path, temp_dir: Option<&Path>, allow_new: bool) -> Result<Self> {
        let dir = match temp_dir {
            Some(base) => tempfile::Builder::new().prefix("c1z").tempdir_in(base),
            None => tempfile::Builder::new().prefix("c1z").tempdir(),
        }
        .map_err(|e| Error::io(temp_dir.unwrap_or(Path::new("temporary directory")), e))?;
        let db_path = dir.path().join("db");
        let decoded = codec::decode_to(path, &db_path, codec::max_decoded_bytes())?;
        if decoded == Decoded::Empty && !allow_new {
            let detail = if path.exists() {
                "the file is empty"
            } else {
                "the file does not exist"
            };
            return Err(Error::Invalid(format!(
                "{}: {detail}; give the path of a c1z written by a sync",
                path.display()
            )));
        }
        let conn = Connection::open(&db_path).map_err(|source| Error::Database {
            path: path.into(),
            source,
        })?;
        let file = C1zFile {
            path: path.into(),
            conn,
            db_path,
            _dir: dir,
        };
        file.prepare().map_err(|e| match e {
            Error::Sqlite(source) => Error::Database {
                path: path.into(),
                source,
            },
            other => other,
        })?;
        Ok(file)
    }

    fn prepare(&self) -> Result<()> {
        self.conn.execute_batch(
            // A new database gets 16 KiB pages (an existing one keeps its own):
            // a sync writes hundreds of thousands of kilobyte-sized grant rows,
            // and larger pages halve the reads and writes of their eight indexes
            // (docs/benchmarks.md).
            "PRAGMA page_size=16384; PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; PRAGMA temp_store=MEMORY;",
        )?;
        for ddl in SCHEMA {
            self.conn.execute(ddl, [])?;
        }
        let existing: Vec<String> = self
            .conn
            .prepare("SELECT name FROM pragma_table_info('v1_sync_runs')")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for (column, decl) in SYNC_RUN_MIGRATIONS {
            if !existing.iter().any(|c| c == column) {
                self.conn.execute(
                    &format!("ALTER TABLE v1_sync_runs ADD COLUMN {column} {decl}"),
                    [],
                )?;
            }
        }
        Ok(())
    }

    /// The path this file was opened from and is saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying database connection, for queries this type does not offer.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Starts a new sync run and returns its KSUID.
    pub fn start_sync(&self, sync_type: &str, parent_sync_id: &str) -> Result<String> {
        let sync_id = ksuid::new();
        self.conn.execute(
            "INSERT INTO v1_sync_runs (sync_id, started_at, sync_token, sync_type, parent_sync_id, grants_backfilled) VALUES (?1, ?2, '', ?3, ?4, 1)",
            params![sync_id, timefmt::now(), sync_type, parent_sync_id],
        )?;
        Ok(sync_id)
    }

    /// Stores resource types; a second write of an id in the same sync replaces its data.
    pub fn put_resource_types(&self, sync_id: &str, types: &[ResourceType]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO v1_resource_types (external_id, data, sync_id, discovered_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
            )?;
            let now = timefmt::now();
            for rt in types {
                stmt.execute(params![rt.id, rt.encode_to_vec(), sync_id, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores resources keyed by `<type>:<id>`.
    pub fn put_resources(&self, sync_id: &str, resources: &[Resource]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO v1_resources (resource_type_id, external_id, parent_resource_type_id, parent_resource_id, data, sync_id, discovered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
            )?;
            let now = timefmt::now();
            for r in resources {
                let id = r.id.clone().unwrap_or_default();
                let parent = r.parent_resource_id.as_ref();
                stmt.execute(params![
                    id.resource_type,
                    format!("{}:{}", id.resource_type, id.resource),
                    parent.map(|p| p.resource_type.as_str()),
                    parent.map(|p| p.resource.as_str()),
                    r.encode_to_vec(),
                    sync_id,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores entitlements keyed by their id.
    pub fn put_entitlements(&self, sync_id: &str, entitlements: &[Entitlement]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO v1_entitlements (resource_type_id, resource_id, external_id, data, sync_id, discovered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
            )?;
            let now = timefmt::now();
            for e in entitlements {
                let rid = e
                    .resource
                    .as_ref()
                    .and_then(|r| r.id.clone())
                    .unwrap_or_default();
                stmt.execute(params![
                    rid.resource_type,
                    rid.resource,
                    e.id,
                    e.encode_to_vec(),
                    sync_id,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores grants as a connector returned them: a `GrantExpandable`
    /// annotation moves out of `data` into the `expansion` column.
    pub fn put_grants(&self, sync_id: &str, grants: &[Grant]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id, external_id, expansion, needs_expansion, data, sync_id, discovered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
                 ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data, expansion = excluded.expansion, \
                 needs_expansion = CASE WHEN excluded.expansion IS NULL THEN 0 \
                   WHEN v1_grants.expansion IS NULL OR v1_grants.expansion != excluded.expansion THEN 1 \
                   ELSE v1_grants.needs_expansion END",
            )?;
            let now = timefmt::now();
            for grant in grants {
                let mut grant = grant.clone();
                let expandable: Option<GrantExpandable> = any::find(&grant.annotations);
                grant.annotations.retain(|a| !any::is::<GrantExpandable>(a));
                let expansion = expandable
                    .filter(|e| e.entitlement_ids.iter().any(|id| !id.trim().is_empty()))
                    .map(|e| e.encode_to_vec());
                let needs = expansion.is_some() as i64;
                let cols = GrantColumns::of(&grant);
                stmt.execute(params![
                    cols.resource_type_id,
                    cols.resource_id,
                    grant
                        .entitlement
                        .as_ref()
                        .map(|e| e.id.as_str())
                        .unwrap_or(""),
                    cols.principal_type,
                    cols.principal_id,
                    grant.id,
                    expansion,
                    needs,
                    grant.encode_to_vec(),
                    sync_id,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores grants made by grant expansion: an existing row keeps its
    /// `expansion` and `needs_expansion`, a new row gets neither.
    pub fn put_expanded_grants(&self, sync_id: &str, grants: &[Grant]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id, external_id, expansion, needs_expansion, data, sync_id, discovered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, 0, ?7, ?8, ?9) ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
            )?;
            let now = timefmt::now();
            for grant in grants {
                let cols = GrantColumns::of(grant);
                stmt.execute(params![
                    cols.resource_type_id,
                    cols.resource_id,
                    grant
                        .entitlement
                        .as_ref()
                        .map(|e| e.id.as_str())
                        .unwrap_or(""),
                    cols.principal_type,
                    cols.principal_id,
                    grant.id,
                    grant.encode_to_vec(),
                    sync_id,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks the sync's `expansion` column authoritative (set when grant expansion starts).
    pub fn set_supports_diff(&self, sync_id: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE v1_sync_runs SET supports_diff = 1 WHERE sync_id = ?1",
            [sync_id],
        )?;
        Ok(())
    }

    /// Ends a sync: sets `ended_at`, the token, the cached stats and the
    /// verification marker. `verified` means the engine drained every page
    /// cursor it scheduled (the checks this writer can vouch for).
    pub fn end_sync(&self, sync_id: &str, sync_token: &str, verified: bool) -> Result<()> {
        self.conn.execute(
            "UPDATE v1_sync_runs SET sync_token = ?2 WHERE sync_id = ?1",
            params![sync_id, sync_token],
        )?;
        self.conn.execute(
            "UPDATE v1_sync_runs SET ended_at = ?2 WHERE sync_id = ?1 AND ended_at IS NULL",
            params![sync_id, timefmt::now()],
        )?;
        let stats = self.stats(sync_id)?;
        self.conn.execute(
            "UPDATE v1_sync_runs SET stats = ?2 WHERE sync_id = ?1",
            params![sync_id, stats.to_json()],
        )?;
        if verified {
            self.conn.execute(
                "UPDATE v1_sync_runs SET ingest_invariant_generation = '1', ingest_invariant_coverage = '[\"I5\",\"I10\"]', \
                 ingest_invariant_mode = 'connector' WHERE sync_id = ?1 AND ended_at IS NOT NULL",
                [sync_id],
            )?;
        }
        Ok(())
    }

    /// Row counts of one sync.
    pub fn stats(&self, sync_id: &str) -> Result<SyncStats> {
        let count =
            |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [sync_id], |r| r.get(0))?) };
        let grouped = |sql: &str| -> Result<BTreeMap<String, i64>> {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([sync_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let mut resources_by_type = BTreeMap::new();
        for rt in self
            .conn
            .prepare("SELECT external_id FROM v1_resource_types WHERE sync_id = ?1")?
            .query_map([sync_id], |r| r.get::<_, String>(0))?
        {
            resources_by_type.insert(rt?, 0);
        }
        resources_by_type.extend(grouped("SELECT resource_type_id, count(*) FROM v1_resources WHERE sync_id = ?1 GROUP BY resource_type_id")?);
        Ok(SyncStats {
            resource_types: count("SELECT count(*) FROM v1_resource_types WHERE sync_id = ?1")?,
            resources: count("SELECT count(*) FROM v1_resources WHERE sync_id = ?1")?,
            entitlements: count("SELECT count(*) FROM v1_entitlements WHERE sync_id = ?1")?,
            grants: count("SELECT count(*) FROM v1_grants WHERE sync_id = ?1")?,
            resources_by_resource_type: resources_by_type,
            grants_by_resource_type: grouped("SELECT resource_type_id, count(*) FROM v1_grants WHERE sync_id = ?1 GROUP BY resource_type_id")?,
            entitlements_by_resource_type: grouped(
                "SELECT resource_type_id, count(*) FROM v1_entitlements WHERE sync_id = ?1 GROUP BY resource_type_id",
            )?,
        })
    }

    /// Removes old syncs so that at most `keep` full syncs remain, counting
    /// `current`, then compacts the database. Unfinished syncs other than
    /// `current` are removed too: this writer never resumes them.
    pub fn cleanup(&self, current: &str, keep: usize) -> Result<()> {
        let keep = keep.max(1);
        let syncs = self.syncs()?;
        let mut full: Vec<&SyncRun> = syncs
            .iter()
            .filter(|s| s.sync_type == "full" && s.ended_at.is_some() && s.sync_id != current)
            .collect();
        full.sort_by(|a, b| {
            (b.ended_at.as_deref(), &b.sync_id).cmp(&(a.ended_at.as_deref(), &a.sync_id))
        });
        let kept: Vec<&SyncRun> = full.iter().take(keep - 1).copied().collect();
        let oldest_kept_start = kept.last().map(|s| s.started_at.clone()).or_else(|| {
            syncs
                .iter()
                .find(|s| s.sync_id == current)
                .map(|s| s.started_at.clone())
        });
        let mut doomed = Vec::new();
        for sync in &syncs {
            if sync.sync_id == current || kept.iter().any(|k| k.sync_id == sync.sync_id) {
                continue;
            }
            let stale_partial = sync.sync_type != "full"
                && match (&sync.ended_at, &oldest_kept_start) {
                    (Some(end), Some(start)) => end < start,
                    (None, _) => true,
                    _ => false,
                };
            if sync.sync_type == "full" || sync.ended_at.is_none() || stale_partial {
                doomed.push(sync.sync_id.clone());
            }
        }
        if doomed.is_empty() {
            return Ok(());
        }
        let tx = self.conn.unchecked_transaction()?;
        for sync_id in &doomed {
            for table in TABLES_WITH_SYNC_ID {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE sync_id = ?1"),
                    [sync_id],
                )?;
            }
            tx.execute("DELETE FROM v1_sync_runs WHERE sync_id = ?1", [sync_id])?;
        }
        tx.commit()?;
        self.conn.execute_batch("VACUUM")?;
        Ok(())
    }

    /// Every sync run, oldest first.
    pub fn syncs(&self) -> Result<Vec<SyncRun>> {
        let mut stmt = self.conn.prepare(
            "SELECT sync_id, started_at, ended_at, sync_type, parent_sync_id, supports_diff, stats FROM v1_sync_runs ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SyncRun {
                sync_id: r.get(0)?,
                started_at: r.get(1)?,
                ended_at: r.get(2)?,
                sync_type: r.get(3)?,
                parent_sync_id: r.get(4)?,
                supports_diff: r.get::<_, i64>(5)? != 0,
                stats: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest finished sync, of the given type or of any type.
    pub fn latest_finished_sync(&self, sync_type: Option<&str>) -> Result<Option<SyncRun>> {
        let mut finished: Vec<SyncRun> = self
            .syncs()?
            .into_iter()
            .filter(|s| s.ended_at.is_some() && sync_type.is_none_or(|t| s.sync_type == t))
            .collect();
        finished.sort_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id)));
        Ok(finished.pop())
    }

    /// The sync a reader should look at: `requested` if given (and present),
    /// else the latest finished full sync, else the latest finished of any type.
    pub fn view_sync(&self, requested: Option<&str>) -> Result<SyncRun> {
        if let Some(id) = requested {
            return self
                .syncs()?
                .into_iter()
                .find(|s| s.sync_id == id)
                .ok_or_else(|| Error::UnknownSync {
                    path: self.path.clone(),
                    sync_id: id.into(),
                });
        }
        if let Some(run) = self.latest_finished_sync(Some("full"))? {
            return Ok(run);
        }
        self.latest_finished_sync(None)?
            .ok_or_else(|| Error::NoFinishedSync {
                path: self.path.clone(),
            })
    }

    /// Resource types of a sync, in row order.
    pub fn resource_types(&self, sync_id: &str) -> Result<Vec<ResourceType>> {
        self.decode_rows(
            "v1_resource_types",
            "SELECT external_id, data FROM v1_resource_types WHERE sync_id = ?1 ORDER BY id",
            sync_id,
        )
    }

    /// Resources of a sync, in row order.
    pub fn resources(&self, sync_id: &str) -> Result<Vec<Resource>> {
        self.decode_rows(
            "v1_resources",
            "SELECT external_id, data FROM v1_resources WHERE sync_id = ?1 ORDER BY id",
            sync_id,
        )
    }

    /// Entitlements of a sync, in row order.
    pub fn entitlements(&self, sync_id: &str) -> Result<Vec<Entitlement>> {
        self.decode_rows(
            "v1_entitlements",
            "SELECT external_id, data FROM v1_entitlements WHERE sync_id = ?1 ORDER BY id",
            sync_id,
        )
    }

    /// Grants of a sync, in row order, with their expansion column.
    pub fn grants(&self, sync_id: &str) -> Result<Vec<(Grant, Option<GrantExpandable>)>> {
        let mut stmt = self.conn.prepare(
            "SELECT external_id, data, expansion FROM v1_grants WHERE sync_id = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([sync_id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let data: Vec<u8> = row.get(1)?;
            let expansion: Option<Vec<u8>> = row.get(2)?;
            let grant = Grant::decode(data.as_slice()).map_err(|source| Error::Decode {
                table: "v1_grants",
                id: id.clone(),
                source,
            })?;
            let expansion = match expansion {
                Some(bytes) => {
                    Some(GrantExpandable::decode(bytes.as_slice()).map_err(|source| {
                        Error::Decode {
                            table: "v1_grants",
                            id,
                            source,
                        }
                    })?)
                }
                None => None,
            };
            out.push((grant, expansion));
        }
        Ok(out)
    }

    /// One entitlement of a sync by id.
    pub fn entitlement(&self, sync_id: &str, id: &str) -> Result<Option<Entitlement>> {
        let data: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT data FROM v1_entitlements WHERE sync_id = ?1 AND external_id = ?2",
                [sync_id, id],
                |r| r.get(0),
            )
            .optional()?;
        data.map(|d| {
            Entitlement::decode(d.as_slice()).map_err(|source| Error::Decode {
                table: "v1_entitlements",
                id: id.into(),
                source,
            })
        })
        .transpose()
    }

    /// One resource of a sync by type and id.
    pub fn resource(
        &self,
        sync_id: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<Resource>> {
        let key = format!("{resource_type}:{id}");
        let data: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT data FROM v1_resources WHERE sync_id = ?1 AND external_id = ?2",
                [sync_id, key.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        data.map(|d| {
            Resource::decode(d.as_slice()).map_err(|source| Error::Decode {
                table: "v1_resources",
                id: key,
                source,
            })
        })
        .transpose()
    }

    /// One grant of a sync by id.
    pub fn grant(&self, sync_id: &str, id: &str) -> Result<Option<Grant>> {
        let data: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT data FROM v1_grants WHERE sync_id = ?1 AND external_id = ?2",
                [sync_id, id],
                |r| r.get(0),
            )
            .optional()?;
        data.map(|d| {
            Grant::decode(d.as_slice()).map_err(|source| Error::Decode {
                table: "v1_grants",
                id: id.into(),
                source,
            })
        })
        .transpose()
    }

    fn decode_rows<M: Message + Default>(
        &self,
        table: &'static str,
        sql: &str,
        sync_id: &str,
    ) -> Result<Vec<M>> {
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query([sync_id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let data: Vec<u8> = row.get(1)?;
            out.push(M::decode(data.as_slice()).map_err(|source| Error::Decode {
                table,
                id: row.get(0).unwrap_or_default(),
                source,
            })?);
        }
        Ok(out)
    }

    /// Writes the database back to the c1z path (through a temporary file
    /// and a rename) and returns (decompressed, compressed) sizes.
    pub fn save(self) -> Result<(u64, u64)> {
        let path = self.path.clone();
        self.save_to(&path)
    }

    /// Writes the database to another c1z path.
    pub fn save_to(self, output: &Path) -> Result<(u64, u64)> {
        let C1zFile {
            conn,
            db_path,
            _dir,
            ..
        } = self;
        conn.close().map_err(|(_, e)| Error::Sqlite(e))?;
        let raw = std::fs::metadata(&db_path).map(|m| m.len()).unwrap_or(0);
        let written = codec::encode_from(&db_path, output)?;
        drop(_dir);
        Ok((raw, written))
    }
}

/// The denormalised columns of a grant row.
struct GrantColumns<'a> {
    resource_type_id: &'a str,
    resource_id: &'a str,
    principal_type: &'a str,
    principal_id: &'a str,
}

impl<'a> GrantColumns<'a> {
    fn of(grant: &'a Grant) -> Self {
        let ent_rid = grant
            .entitlement
            .as_ref()
            .and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref());
        let pid = grant.principal.as_ref().and_then(|p| p.id.as_ref());
        GrantColumns {
            resource_type_id: ent_rid.map(|r| r.resource_type.as_str()).unwrap_or(""),
            resource_id: ent_rid.map(|r| r.resource.as_str()).unwrap_or(""),
            principal_type: pid.map(|r| r.resource_type.as_str()).unwrap_or(""),
            principal_id: pid.map(|r| r.resource.as_str()).unwrap_or(""),
        }
    }
}

/// How many full syncs a file keeps, from `BATON_KEEP_SYNC_COUNT` (default 2).
pub fn keep_sync_count() -> usize {
    std::env::var("BATON_KEEP_SYNC_COUNT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::{ResourceId, V1Identifier};

    fn rid(t: &str, id: &str) -> Option<ResourceId> {
        Some(ResourceId {
            resource_type: t.into(),
            resource: id.into(),
            baton_resource: false,
        })
    }

    fn sample(file: &C1zFile) -> String {
        let sync = file.start_sync("full", "").unwrap();
        file.put_resource_types(
            &sync,
            &[ResourceType {
                id: "group".into(),
                ..Default::default()
            }],
        )
        .unwrap();
        let group = Resource {
            id: rid("group", "g1"),
            display_name: "G".into(),
            ..Default::default()
        };
        file.put_resources(&sync, &[group.clone()]).unwrap();
        let ent = Entitlement {
            resource: Some(group),
            id: "group:g1:member".into(),
            ..Default::default()
        };
        file.put_entitlements(&sync, &[ent.clone()]).unwrap();
        let mut grant = Grant {
            entitlement: Some(ent),
            principal: Some(Resource {
                id: rid("user", "u1"),
                ..Default::default()
            }),
            id: "group:g1:member:user:u1".into(),
            ..Default::default()
        };
        grant
            .annotations
            .push(any::pack(&V1Identifier { id: "v1".into() }));
        grant.annotations.push(any::pack(&GrantExpandable {
            entitlement_ids: vec!["x".into()],
            ..Default::default()
        }));
        file.put_grants(&sync, &[grant]).unwrap();
        file.end_sync(&sync, "{\"version\":1}", true).unwrap();
        sync
    }

    #[test]
    fn writes_reads_and_strips_expandable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.c1z");
        let file = C1zFile::open(&path, None).unwrap();
        let sync = sample(&file);
        file.save().unwrap();

        let file = C1zFile::open_read(&path).unwrap();
        let run = file.view_sync(None).unwrap();
        assert_eq!(run.sync_id, sync);
        assert!(run.ended_at.is_some());
        let grants = file.grants(&sync).unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(
            grants[0].0.annotations.len(),
            1,
            "GrantExpandable must leave data"
        );
        assert_eq!(
            grants[0].1.as_ref().unwrap().entitlement_ids,
            vec!["x".to_string()]
        );
        let stats: String = file
            .conn()
            .query_row("SELECT stats FROM v1_sync_runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            stats,
            "{\"resource_types\":1,\"resources\":1,\"entitlements\":1,\"grants\":1,\"resources_by_resource_type\":{\"group\":1},\"grants_by_resource_type\":{\"group\":1},\"entitlements_by_resource_type\":{\"group\":1}}"
        );
        let external: String = file
            .conn()
            .query_row("SELECT external_id FROM v1_resources", [], |r| r.get(0))
            .unwrap();
        assert_eq!(external, "group:g1");
    }

    #[test]
    fn keeps_two_full_syncs_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.c1z");
        let mut ids = Vec::new();
        for _ in 0..3 {
            let file = C1zFile::open(&path, None).unwrap();
            let sync = sample(&file);
            file.cleanup(&sync, 2).unwrap();
            file.save().unwrap();
            ids.push(sync);
        }
        let file = C1zFile::open_read(&path).unwrap();
        let left: Vec<String> = file
            .syncs()
            .unwrap()
            .into_iter()
            .map(|s| s.sync_id)
            .collect();
        assert_eq!(left, ids[1..].to_vec());
    }

    #[test]
    fn schema_text_matches_the_go_sdk() {
        let dir = tempfile::tempdir().unwrap();
        let file = C1zFile::open(&dir.path().join("c.c1z"), None).unwrap();
        let sql: String = file
            .conn()
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'v1_resources'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.starts_with("CREATE TABLE v1_resources (\n"), "{sql}");
        assert!(sql.contains("\n\tparent_resource_type_id text,\n"));
        let unique: i64 = file
            .conn()
            .query_row("SELECT \"unique\" FROM pragma_index_list('v1_resources') WHERE name = 'idx_resources_parent_resource_id_v1'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(unique, 1);
    }

    #[test]
    fn failed_save_keeps_the_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keep.c1z");
        let file = C1zFile::open(&path, None).unwrap();
        sample(&file);
        file.save().unwrap();
        let before = std::fs::read(&path).unwrap();
        // Opening for a new sync and dropping it without save leaves the file alone.
        let file = C1zFile::open(&path, None).unwrap();
        file.start_sync("full", "").unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
