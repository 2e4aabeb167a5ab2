//! The sync engine: drives every resource syncer of a connector and writes
//! what they return into a c1z.
//!
//! Phases, in the order of the Go SDK: resource types, resources (children
//! through `ChildResourceType` annotations), entitlements, grants, grant
//! expansion, end of sync, cleanup of old syncs, save. The c1z at the output
//! path is replaced only when every phase succeeded.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use c1z::any;
use c1z::v2::{
    ChildResourceType, Entitlement, Grant, GrantExpandable, Resource, ResourceId, ResourceType,
    SkipEntitlements, SkipEntitlementsAndGrants, SkipGrants,
};
use c1z::C1zFile;
use futures_util::stream::{FuturesUnordered, StreamExt};
use prost::Message;
use tracing::{info, warn};

use crate::connector::{Connector, ConnectorError, Page, ResourceSyncer};
use crate::expand;
use crate::types::required_trait;

/// How a sync runs.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only these resource type ids are synced; empty means all.
    pub resource_types: Vec<String>,
    /// Sync resources only.
    pub skip_entitlements_and_grants: bool,
    /// Where the working copy of the database lives (default: the OS temporary directory).
    pub temp_dir: Option<PathBuf>,
    /// Full syncs a file keeps, counting the new one.
    pub keep_syncs: usize,
    /// Leave older syncs in the file.
    pub skip_cleanup: bool,
    /// Attempts per connector call when it fails with a retryable error.
    pub max_attempts: u32,
    /// First retry delay; each later retry waits about twice as long.
    pub retry_delay: Duration,
    /// Connector calls in flight at once (0 is taken as 1).
    pub concurrency: usize,
}

/// Connector calls in flight at once unless the caller chooses.
pub const DEFAULT_CONCURRENCY: usize = 16;

impl SyncOptions {
    /// Options with the defaults of the Go SDK and environment overrides:
    /// `BATON_SKIP_CLEANUP`, `BATON_SYNC_MAX_ATTEMPTS` (attempts per
    /// connector call, default 5) and `BATON_SYNC_RETRY_DELAY_MS` (first
    /// retry delay, default 1000). Unreadable values keep the defaults.
    pub fn from_env() -> Self {
        let number = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        SyncOptions {
            keep_syncs: c1z::store::keep_sync_count(),
            skip_cleanup: std::env::var("BATON_SKIP_CLEANUP")
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "True")),
            max_attempts: number("BATON_SYNC_MAX_ATTEMPTS").map_or(5, |n| n.clamp(1, 100) as u32),
            retry_delay: Duration::from_millis(number("BATON_SYNC_RETRY_DELAY_MS").unwrap_or(1000)),
            concurrency: DEFAULT_CONCURRENCY,
            ..Default::default()
        }
    }
}

/// What a finished sync wrote.
#[derive(Debug, Clone, Default)]
pub struct SyncSummary {
    pub sync_id: String,
    pub resource_types: usize,
    pub resources_by_type: Vec<(String, usize)>,
    pub entitlements: usize,
    pub grants: usize,
    pub expanded_grants: usize,
    pub decompressed_bytes: u64,
    pub compressed_bytes: u64,
}

/// Why a sync failed. The c1z at the output path is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    File(#[from] c1z::Error),

    #[error("{phase} of resource type {resource_type} failed: {source}")]
    Connector {
        phase: &'static str,
        resource_type: String,
        source: ConnectorError,
    },

    #[error("{phase} of resource type {resource_type} returned the page token {token:?} twice; the listing would never end, so the sync stops here")]
    PageLoop {
        phase: &'static str,
        resource_type: String,
        token: String,
    },

    #[error("resource {resource} of type {resource_type} is missing the {trait_name} annotation its type requires")]
    MissingTrait {
        resource_type: String,
        resource: String,
        trait_name: String,
    },

    #[error("connector check failed: {0}")]
    Validate(ConnectorError),

    #[error("unknown resource type in --sync-resource-types: {0}; known types are {1}")]
    UnknownType(String, String),

    #[error("grant expansion failed: {0}")]
    Expansion(String),
}

