//! Grant expansion, as the Go SDK does it after grants are collected.
//!
//! A grant `G` of entitlement `D` whose `expansion` names source entitlement
//! `S` is an edge `S → D`: whoever holds `S` also holds `D`. Every holder of
//! `S` gets a grant of `D` (id `D:<type>:<id>`, annotated `GrantImmutable`,
//! with `sources = {S: {is_direct}}`), and holders that already had a grant of
//! `D` have `S` added to its sources. A shallow edge carries only grants that
//! are direct for `S`. Propagation runs to a fixed point over a work list,
//! so chains of any length and cycles both end: the set of grants and
//! sources only grows and is finite.
//!
//! The work happens in the database. Memory contains the graph (edges and
//! entitlement ids) and, for the edge being carried, the set of principals
//! that already hold the destination. It grows with the largest entitlement,
//! not with the organisation. Each step reads the source
//! entitlement's grants a chunk at a time, decoding only their principal and
//! sources, and writes new and changed grants in batched transactions. The
//! destination entitlement is encoded once per step and its bytes are put in
//! front of each new grant, as a protobuf encoder writes field 1 first.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use c1z::any;
use c1z::v2::{
    grant_sources::GrantSource, Entitlement, Grant, GrantExpandable, GrantImmutable, GrantSources,
    Resource, ResourceId,
};
use c1z::C1zFile;
use prost::Message;
use rusqlite::{params, OptionalExtension};
use tracing::{info, warn};

/// Source grants read from the database at a time.
const READ_CHUNK: i64 = 500;

/// SQLite page cache during expansion, in KiB.
const EXPANSION_CACHE_KIB: u32 = 16_000;

/// Writes committed together. Expansion of a large organisation fits in one
/// transaction. The rollback journal is on disk and holds only pages that
/// existed before, so a large batch costs disk, not memory. It also saves
/// rewriting the same index pages at every commit.
const WRITE_BATCH: usize = 1_000_000;

/// The index of grants by principal. Expansion never reads it, and its new
/// entries land at random places, so each insert evicts and rewrites index
/// pages. Expansion drops it and builds it again at the end, which took 40 %
/// less time for a million new grants (docs/benchmarks.md).
const PRINCIPAL_INDEX: &str = "idx_grants_principal_id_v1";

/// SQLite page cache while the principal index is built, in KiB, which also
/// bounds the runs SQLite sorts in memory. With 256 KiB the build raised the
/// peak memory of a sync by about 4 MB. With 64 KiB it did not, and it took
/// no longer.
const INDEX_SORT_KIB: u32 = 64;

/// What expansion did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExpansionReport {
    /// Edges in the graph.
    pub edges: usize,
    /// Edges dropped because their destination entitlement has no row.
    pub dropped_edges: usize,
    /// New grants written.
    pub created: usize,
    /// Existing grants whose sources changed.
    pub updated: usize,
}

