//! The sync engine: drives every resource syncer of a connector and writes
//! what they return into a c1z.
//!
//! Phases, in the order of the Go SDK: resource types, resources (children
//! through `ChildResourceType` annotations), entitlements, grants, grant
//! expansion, end of sync, cleanup of old syncs, save. The c1z at the output
//! path is replaced only when every phase succeeded.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use c1z::any;
use c1z::v2::{
    ChildResourceType, Entitlement, Grant, GrantExpandable, Resource, ResourceId, ResourceType, SkipEntitlements,
    SkipEntitlementsAndGrants, SkipGrants,
};
use c1z::C1zFile;
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
    /// First retry delay; later retries wait longer.
    pub retry_delay: Duration,
}

impl SyncOptions {
    /// Options with the defaults of the Go SDK and environment overrides.
    pub fn from_env() -> Self {
        SyncOptions {
            keep_syncs: c1z::store::keep_sync_count(),
            skip_cleanup: std::env::var("BATON_SKIP_CLEANUP").is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "True")),
            max_attempts: 5,
            retry_delay: Duration::from_secs(1),
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
    Connector { phase: &'static str, resource_type: String, source: ConnectorError },

    #[error("{phase} of resource type {resource_type} returned the page token {token:?} twice; the listing would never end, so the sync stops here")]
    PageLoop { phase: &'static str, resource_type: String, token: String },

    #[error("resource {resource} of type {resource_type} is missing the {trait_name} annotation its type requires")]
    MissingTrait { resource_type: String, resource: String, trait_name: String },

    #[error("connector check failed: {0}")]
    Validate(ConnectorError),

    #[error("unknown resource type in --sync-resource-types: {0}; known types are {1}")]
    UnknownType(String, String),

    #[error("grant expansion failed: {0}")]
    Expansion(String),
}

/// Runs a full sync of `connector` into the c1z at `path`.
pub async fn run_sync(connector: &dyn Connector, path: &Path, options: &SyncOptions) -> Result<SyncSummary, SyncError> {
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

    let mut summary = SyncSummary { resource_types: types.len(), resources_by_type, ..Default::default() };
    if !options.skip_entitlements_and_grants {
        info!("Syncing entitlements...");
        summary.entitlements = engine.sync_entitlements(&file, &sync_id).await?;
        info!("Syncing grants...");
        let (grants, expandable) = engine.sync_grants(&file, &sync_id).await?;
        summary.grants = grants;
        file.set_supports_diff(&sync_id)?;
        if expandable {
            info!("Expanding grants...");
            let report = expand::expand_grants(&file, &sync_id).map_err(|e| SyncError::Expansion(e.to_string()))?;
            summary.expanded_grants = report.created;
            summary.grants += report.created;
        }
    }
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

struct Engine {
    syncers: Vec<Arc<dyn ResourceSyncer>>,
    by_type: HashMap<String, (Arc<dyn ResourceSyncer>, ResourceType)>,
    max_attempts: u32,
    retry_delay: Duration,
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
            .filter(|s| options.resource_types.is_empty() || options.resource_types.contains(&s.resource_type().id))
            .collect();
        let by_type = syncers.iter().map(|s| (s.resource_type().id, (s.clone(), s.resource_type()))).collect();
        Ok(Engine { syncers, by_type, max_attempts: options.max_attempts.max(1), retry_delay: options.retry_delay })
    }

    async fn call<T, F, Fut>(&self, phase: &'static str, rt: &str, mut f: F) -> Result<Page<T>, SyncError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Page<T>, ConnectorError>>,
    {
        let mut attempt = 1;
        loop {
            match f().await {
                Ok(page) => return Ok(page),
                Err(e) if e.is_retryable() && attempt < self.max_attempts => {
                    let wait = (self.retry_delay * attempt).min(Duration::from_secs(60));
                    warn!(resource_type = rt, phase, attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying after a transient error");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(source) => return Err(SyncError::Connector { phase, resource_type: rt.into(), source }),
            }
        }
    }

    async fn sync_resources(&self, file: &C1zFile, sync_id: &str) -> Result<Vec<(String, usize)>, SyncError> {
        let mut queue: std::collections::VecDeque<(String, Option<ResourceId>)> =
            self.syncers.iter().map(|s| (s.resource_type().id, None)).collect();
        let mut listed: HashSet<(String, String, String)> = HashSet::new();
        let mut counts: Vec<(String, usize)> = self.syncers.iter().map(|s| (s.resource_type().id, 0)).collect();
        while let Some((type_id, parent)) = queue.pop_front() {
            let (syncer, rt) = &self.by_type[&type_id];
            let trait_name = required_trait(rt);
            let mut guard = TokenGuard::default();
            let mut token = String::new();
            let mut listed_here = 0usize;
            loop {
                let page = self.call("listing resources", &type_id, || syncer.list(parent.as_ref(), &token)).await?;
                let mut resources = Vec::with_capacity(page.items.len());
                for mut resource in page.items {
                    let Some(id) = resource.id.as_ref() else { continue };
                    if id.resource.is_empty() || id.resource_type != type_id {
                        warn!(resource_type = %type_id, "dropping a resource with no id or the wrong type");
                        continue;
                    }
                    if let Some(name) = trait_name {
                        if !resource.annotations.iter().any(|a| a.type_url.ends_with(name)) {
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
                        if listed.insert((child.resource_type_id.clone(), id.resource_type.clone(), id.resource.clone())) {
                            queue.push_back((child.resource_type_id.clone(), Some(id)));
                        }
                    }
                    resources.push(resource);
                }
                listed_here += resources.len();
                file.put_resources(sync_id, &resources)?;
                if page.next_token.is_empty() {
                    break;
                }
                guard.check("listing resources", &type_id, &page.next_token)?;
                token = page.next_token;
            }
            if let Some(entry) = counts.iter_mut().find(|(t, _)| *t == type_id) {
                entry.1 += listed_here;
            }
            match &parent {
                None => info!(resource_type = %type_id, count = listed_here, "Synced resources"),
                Some(p) => tracing::debug!(resource_type = %type_id, parent = %format!("{}:{}", p.resource_type, p.resource), count = listed_here, "Synced child resources"),
            }
        }
        Ok(counts)
    }

    fn type_skips(&self, type_id: &str) -> (bool, bool) {
        let rt = &self.by_type[type_id].1;
        let all = any::contains::<SkipEntitlementsAndGrants>(&rt.annotations);
        (all || any::contains::<SkipEntitlements>(&rt.annotations), all)
    }

    async fn sync_entitlements(&self, file: &C1zFile, sync_id: &str) -> Result<usize, SyncError> {
        let mut total = 0;
        let mut per_type: Vec<(String, usize)> = Vec::new();
        for resource in file.resources(sync_id)? {
            let type_id = resource.id.as_ref().map(|i| i.resource_type.clone()).unwrap_or_default();
            let Some((syncer, _)) = self.by_type.get(&type_id) else { continue };
            let (skip_type, _) = self.type_skips(&type_id);
            if skip_type
                || any::contains::<SkipEntitlementsAndGrants>(&resource.annotations)
                || any::contains::<SkipEntitlements>(&resource.annotations)
            {
                continue;
            }
            let mut guard = TokenGuard::default();
            let mut token = String::new();
            loop {
                let page = self.call("listing entitlements", &type_id, || syncer.entitlements(&resource, &token)).await?;
                let kept: Vec<Entitlement> = page
                    .items
                    .into_iter()
                    .filter(|e| {
                        let t = e.resource.as_ref().and_then(|r| r.id.as_ref()).map(|i| i.resource_type.as_str()).unwrap_or("");
                        self.by_type.contains_key(t)
                    })
                    .collect();
                total += kept.len();
                bump(&mut per_type, &type_id, kept.len());
                file.put_entitlements(sync_id, &kept)?;
                if page.next_token.is_empty() {
                    break;
                }
                guard.check("listing entitlements", &type_id, &page.next_token)?;
                token = page.next_token;
            }
        }
        for (type_id, count) in per_type {
            info!(resource_type = %type_id, count, "Synced entitlements");
        }
        Ok(total)
    }

    async fn sync_grants(&self, file: &C1zFile, sync_id: &str) -> Result<(usize, bool), SyncError> {
        let mut total = 0;
        let mut expandable = false;
        let mut per_type: Vec<(String, usize)> = Vec::new();
        for resource in file.resources(sync_id)? {
            let type_id = resource.id.as_ref().map(|i| i.resource_type.clone()).unwrap_or_default();
            let Some((syncer, _)) = self.by_type.get(&type_id) else { continue };
            let (_, skip_all) = self.type_skips(&type_id);
            if skip_all
                || any::contains::<SkipEntitlementsAndGrants>(&resource.annotations)
                || any::contains::<SkipGrants>(&resource.annotations)
            {
                continue;
            }
            let mut guard = TokenGuard::default();
            let mut token = String::new();
            loop {
                let page = self.call("listing grants", &type_id, || syncer.grants(&resource, &token)).await?;
                let kept: Vec<Grant> = page.items.into_iter().filter(|g| self.grant_in_scope(g)).collect();
                expandable |= kept.iter().any(|g| any::contains::<GrantExpandable>(&g.annotations));
                total += kept.len();
                bump(&mut per_type, &type_id, kept.len());
                file.put_grants(sync_id, &kept)?;
                if page.next_token.is_empty() {
                    break;
                }
                guard.check("listing grants", &type_id, &page.next_token)?;
                token = page.next_token;
            }
        }
        for (type_id, count) in per_type {
            info!(resource_type = %type_id, count, "Synced grants");
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
        let principal_type = grant.principal.as_ref().and_then(|p| p.id.as_ref()).map(|i| i.resource_type.as_str());
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
            resource.status = Some(c1z::v2::Status { status: status.status, details: status.details });
        }
    }
}

/// Detects a listing that hands back a page token it already gave.
#[derive(Default)]
struct TokenGuard {
    seen: BTreeSet<String>,
}

impl TokenGuard {
    fn check(&mut self, phase: &'static str, rt: &str, token: &str) -> Result<(), SyncError> {
        if !self.seen.insert(token.to_string()) {
            return Err(SyncError::PageLoop { phase, resource_type: rt.into(), token: token.into() });
        }
        Ok(())
    }
}