/// Runs a full sync of `connector` into the c1z at `path`.
pub async fn run_sync(
    connector: &dyn Connector,
    path: &Path,
    options: &SyncOptions,
) -> Result<SyncSummary, SyncError> {
    let started = Instant::now();
    let file = C1zFile::open(path, options.temp_dir.as_deref())?;
    connector.validate().await.map_err(SyncError::Validate)?;
    let engine = Engine::new(connector, options)?;
    let sync_id = file.start_sync("full", "")?;
    info!(sync_id = %sync_id, "Syncing resource types...");
    let types: Vec<ResourceType> = engine.syncers.iter().map(|s| s.resource_type()).collect();
    file.put_resource_types(&sync_id, &types)?;
    info!(count = types.len(), "Synced resource types");

    info!("Syncing resources...");
    let resources_by_type = engine.sync_resources(&file, &sync_id).await?;

    let mut summary = SyncSummary {
        resource_types: types.len(),
        resources_by_type,
        ..Default::default()
    };
    if !options.skip_entitlements_and_grants {
        info!("Syncing entitlements...");
        summary.entitlements = engine
            .sync_rows(&file, &sync_id, Phase::Entitlements)
            .await?
            .0;
        info!("Syncing grants...");
        let (grants, expandable) = engine.sync_rows(&file, &sync_id, Phase::Grants).await?;
        connector.release();
        let complete: Vec<String> = engine
            .syncers
            .iter()
            .filter(|s| s.lists_every_principal())
            .map(|s| s.resource_type().id)
            .collect();
        let dropped = drop_grants_to_absent_principals(&file, &sync_id, &complete)?;
        summary.grants = grants - dropped;
        file.set_supports_diff(&sync_id)?;
        if expandable {
            info!("Expanding grants...");
            let report = expand::expand_grants(&file, &sync_id)
                .map_err(|e| SyncError::Expansion(e.to_string()))?;
            summary.expanded_grants = report.created;
            summary.grants += report.created;
        }
    }
    connector.report();
    file.end_sync(&sync_id, "{\"version\":1}", true)?;
    if !options.skip_cleanup {
        file.cleanup(&sync_id, options.keep_syncs.max(1))?;
    }
    info!(sync_id = %sync_id, elapsed_ms = started.elapsed().as_millis() as u64, "Sync complete.");
    let (raw, compressed) = file.save()?;
    info!(output_path = %path.display(), decompressed_bytes = raw, compressed_bytes = compressed, "c1z: saved");
    summary.sync_id = sync_id;
    summary.decompressed_bytes = raw;
    summary.compressed_bytes = compressed;
    Ok(summary)
}