/// Why expansion failed.
#[derive(Debug, thiserror::Error)]
pub enum ExpansionError {
    #[error(transparent)]
    File(#[from] c1z::Error),
    #[error("grant {grant}: source entitlement {source_id} belongs to {source_resource}, not to the grant's principal {principal}")]
    Mismatch {
        grant: String,
        source_id: String,
        source_resource: String,
        principal: String,
    },
}

impl From<rusqlite::Error> for ExpansionError {
    fn from(e: rusqlite::Error) -> Self {
        ExpansionError::File(c1z::Error::from(e))
    }
}

#[derive(Debug, Clone)]
struct Edge {
    shallow: bool,
    /// `None` when any principal type passes.
    types: Option<BTreeSet<String>>,
}

/// Expands the grants of one sync in place.
pub fn expand_grants(file: &C1zFile, sync_id: &str) -> Result<ExpansionReport, ExpansionError> {
    let mut report = ExpansionReport::default();
    // Entitlement ids are interned once, so the work list and the adjacency
    // lists hold numbers, not copies of long ids. Edges keep the sorted order
    // of their ids, so they are carried in the same order on every run.
    let mut names: Vec<String> = Vec::new();
    let mut numbers: HashMap<String, u32> = HashMap::new();
    let mut edges: HashMap<(u32, u32), Edge> = HashMap::new();
    let mut order: Vec<(u32, u32)> = Vec::new();
    for ((source, dest), edge) in load_edges(file, sync_id, &mut report)? {
        let mut intern = |id: String| -> u32 {
            *numbers.entry(id.clone()).or_insert_with(|| {
                names.push(id);
                (names.len() - 1) as u32
            })
        };
        let key = (intern(source), intern(dest));
        edges.insert(key, edge);
        order.push(key);
    }
    drop(numbers);

    let mut outgoing: HashMap<u32, Vec<u32>> = HashMap::new();
    for (source, dest) in &order {
        outgoing.entry(*source).or_default().push(*dest);
    }
    // Rows above this id are grants that expansion created.
    let first_new_row: i64 =
        file.conn()
            .query_row("SELECT COALESCE(MAX(id), 0) FROM v1_grants", [], |r| {
                r.get(0)
            })?;
    let mut writer = Writer::begin(file, sync_id, first_new_row)?;
    // A graph without edges creates nothing, so it keeps the index as it is.
    let principal_index = if order.is_empty() {
        None
    } else {
        writer.drop_index(PRINCIPAL_INDEX)?
    };
    let mut queue: VecDeque<(u32, u32)> = order.into();
    let mut queued: HashSet<(u32, u32)> = queue.iter().copied().collect();
    while let Some(key) = queue.pop_front() {
        queued.remove(&key);
        let (source, dest) = key;
        if propagate(
            &mut writer,
            &names[source as usize],
            &names[dest as usize],
            &edges[&key],
        )? {
            for next in outgoing.get(&dest).into_iter().flatten() {
                let next_key = (dest, *next);
                if queued.insert(next_key) {
                    queue.push_back(next_key);
                }
            }
        }
    }
    writer.commit()?;
    if let Some(sql) = principal_index {
        build_index(file, &sql)?;
    }
    report.created = writer.created;
    report.updated = writer.updated.len();
    info!(
        created = report.created,
        updated = report.updated,
        "Expanded grants"
    );
    Ok(report)
}

/// Reads the entitlement graph from the expandable grants of a sync.
fn load_edges(
    file: &C1zFile,
    sync_id: &str,
    report: &mut ExpansionReport,
) -> Result<BTreeMap<(String, String), Edge>, ExpansionError> {
    let mut edges: BTreeMap<(String, String), Edge> = BTreeMap::new();
    // The resource each entitlement belongs to, `None` when the entitlement has no row.
    let mut owners: HashMap<String, Option<(String, String)>> = HashMap::new();
    let mut owner_of = |id: &str| -> Result<Option<(String, String)>, ExpansionError> {
        if let Some(found) = owners.get(id) {
            return Ok(found.clone());
        }
        let found = file
            .conn()
            .query_row(
                "SELECT resource_type_id, resource_id FROM v1_entitlements WHERE sync_id = ?1 AND external_id = ?2",
                [sync_id, id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        owners.insert(id.to_string(), found.clone());
        Ok(found)
    };

    let mut stmt = file.conn().prepare(
        "SELECT external_id, entitlement_id, principal_resource_type_id, principal_resource_id, expansion FROM v1_grants \
         WHERE sync_id = ?1 AND expansion IS NOT NULL AND needs_expansion = 1 ORDER BY id",
    )?;
    let mut rows = stmt.query([sync_id])?;
    let mut missing_destinations: BTreeSet<String> = BTreeSet::new();
    while let Some(row) = rows.next()? {
        let (grant_id, dest, ptype, pid): (String, String, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        let blob: Vec<u8> = row.get(4)?;
        let Ok(expansion) = GrantExpandable::decode(blob.as_slice()) else {
            continue;
        };
        for source in expansion
            .entitlement_ids
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            let Some((source_type, source_resource)) = owner_of(source)? else {
                continue;
            };
            if source_type != ptype || source_resource != pid {
                return Err(ExpansionError::Mismatch {
                    grant: grant_id.clone(),
                    source_id: source.into(),
                    source_resource: format!("{source_type}:{source_resource}"),
                    principal: format!("{ptype}:{pid}"),
                });
            }
            let types = if expansion.resource_type_ids.is_empty() {
                None
            } else {
                Some(
                    expansion
                        .resource_type_ids
                        .iter()
                        .cloned()
                        .collect::<BTreeSet<_>>(),
                )
            };
            report.edges += 1;
            if owner_of(&dest)?.is_none() {
                missing_destinations.insert(dest.clone());
                report.dropped_edges += 1;
                continue;
            }
            edges
                .entry((source.to_string(), dest.clone()))
                .and_modify(|e| {
                    e.shallow &= expansion.shallow;
                    e.types = match (e.types.take(), &types) {
                        (Some(mut a), Some(b)) => {
                            a.extend(b.iter().cloned());
                            Some(a)
                        }
                        _ => None,
                    };
                })
                .or_insert(Edge {
                    shallow: expansion.shallow,
                    types,
                });
        }
    }
    info!(edges = report.edges, "Finished loading entitlement graph");
    if report.dropped_edges > 0 {
        warn!(
            edges = report.dropped_edges,
            entitlements = missing_destinations.len(),
            "grant expansion: some expandable grants point at entitlements that are not in this sync (for example AWS managed policies attached through Identity Center that IAM did not list); those grants are kept but not expanded"
        );
    }
    Ok(edges)
}

/// Writes of one expansion, in transactions of [`WRITE_BATCH`] writes.
struct Writer<'a> {
    file: &'a C1zFile,
    sync_id: &'a str,
    first_new_row: i64,
    /// `discovered_at` of the grants this expansion creates.
    discovered_at: String,
    pending: usize,
    open: bool,
    created: usize,
    /// Row ids of grants from the connector whose sources changed.
    updated: HashSet<i64>,
}

impl<'a> Writer<'a> {
    fn begin(
        file: &'a C1zFile,
        sync_id: &'a str,
        first_new_row: i64,
    ) -> Result<Self, ExpansionError> {
        // A 16 MB page cache while expanding (SQLite's default is 2 MB):
        // every new grant updates eight indexes, and keeping their hot pages
        // in memory cuts expansion time by a third (docs/benchmarks.md).
        file.conn().execute_batch(&format!(
            "PRAGMA cache_size = -{EXPANSION_CACHE_KIB}; BEGIN"
        ))?;
        Ok(Writer {
            file,
            sync_id,
            first_new_row,
            discovered_at: c1z::timefmt::now(),
            pending: 0,
            open: true,
            created: 0,
            updated: HashSet::new(),
        })
    }

    /// Drops the index `name` inside the open transaction and returns the SQL
    /// that created it, or `None` if the database has no such index. A
    /// failed expansion rolls the drop back with its writes, unless a batch
    /// was already committed. Either way the sync fails and its database is
    /// discarded.
    fn drop_index(&mut self, name: &str) -> Result<Option<String>, ExpansionError> {
        let sql = index_sql(self.file, name)?;
        if sql.is_some() {
            self.file
                .conn()
                .execute_batch(&format!("DROP INDEX \"{name}\""))?;
        }
        Ok(sql)
    }

    fn wrote(&mut self) -> Result<(), ExpansionError> {
        self.pending += 1;
        if self.pending >= WRITE_BATCH {
            self.file.conn().execute_batch("COMMIT; BEGIN")?;
            self.pending = 0;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), ExpansionError> {
        if self.open {
            self.file
                .conn()
                .execute_batch("COMMIT; PRAGMA cache_size = -2000")?;
            self.open = false;
        }
        Ok(())
    }

    /// Reads the principal and sources of the grants of `entitlement` with
    /// row ids above `after`, in row order. A row that does not decode has neither.
    fn grants_after(
        &self,
        entitlement: &str,
        after: i64,
    ) -> Result<Vec<(i64, Holder)>, ExpansionError> {
        let mut stmt = self
            .file
            .conn()
            .prepare_cached("SELECT id, data FROM v1_grants WHERE entitlement_id = ?1 AND sync_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4")?;
        let rows = stmt.query_map(params![entitlement, self.sync_id, after, READ_CHUNK], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, data) = row?;
            out.push((id, Holder::decode(data.as_slice()).unwrap_or_default()));
        }
        Ok(out)
    }

    /// Returns the principals that hold `entitlement` now, as `(type, id)`.
    fn holders(&self, entitlement: &str) -> Result<HashSet<(String, String)>, ExpansionError> {
        let mut stmt = self.file.conn().prepare_cached(
            "SELECT principal_resource_type_id, principal_resource_id FROM v1_grants WHERE entitlement_id = ?1 AND sync_id = ?2",
        )?;
        let rows = stmt.query_map(params![entitlement, self.sync_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The grants of `entitlement` held by one principal.
    fn holder_grants(
        &self,
        entitlement: &str,
        principal_type: &str,
        principal_id: &str,
    ) -> Result<Vec<(i64, Grant)>, ExpansionError> {
        let mut stmt = self.file.conn().prepare_cached(
            "SELECT id, data FROM v1_grants WHERE entitlement_id = ?1 AND principal_resource_type_id = ?2 AND principal_resource_id = ?3 \
             AND sync_id = ?4 ORDER BY id",
        )?;
        let rows = stmt.query_map(
            params![entitlement, principal_type, principal_id, self.sync_id],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (id, data) = row?;
            if let Ok(grant) = Grant::decode(data.as_slice()) {
                out.push((id, grant));
            }
        }
        Ok(out)
    }

    /// Inserts a grant of `dest` whose encoding is `dest_field` (the
    /// destination entitlement as field 1) followed by `rest`.
    fn insert(
        &mut self,
        dest: &Dest,
        principal: &ResourceId,
        id: &str,
        rest: &[u8],
    ) -> Result<(), ExpansionError> {
        let mut data = Vec::with_capacity(dest.field.len() + rest.len());
        data.extend_from_slice(&dest.field);
        data.extend_from_slice(rest);
        let mut stmt = self.file.conn().prepare_cached(
            "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id, external_id, expansion, needs_expansion, data, sync_id, discovered_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, 0, ?7, ?8, ?9) ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
        )?;
        stmt.execute(params![
            dest.resource.resource_type,
            dest.resource.resource,
            dest.id,
            principal.resource_type,
            principal.resource,
            id,
            data,
            self.sync_id,
            self.discovered_at
        ])?;
        self.created += 1;
        self.wrote()
    }

    fn update(&mut self, row_id: i64, grant: &Grant) -> Result<(), ExpansionError> {
        let mut stmt = self
            .file
            .conn()
            .prepare_cached("UPDATE v1_grants SET data = ?1 WHERE id = ?2")?;
        stmt.execute(params![grant.encode_to_vec(), row_id])?;
        if row_id <= self.first_new_row {
            self.updated.insert(row_id);
        }
        self.wrote()
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self
                .file
                .conn()
                .execute_batch("ROLLBACK; PRAGMA cache_size = -2000");
        }
    }
}

/// Returns the `CREATE INDEX` statement of the index `name`, or `None` if the
/// database has no such index.
fn index_sql(file: &C1zFile, name: &str) -> Result<Option<String>, rusqlite::Error> {
    Ok(file
        .conn()
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// Runs `sql`, a `CREATE INDEX` statement, with SQLite's sort spilling to a
/// temporary file and a page cache of [`INDEX_SORT_KIB`]. With the sort in
/// memory, building the index after a million new grants raised the peak
/// memory of expansion from 28 MB to 180 MB. Restores `temp_store` and
/// `cache_size` afterwards.
/// NOTE: SQLite writes the sort to its own temporary directory
/// (`SQLITE_TMPDIR` or `TMPDIR`), not to `--c1z-temp-dir`.
fn build_index(file: &C1zFile, sql: &str) -> Result<(), ExpansionError> {
    let conn = file.conn();
    let temp_store: i64 = conn.query_row("PRAGMA temp_store", [], |r| r.get(0))?;
    let cache_size: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.execute_batch(&format!(
        "PRAGMA temp_store = FILE; PRAGMA cache_size = -{INDEX_SORT_KIB}"
    ))?;
    let built = conn.execute_batch(sql);
    conn.execute_batch(&format!(
        "PRAGMA temp_store = {temp_store}; PRAGMA cache_size = {cache_size}"
    ))?;
    built?;
    Ok(())
}

/// The parts of a grant that expansion reads: field 2 (`principal`) and
/// field 5 (`sources`) of `c1.connector.v2.Grant`. Decoding skips the
/// entitlement, the largest part of a stored grant.
#[derive(Clone, PartialEq, prost::Message)]
struct Holder {
    #[prost(message, optional, tag = "2")]
    principal: Option<Resource>,
    #[prost(message, optional, tag = "5")]
    sources: Option<GrantSources>,
}

/// The destination entitlement of one step.
struct Dest {
    id: String,
    /// The entitlement's resource id, for the grant's resource columns.
    resource: ResourceId,
    /// The entitlement encoded as field 1 of a grant.
    field: Vec<u8>,
}

/// Carries the holders of `source` along one edge to `dest`. Returns whether
/// any grant of `dest` was created or changed.
fn propagate(
    writer: &mut Writer<'_>,
    source: &str,
    dest: &str,
    edge: &Edge,
) -> Result<bool, ExpansionError> {
    let dest_entitlement: Entitlement = writer
        .file
        .entitlement(writer.sync_id, dest)?
        .unwrap_or_default();
    let mut field = Vec::new();
    prost::encoding::message::encode(1, &dest_entitlement, &mut field);
    let dest = Dest {
        id: dest.to_string(),
        resource: dest_entitlement
            .resource
            .as_ref()
            .and_then(|r| r.id.clone())
            .unwrap_or_default(),
        field,
    };
    let mut holders = writer.holders(&dest.id)?;
    let mut changed = false;
    let mut after = 0i64;
    loop {
        let chunk = writer.grants_after(source, after)?;
        let full = chunk.len() as i64 == READ_CHUNK;
        for (row_id, held) in chunk {
            after = row_id;
            let Some(principal_resource) = held.principal else {
                continue;
            };
            let Some(principal) = principal_resource.id.clone() else {
                continue;
            };
            if let Some(types) = &edge.types {
                if !types.contains(&principal.resource_type) {
                    continue;
                }
            }
            let direct = held
                .sources
                .as_ref()
                .is_none_or(|s| s.is_empty() || s.contains_key(source));
            if !direct && edge.shallow {
                continue;
            }
            let key = (principal.resource_type.clone(), principal.resource.clone());
            if !holders.contains(&key) {
                let mut sources = GrantSources::default();
                sources.insert(source, GrantSource { is_direct: direct });
                let id = format!(
                    "{}:{}:{}",
                    dest.id, principal.resource_type, principal.resource
                );
                let rest = Grant {
                    entitlement: None,
                    principal: Some(principal_resource),
                    id,
                    annotations: vec![any::pack(&GrantImmutable::default())],
                    sources: Some(sources),
                };
                writer.insert(&dest, &principal, &rest.id, &rest.encode_to_vec())?;
                holders.insert(key);
                changed = true;
                continue;
            }
            for (dest_row, mut grant) in
                writer.holder_grants(&dest.id, &principal.resource_type, &principal.resource)?
            {
                let sources = grant.sources.get_or_insert_with(GrantSources::default);
                let mut touched = false;
                if sources.is_empty() {
                    sources.insert(&dest.id, GrantSource { is_direct: true });
                    touched = true;
                }
                match sources.get_mut(source) {
                    None => {
                        sources.insert(source, GrantSource { is_direct: direct });
                        touched = true;
                    }
                    Some(existing) if direct && !existing.is_direct => {
                        existing.is_direct = true;
                        touched = true;
                    }
                    Some(_) => {}
                }
                if touched {
                    writer.update(dest_row, &grant)?;
                    changed = true;
                }
            }
        }
        if !full {
            return Ok(changed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{expandable, grant, id_only, rid};

    fn ent(rt: &str, id: &str, slug: &str) -> Entitlement {
        Entitlement {
            resource: Some(Resource {
                id: Some(rid(rt, id)),
                display_name: id.into(),
                ..Default::default()
            }),
            id: format!("{rt}:{id}:{slug}"),
            ..Default::default()
        }
    }

    fn setup(shallow_chain: bool) -> (tempfile::TempDir, C1zFile, String) {
        let dir = tempfile::tempdir().unwrap();
        let file = C1zFile::open(&dir.path().join("x.c1z"), None).unwrap();
        let sync = file.start_sync("full", "").unwrap();
        // u1 is in group g1; g1 is in group g2 (nested); g2 holds policy p.
        let g1 = ent("group", "g1", "member");
        let g2 = ent("group", "g2", "member");
        let p = ent("policy", "p", "attached");
        file.put_entitlements(&sync, &[g1.clone(), g2.clone(), p.clone()])
            .unwrap();
        let mut g1_in_g2 = grant(g2.clone(), &rid("group", "g1"));
        g1_in_g2
            .annotations
            .push(expandable(vec![g1.id.clone()], false));
        let mut g2_has_p = grant(p.clone(), &rid("group", "g2"));
        g2_has_p
            .annotations
            .push(expandable(vec![g2.id.clone()], shallow_chain));
        file.put_grants(
            &sync,
            &[grant(g1.clone(), &rid("user", "u1")), g1_in_g2, g2_has_p],
        )
        .unwrap();
        let _ = id_only("user", "u1");
        (dir, file, sync)
    }

    #[test]
    fn deep_edges_propagate_transitively() {
        let (_dir, file, sync) = setup(false);
        let report = expand_grants(&file, &sync).unwrap();
        let got: BTreeSet<String> = file
            .grants(&sync)
            .unwrap()
            .into_iter()
            .map(|(g, _)| g.id)
            .collect();
        assert!(got.contains("group:g2:member:user:u1"));
        assert!(got.contains("policy:p:attached:user:u1"));
        assert!(got.contains("policy:p:attached:group:g1"));
        assert_eq!(report.created, 3);
        let u1 = file
            .grant(&sync, "policy:p:attached:user:u1")
            .unwrap()
            .unwrap();
        let sources = u1.sources.unwrap();
        assert_eq!(sources.keys().collect::<Vec<_>>(), vec!["group:g2:member"]);
        assert!(!sources.get("group:g2:member").unwrap().is_direct);
        assert!(any::contains::<GrantImmutable>(&u1.annotations));
    }

    #[test]
    fn shallow_edges_carry_only_direct_holders() {
        let (_dir, file, sync) = setup(true);
        expand_grants(&file, &sync).unwrap();
        assert!(
            file.grant(&sync, "policy:p:attached:group:g1")
                .unwrap()
                .is_some(),
            "g1 holds g2 directly"
        );
        assert!(
            file.grant(&sync, "policy:p:attached:user:u1")
                .unwrap()
                .is_none(),
            "u1 holds g2 only indirectly"
        );
    }

    #[test]
    fn principal_index_is_rebuilt() {
        let (_dir, file, sync) = setup(false);
        let before = index_sql(&file, PRINCIPAL_INDEX).unwrap();
        assert!(before.is_some(), "the schema has no {PRINCIPAL_INDEX}");
        let pragma = |name: &str| -> i64 {
            file.conn()
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        let temp_store = pragma("temp_store");
        let cache_size = pragma("cache_size");

        expand_grants(&file, &sync).unwrap();

        assert_eq!(index_sql(&file, PRINCIPAL_INDEX).unwrap(), before);
        assert_eq!(pragma("temp_store"), temp_store);
        assert_eq!(pragma("cache_size"), cache_size);
        let check: String = file
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        // u1 holds g1 membership directly, and g2 membership and p through expansion.
        let held_by_u1: i64 = file
            .conn()
            .query_row(
                "SELECT count(*) FROM v1_grants INDEXED BY idx_grants_principal_id_v1 \
                 WHERE principal_resource_type_id = 'user' AND principal_resource_id = 'u1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(held_by_u1, 3);
    }

    #[test]
    fn cycles_terminate() {
        let dir = tempfile::tempdir().unwrap();
        let file = C1zFile::open(&dir.path().join("c.c1z"), None).unwrap();
        let sync = file.start_sync("full", "").unwrap();
        let a = ent("role", "a", "assignment");
        let b = ent("role", "b", "assignment");
        file.put_entitlements(&sync, &[a.clone(), b.clone()])
            .unwrap();
        let mut b_assumes_a = grant(a.clone(), &rid("role", "b"));
        b_assumes_a
            .annotations
            .push(expandable(vec![b.id.clone()], false));
        let mut a_assumes_b = grant(b.clone(), &rid("role", "a"));
        a_assumes_b
            .annotations
            .push(expandable(vec![a.id.clone()], false));
        file.put_grants(
            &sync,
            &[
                b_assumes_a,
                a_assumes_b,
                grant(a.clone(), &rid("user", "u")),
            ],
        )
        .unwrap();
        expand_grants(&file, &sync).unwrap();
        assert!(file
            .grant(&sync, "role:b:assignment:user:u")
            .unwrap()
            .is_some());
        assert!(file
            .grant(&sync, "role:a:assignment:role:a")
            .unwrap()
            .is_some());
    }

    #[test]
    fn existing_direct_grant_gains_its_own_id_and_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = C1zFile::open(&dir.path().join("d.c1z"), None).unwrap();
        let sync = file.start_sync("full", "").unwrap();
        let g = ent("group", "g", "member");
        let p = ent("policy", "p", "attached");
        file.put_entitlements(&sync, &[g.clone(), p.clone()])
            .unwrap();
        let mut group_has_p = grant(p.clone(), &rid("group", "g"));
        group_has_p
            .annotations
            .push(expandable(vec![g.id.clone()], true));
        file.put_grants(
            &sync,
            &[
                grant(g.clone(), &rid("user", "u")),
                grant(p.clone(), &rid("user", "u")),
                group_has_p,
            ],
        )
        .unwrap();
        let report = expand_grants(&file, &sync).unwrap();
        assert_eq!((report.created, report.updated), (0, 1));
        let direct = file
            .grant(&sync, "policy:p:attached:user:u")
            .unwrap()
            .unwrap();
        let sources = direct.sources.unwrap();
        assert_eq!(
            sources.keys().collect::<Vec<_>>(),
            vec!["group:g:member", "policy:p:attached"]
        );
    }
}