/// Deletes the grants whose principal is of one of `types` but has no
/// resource row in this sync, and warns once per type with a count and an
/// example. Returns how many were deleted.
fn drop_grants_to_absent_principals(
    file: &C1zFile,
    sync_id: &str,
    types: &[String],
) -> Result<usize, SyncError> {
    let mut dropped = 0;
    for type_id in types {
        let absent = "FROM v1_grants AS g WHERE g.sync_id = ?1 AND g.principal_resource_type_id = ?2 AND NOT EXISTS \
             (SELECT 1 FROM v1_resources AS r WHERE r.sync_id = ?1 AND r.external_id = g.principal_resource_type_id || ':' || g.principal_resource_id)";
        let (count, example): (usize, Option<String>) = file
            .conn()
            .query_row(
                &format!("SELECT COUNT(*), MIN(g.principal_resource_id) {absent}"),
                [sync_id, type_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(c1z::Error::from)?;
        if count == 0 {
            continue;
        }
        file.conn()
            .execute(&format!("DELETE {absent}"), [sync_id, type_id.as_str()])
            .map_err(c1z::Error::from)?;
        warn!(
            resource_type = %type_id,
            grants = count,
            example = example.unwrap_or_default(),
            "left out grants to principals that the complete listing of this type did not return; they name deleted identities (for example an assignment or membership left behind when a user was deleted)"
        );
        dropped += count;
    }
    Ok(dropped)
}

/// Rows buffered before they are written in one transaction.
const WRITE_BATCH: usize = 1000;

/// Resources read from the database at a time in the entitlement and grant phases.
const READ_CHUNK: usize = 256;

/// Longest wait between two attempts of a connector call.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

struct Engine {
    syncers: Vec<Arc<dyn ResourceSyncer>>,
    by_type: HashMap<String, (Arc<dyn ResourceSyncer>, ResourceType)>,
    max_attempts: u32,
    retry_delay: Duration,
    concurrency: usize,
}

/// One listing in progress: what is listed (a parent for resources, a
/// resource for entitlements and grants) and the page to fetch next.
struct Listing<S> {
    type_id: String,
    subject: S,
    token: String,
    guard: TokenGuard,
    count: usize,
}

impl<S> Listing<S> {
    fn new(type_id: String, subject: S) -> Self {
        Listing {
            type_id,
            subject,
            token: String::new(),
            guard: TokenGuard::default(),
            count: 0,
        }
    }
}

/// The entitlement and grant phases, which both list per resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Entitlements,
    Grants,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Entitlements => "listing entitlements",
            Phase::Grants => "listing grants",
        }
    }
}

/// One page of a per-resource listing.
enum Rows {
    Entitlements(Vec<Entitlement>),
    Grants(Vec<Grant>),
}

impl Engine {
    fn new(connector: &dyn Connector, options: &SyncOptions) -> Result<Self, SyncError> {
        let all = connector.resource_syncers();
        let known: Vec<String> = all.iter().map(|s| s.resource_type().id).collect();
        for wanted in &options.resource_types {
            if !known.contains(wanted) {
                return Err(SyncError::UnknownType(wanted.clone(), known.join(", ")));
            }
        }
        let syncers: Vec<Arc<dyn ResourceSyncer>> = all
            .into_iter()
            .filter(|s| {
                options.resource_types.is_empty()
                    || options.resource_types.contains(&s.resource_type().id)
            })
            .collect();
        let by_type = syncers
            .iter()
            .map(|s| (s.resource_type().id, (s.clone(), s.resource_type())))
            .collect();
        Ok(Engine {
            syncers,
            by_type,
            max_attempts: options.max_attempts.max(1),
            retry_delay: options.retry_delay,
            concurrency: options.concurrency.max(1),
        })
    }

    /// Calls the connector, retrying retryable errors with exponential
    /// backoff and jitter: the n-th retry waits a random time between half
    /// and all of `retry_delay * 2^(n-1)`, at most 30 s.
    async fn call<T, F, Fut>(
        &self,
        phase: &'static str,
        rt: &str,
        mut f: F,
    ) -> Result<Page<T>, SyncError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Page<T>, ConnectorError>>,
    {
        let mut attempt = 1;
        loop {
            match f().await {
                Ok(page) => return Ok(page),
                Err(e) if e.is_retryable() && attempt < self.max_attempts => {
                    let backoff = self
                        .retry_delay
                        .saturating_mul(1 << (attempt - 1).min(16))
                        .min(MAX_RETRY_WAIT);
                    let wait =
                        backoff.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..=1.0));
                    warn!(resource_type = rt, phase, attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying after a transient error");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(source) => {
                    return Err(SyncError::Connector {
                        phase,
                        resource_type: rt.into(),
                        source,
                    })
                }
            }
        }
    }

    async fn fetch_resources(
        &self,
        listing: Listing<Option<ResourceId>>,
    ) -> (
        Listing<Option<ResourceId>>,
        Result<Page<Resource>, SyncError>,
    ) {
        let syncer = self.by_type[&listing.type_id].0.clone();
        let result = self
            .call("listing resources", &listing.type_id, || {
                syncer.list(listing.subject.as_ref(), &listing.token)
            })
            .await;
        (listing, result)
    }

    /// Lists every resource type, then the children that resources announce
    /// with `ChildResourceType`, with up to `concurrency` pages in flight.
    /// Pages of one listing follow each other; different listings overlap.
    async fn sync_resources(
        &self,
        file: &C1zFile,
        sync_id: &str,
    ) -> Result<Vec<(String, usize)>, SyncError> {
        let mut waiting: VecDeque<Listing<Option<ResourceId>>> = self
            .syncers
            .iter()
            .map(|s| Listing::new(s.resource_type().id, None))
            .collect();
        let mut running = FuturesUnordered::new();
        let mut listed: HashSet<(String, String, String)> = HashSet::new();
        let mut counts: Vec<(String, usize)> = self
            .syncers
            .iter()
            .map(|s| (s.resource_type().id, 0))
            .collect();
        let mut buffer: Vec<Resource> = Vec::new();
        loop {
            while running.len() < self.concurrency {
                let Some(listing) = waiting.pop_front() else {
                    break;
                };
                running.push(self.fetch_resources(listing));
            }
            let Some((mut listing, page)) = running.next().await else {
                break;
            };
            let page = page?;
            let type_id = listing.type_id.clone();
            let trait_name = required_trait(&self.by_type[&type_id].1);
            for mut resource in page.items {
                let Some(id) = resource.id.as_ref() else {
                    continue;
                };
                if id.resource.is_empty() || id.resource_type != type_id {
                    warn!(resource_type = %type_id, "dropping a resource with no id or the wrong type");
                    continue;
                }
                if let Some(name) = trait_name {
                    if !resource
                        .annotations
                        .iter()
                        .any(|a| a.type_url.ends_with(name))
                    {
                        return Err(SyncError::MissingTrait {
                            resource_type: type_id.clone(),
                            resource: id.resource.clone(),
                            trait_name: name.rsplit('.').next().unwrap_or(name).into(),
                        });
                    }
                }
                fill_status_from_user_trait(&mut resource);
                for child in any::find_all::<ChildResourceType>(&resource.annotations) {
                    if !self.by_type.contains_key(&child.resource_type_id) {
                        continue;
                    }
                    let id = resource.id.clone().unwrap_or_default();
                    if listed.insert((
                        child.resource_type_id.clone(),
                        id.resource_type.clone(),
                        id.resource.clone(),
                    )) {
                        waiting.push_back(Listing::new(child.resource_type_id.clone(), Some(id)));
                    }
                }
                listing.count += 1;
                buffer.push(resource);
            }
            if buffer.len() >= WRITE_BATCH {
                file.put_resources(sync_id, &buffer)?;
                buffer.clear();
            }
            if !page.next_token.is_empty() {
                listing
                    .guard
                    .check("listing resources", &type_id, &page.next_token)?;
                listing.token = page.next_token;
                // Finish started listings first, so fewer of them are open at once.
                waiting.push_front(listing);
                continue;
            }
            bump(&mut counts, &type_id, listing.count);
            if let Some(p) = &listing.subject {
                tracing::debug!(resource_type = %type_id, parent = %format!("{}:{}", p.resource_type, p.resource), count = listing.count, "Synced child resources");
            }
        }
        file.put_resources(sync_id, &buffer)?;
        for (type_id, count) in &counts {
            info!(resource_type = %type_id, count, "Synced resources");
        }
        Ok(counts)
    }

    fn type_skips(&self, type_id: &str) -> (bool, bool) {
        let rt = &self.by_type[type_id].1;
        let all = any::contains::<SkipEntitlementsAndGrants>(&rt.annotations);
        (
            all || any::contains::<SkipEntitlements>(&rt.annotations),
            all,
        )
    }

    /// The listing of `phase` for a resource, unless its type or the
    /// resource itself opts out of that phase.
    fn listing_for(&self, phase: Phase, resource: Resource) -> Option<Listing<Resource>> {
        let type_id = resource
            .id
            .as_ref()
            .map(|i| i.resource_type.clone())
            .unwrap_or_default();
        if !self.by_type.contains_key(&type_id) {
            return None;
        }
        let (skip_entitlements, skip_all) = self.type_skips(&type_id);
        let skipped = match phase {
            Phase::Entitlements => {
                skip_entitlements || any::contains::<SkipEntitlements>(&resource.annotations)
            }
            Phase::Grants => skip_all || any::contains::<SkipGrants>(&resource.annotations),
        } || any::contains::<SkipEntitlementsAndGrants>(&resource.annotations);
        (!skipped).then(|| Listing::new(type_id, resource))
    }

    async fn fetch_rows(
        &self,
        phase: Phase,
        listing: Listing<Resource>,
    ) -> (Listing<Resource>, Result<(Rows, String), SyncError>) {
        let syncer = self.by_type[&listing.type_id].0.clone();
        let (resource, token) = (&listing.subject, &listing.token);
        let result = match phase {
            Phase::Entitlements => self
                .call(phase.name(), &listing.type_id, || {
                    syncer.entitlements(resource, token)
                })
                .await
                .map(|page| (Rows::Entitlements(page.items), page.next_token)),
            Phase::Grants => self
                .call(phase.name(), &listing.type_id, || {
                    syncer.grants(resource, token)
                })
                .await
                .map(|page| (Rows::Grants(page.items), page.next_token)),
        };
        (listing, result)
    }

    /// Lists the entitlements or grants of every synced resource, reading
    /// the resources from the database a chunk at a time, with up to
    /// `concurrency` pages in flight. Returns the rows written and whether
    /// any grant is expandable.
    async fn sync_rows(
        &self,
        file: &C1zFile,
        sync_id: &str,
        phase: Phase,
    ) -> Result<(usize, bool), SyncError> {
        let mut after = 0i64;
        let mut exhausted = false;
        let mut waiting: VecDeque<Listing<Resource>> = VecDeque::new();
        let mut running = FuturesUnordered::new();
        let mut entitlements: Vec<Entitlement> = Vec::new();
        let mut grants: Vec<Grant> = Vec::new();
        let (mut total, mut expandable) = (0usize, false);
        let mut per_type: Vec<(String, usize)> = Vec::new();
        loop {
            while running.len() < self.concurrency {
                if waiting.is_empty() && !exhausted {
                    let chunk = resources_after(file, sync_id, after, READ_CHUNK)?;
                    exhausted = chunk.len() < READ_CHUNK;
                    for (row_id, resource) in chunk {
                        after = row_id;
                        waiting.extend(self.listing_for(phase, resource));
                    }
                    continue;
                }
                let Some(listing) = waiting.pop_front() else {
                    break;
                };
                running.push(self.fetch_rows(phase, listing));
            }
            let Some((mut listing, result)) = running.next().await else {
                break;
            };
            let (rows, next_token) = result?;
            let kept = match rows {
                Rows::Entitlements(items) => {
                    let before = entitlements.len();
                    entitlements.extend(items.into_iter().filter(|e| {
                        let t = e
                            .resource
                            .as_ref()
                            .and_then(|r| r.id.as_ref())
                            .map(|i| i.resource_type.as_str())
                            .unwrap_or("");
                        self.by_type.contains_key(t)
                    }));
                    entitlements.len() - before
                }
                Rows::Grants(items) => {
                    let before = grants.len();
                    grants.extend(items.into_iter().filter(|g| self.grant_in_scope(g)));
                    expandable |= grants[before..]
                        .iter()
                        .any(|g| any::contains::<GrantExpandable>(&g.annotations));
                    grants.len() - before
                }
            };
            total += kept;
            bump(&mut per_type, &listing.type_id, kept);
            if entitlements.len() >= WRITE_BATCH {
                file.put_entitlements(sync_id, &entitlements)?;
                entitlements.clear();
            }
            if grants.len() >= WRITE_BATCH {
                file.put_grants(sync_id, &grants)?;
                grants.clear();
            }
            if !next_token.is_empty() {
                listing
                    .guard
                    .check(phase.name(), &listing.type_id, &next_token)?;
                listing.token = next_token;
                waiting.push_front(listing);
            }
        }
        file.put_entitlements(sync_id, &entitlements)?;
        file.put_grants(sync_id, &grants)?;
        let what = match phase {
            Phase::Entitlements => "Synced entitlements",
            Phase::Grants => "Synced grants",
        };
        for (type_id, count) in per_type {
            info!(resource_type = %type_id, count, "{what}");
        }
        Ok((total, expandable))
    }

    /// A grant is kept only when both its entitlement's resource type and its
    /// principal's type are part of this sync.
    fn grant_in_scope(&self, grant: &Grant) -> bool {
        let ent_type = grant
            .entitlement
            .as_ref()
            .and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref())
            .map(|i| i.resource_type.as_str());
        let principal_type = grant
            .principal
            .as_ref()
            .and_then(|p| p.id.as_ref())
            .map(|i| i.resource_type.as_str());
        matches!((ent_type, principal_type), (Some(e), Some(p)) if self.by_type.contains_key(e) && self.by_type.contains_key(p))
    }
}

fn bump(counts: &mut Vec<(String, usize)>, key: &str, by: usize) {
    match counts.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 += by,
        None => counts.push((key.to_string(), by)),
    }
}

/// The SDK copies a user's trait status into `Resource.status` when the
/// connector left the latter unset.
fn fill_status_from_user_trait(resource: &mut Resource) {
    if resource.status.is_some() {
        return;
    }
    if let Some(user) = any::find::<c1z::v2::UserTrait>(&resource.annotations) {
        if let Some(status) = user.status {
            resource.status = Some(c1z::v2::Status {
                status: status.status,
                details: status.details,
            });
        }
    }
}

/// Up to `limit` resources of a sync with row ids above `after`, in row order.
fn resources_after(
    file: &C1zFile,
    sync_id: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<(i64, Resource)>, SyncError> {
    let mut stmt = file
        .conn()
        .prepare_cached("SELECT id, external_id, data FROM v1_resources WHERE sync_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3")
        .map_err(c1z::Error::from)?;
    let mut rows = stmt
        .query(rusqlite::params![sync_id, after, limit as i64])
        .map_err(c1z::Error::from)?;
    let mut out = Vec::with_capacity(limit);
    while let Some(row) = rows.next().map_err(c1z::Error::from)? {
        let row_id: i64 = row.get(0).map_err(c1z::Error::from)?;
        let key: String = row.get(1).map_err(c1z::Error::from)?;
        let data: Vec<u8> = row.get(2).map_err(c1z::Error::from)?;
        let resource = Resource::decode(data.as_slice()).map_err(|source| c1z::Error::Decode {
            table: "v1_resources",
            id: key,
            source,
        })?;
        out.push((row_id, resource));
    }
    Ok(out)
}

/// Detects a listing that hands back a page token it already gave.
#[derive(Default)]
struct TokenGuard {
    seen: BTreeSet<String>,
}

impl TokenGuard {
    fn check(&mut self, phase: &'static str, rt: &str, token: &str) -> Result<(), SyncError> {
        if !self.seen.insert(token.to_string()) {
            return Err(SyncError::PageLoop {
                phase,
                resource_type: rt.into(),
                token: token.into(),
            });
        }
        Ok(())
    }
}
