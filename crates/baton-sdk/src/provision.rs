//! Provisioning: the traits a connector implements to grant, revoke, create
//! accounts and delete resources, the one-shot runner that reads the c1z at
//! `--file` and calls them, and the audit log each completed action is
//! appended to.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use c1z::any;
use c1z::v2::{Entitlement, Grant, Resource, ResourceId};
use c1z::C1zFile;
use prost_types::Struct;
use serde::Serialize;
use tracing::{info, warn};

use crate::connector::{ConnectorError, ErrorKind};

/// What a grant or revoke did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The change was made.
    Done,
    /// Nothing to do: the grant already existed, or was already gone.
    AlreadyDone,
}

/// The result of a grant or revoke.
#[derive(Debug, Clone)]
pub struct Change {
    pub outcome: Outcome,
    /// The grants as they now exist (grant only).
    pub grants: Vec<Grant>,
    /// AWS request ids of the calls that made the change.
    pub request_ids: Vec<String>,
    /// Anything the operator should know, such as a check that could not be made.
    pub note: Option<String>,
}

impl Change {
    pub fn done(grants: Vec<Grant>, request_ids: Vec<String>) -> Self {
        Change {
            outcome: Outcome::Done,
            grants,
            request_ids,
            note: None,
        }
    }

    pub fn already(grants: Vec<Grant>) -> Self {
        Change {
            outcome: Outcome::AlreadyDone,
            grants,
            request_ids: Vec::new(),
            note: None,
        }
    }
}

/// Grants and revokes the entitlements of one resource type.
#[async_trait]
pub trait GrantManager: Send + Sync {
    async fn grant(
        &self,
        principal: &Resource,
        entitlement: &Entitlement,
    ) -> Result<Change, ConnectorError>;
    async fn revoke(&self, grant: &Grant) -> Result<Change, ConnectorError>;
}

/// The account details a create-account request carries.
#[derive(Debug, Clone, Default)]
pub struct AccountInfo {
    pub login: String,
    pub emails: Vec<String>,
    pub profile: Struct,
}

/// The result of an account creation.
#[derive(Debug, Clone)]
pub struct CreatedAccount {
    pub resource: Resource,
    pub already_existed: bool,
    pub request_ids: Vec<String>,
}

/// Creates accounts (users) of one resource type.
#[async_trait]
pub trait AccountManager: Send + Sync {
    async fn create_account(&self, info: &AccountInfo) -> Result<CreatedAccount, ConnectorError>;
}

/// Deletes resources of one resource type. `Outcome::AlreadyDone` means it did not exist.
#[async_trait]
pub trait ResourceDeleter: Send + Sync {
    async fn delete(
        &self,
        resource: &ResourceId,
        parent: Option<&ResourceId>,
    ) -> Result<Change, ConnectorError>;
}

/// The provisioning side of a connector.
pub trait Provisioner: Send + Sync {
    fn grant_manager(&self, resource_type: &str) -> Option<Arc<dyn GrantManager>>;
    fn account_manager(&self, resource_type: &str) -> Option<Arc<dyn AccountManager>>;
    fn resource_deleter(&self, resource_type: &str) -> Option<Arc<dyn ResourceDeleter>>;
}

/// One line of the audit log.
#[derive(Debug, Default, Serialize)]
pub struct AuditRecord<'a> {
    pub time: String,
    pub action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entitlement: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub outcome: &'a str,
    pub request_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why the access was requested (`--grant-reason`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When a just-in-time grant expires (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// Appends records to a JSON-lines audit file, if one is configured.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    path: Option<PathBuf>,
}

impl AuditLog {
    pub fn new(path: Option<PathBuf>) -> Self {
        AuditLog { path }
    }

    /// Appends one record and flushes it to disk. A failure to write is an
    /// error: an action that cannot be recorded must not pass silently.
    pub fn append(&self, record: &AuditRecord<'_>) -> Result<(), ProvisionError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let line = serde_json::to_string(record).expect("audit record serializes");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| ProvisionError::Audit(path.clone(), e))?;
        writeln!(file, "{line}")
            .and_then(|_| file.sync_data())
            .map_err(|e| ProvisionError::Audit(path.clone(), e))
    }
}

/// Why a one-shot provisioning action failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    File(#[from] c1z::Error),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{action} failed: {source}")]
    Connector {
        action: &'static str,
        source: ConnectorError,
    },
    #[error("could not append to the audit log {0}: {1}")]
    Audit(PathBuf, std::io::Error),
}

/// Retry policy for provisioning calls: only transient errors are retried.
#[derive(Debug, Clone)]
pub struct Retry {
    pub attempts: u32,
    pub delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 3,
            delay: Duration::from_secs(5),
        }
    }
}

async fn with_retry<T, F, Fut>(
    retry: &Retry,
    action: &'static str,
    mut f: F,
) -> Result<T, ProvisionError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ConnectorError>>,
{
    let mut attempt = 1;
    loop {
        match f().await {
            Ok(value) => return Ok(value),
            Err(e) if e.kind == ErrorKind::Unavailable && attempt < retry.attempts => {
                let wait = retry.delay * attempt;
                warn!(action, attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying after a transient error");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(source) => return Err(ProvisionError::Connector { action, source }),
        }
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn rid_text(id: &ResourceId) -> String {
    format!("{}:{}", id.resource_type, id.resource)
}

/// Reads the c1z that provisioning works from, and the sync to look in.
fn open(path: &Path) -> Result<(C1zFile, String), ProvisionError> {
    let file = C1zFile::open_read(path)?;
    let sync = file.view_sync(None)?.sync_id;
    Ok((file, sync))
}

/// An entitlement from the c1z with its resource as stored.
fn load_entitlement(file: &C1zFile, sync: &str, id: &str) -> Result<Entitlement, ProvisionError> {
    let mut entitlement = file.entitlement(sync, id)?.ok_or_else(|| {
        ProvisionError::NotFound(format!(
            "entitlement {id:?} is not in {}; sync first, or check the id",
            file.path().display()
        ))
    })?;
    if let Some(rid) = entitlement.resource.as_ref().and_then(|r| r.id.clone()) {
        if let Some(stored) = file.resource(sync, &rid.resource_type, &rid.resource)? {
            entitlement.resource = Some(stored);
        }
    }
    Ok(entitlement)
}

/// What to record with a grant: why it was requested, and when it expires.
#[derive(Debug, Clone, Default)]
pub struct GrantContext {
    pub reason: Option<String>,
    pub expires_at: Option<String>,
}

/// The one-shot `--grant-entitlement` mode. Returns the change and the grant
/// as it would be revoked (the stored entitlement and the principal).
#[allow(clippy::too_many_arguments)]
pub async fn grant(
    provisioner: &dyn Provisioner,
    path: &Path,
    entitlement_id: &str,
    principal_type: &str,
    principal_id: &str,
    context: &GrantContext,
    audit: &AuditLog,
    retry: &Retry,
) -> Result<(Change, Grant), ProvisionError> {
    let (file, sync) = open(path)?;
    let entitlement = load_entitlement(&file, &sync, entitlement_id)?;
    let principal = file.resource(&sync, principal_type, principal_id)?.ok_or_else(|| {
        ProvisionError::NotFound(format!(
            "principal {principal_type}:{principal_id} is not in {}; sync first, or check --grant-principal-type and --grant-principal",
            path.display()
        ))
    })?;
    let resource_type = entitlement
        .resource
        .as_ref()
        .and_then(|r| r.id.as_ref())
        .map(|i| i.resource_type.clone())
        .unwrap_or_default();
    let manager = provisioner.grant_manager(&resource_type).ok_or_else(|| {
        ProvisionError::Unsupported(format!("resource type {resource_type} does not have provisioner configured: its entitlements cannot be granted"))
    })?;
    let principal_text = format!("{principal_type}:{principal_id}");
    let result = with_retry(retry, "grant", || manager.grant(&principal, &entitlement)).await;
    record(
        audit,
        "grant",
        Some(entitlement_id),
        Some(principal_text.clone()),
        None,
        &result,
        context,
    )?;
    let change = result?;
    let subject = Grant {
        id: change
            .grants
            .first()
            .map(|g| g.id.clone())
            .unwrap_or_else(|| {
                crate::types::grant_id(
                    entitlement_id,
                    principal.id.as_ref().expect("stored resources have ids"),
                )
            }),
        entitlement: Some(entitlement.clone()),
        principal: Some(Resource {
            id: principal.id.clone(),
            ..Default::default()
        }),
        annotations: Vec::new(),
        sources: None,
    };
    match change.outcome {
        Outcome::Done => {
            info!(entitlement = entitlement_id, principal = %principal_text, "granted")
        }
        Outcome::AlreadyDone => {
            info!(entitlement = entitlement_id, principal = %principal_text, "already granted; nothing changed")
        }
    }
    Ok((change, subject))
}

/// The one-shot `--revoke-grant` mode.
pub async fn revoke(
    provisioner: &dyn Provisioner,
    path: &Path,
    grant_id: &str,
    audit: &AuditLog,
    retry: &Retry,
) -> Result<Change, ProvisionError> {
    let (file, sync) = open(path)?;
    let mut grant = file.grant(&sync, grant_id)?.ok_or_else(|| {
        ProvisionError::NotFound(format!(
            "grant {grant_id:?} is not in {}; sync first, or check the id",
            path.display()
        ))
    })?;
    let entitlement_id = grant
        .entitlement
        .as_ref()
        .map(|e| e.id.clone())
        .unwrap_or_default();
    if let Ok(stored) = load_entitlement(&file, &sync, &entitlement_id) {
        grant.entitlement = Some(stored);
    } else if let Some(rid) = grant
        .entitlement
        .as_ref()
        .and_then(|e| e.resource.as_ref())
        .and_then(|r| r.id.clone())
    {
        if let (Some(stored), Some(entitlement)) = (
            file.resource(&sync, &rid.resource_type, &rid.resource)?,
            grant.entitlement.as_mut(),
        ) {
            entitlement.resource = Some(stored);
        }
    }
    let principal = grant
        .principal
        .as_ref()
        .and_then(|p| p.id.as_ref())
        .map(rid_text);
    let resource_type = grant
        .entitlement
        .as_ref()
        .and_then(|e| e.resource.as_ref())
        .and_then(|r| r.id.as_ref())
        .map(|i| i.resource_type.clone())
        .unwrap_or_default();
    let manager = provisioner.grant_manager(&resource_type).ok_or_else(|| {
        ProvisionError::Unsupported(format!("resource type {resource_type} does not have provisioner configured: its grants cannot be revoked"))
    })?;
    let result = with_retry(retry, "revoke", || manager.revoke(&grant)).await;
    record(
        audit,
        "revoke",
        Some(&entitlement_id),
        principal.clone(),
        None,
        &result,
        &GrantContext::default(),
    )?;
    let change = result?;
    match change.outcome {
        Outcome::Done => info!(grant = grant_id, "revoked"),
        Outcome::AlreadyDone => info!(grant = grant_id, "already revoked; nothing changed"),
    }
    Ok(change)
}

/// The one-shot `--create-account-*` mode.
pub async fn create_account(
    provisioner: &dyn Provisioner,
    resource_type: &str,
    info: &AccountInfo,
    audit: &AuditLog,
    retry: &Retry,
) -> Result<CreatedAccount, ProvisionError> {
    let manager = provisioner.account_manager(resource_type).ok_or_else(|| {
        ProvisionError::Unsupported(format!("resource type {resource_type} does not support account creation; use iam_user or sso_user"))
    })?;
    let result = with_retry(retry, "create account", || manager.create_account(info)).await;
    let (outcome, resource, ids, message) = match &result {
        Ok(created) => (
            if created.already_existed {
                "already_exists"
            } else {
                "created"
            },
            created.resource.id.as_ref().map(rid_text),
            created.request_ids.clone(),
            None,
        ),
        Err(e) => ("failed", None, Vec::new(), Some(e.to_string())),
    };
    audit.append(&AuditRecord {
        time: now(),
        action: "create_account",
        entitlement: None,
        principal: None,
        resource: resource.or_else(|| Some(format!("{resource_type}:{}", info.login))),
        outcome,
        request_ids: ids,
        message,
        ..Default::default()
    })?;
    result
}

/// The one-shot `--delete-resource` mode. The parent comes from the c1z when the resource is there.
pub async fn delete_resource(
    provisioner: &dyn Provisioner,
    path: &Path,
    resource: &ResourceId,
    audit: &AuditLog,
    retry: &Retry,
) -> Result<Change, ProvisionError> {
    let parent = match C1zFile::open_read(path) {
        Ok(file) => match file.view_sync(None) {
            Ok(run) => file
                .resource(&run.sync_id, &resource.resource_type, &resource.resource)?
                .and_then(|r| r.parent_resource_id),
            Err(_) => None,
        },
        Err(_) => None,
    };
    let deleter = provisioner
        .resource_deleter(&resource.resource_type)
        .ok_or_else(|| {
            ProvisionError::Unsupported(format!(
                "resource type {} cannot be deleted; use iam_user or sso_user",
                resource.resource_type
            ))
        })?;
    let result = with_retry(retry, "delete resource", || {
        deleter.delete(resource, parent.as_ref())
    })
    .await;
    record(
        audit,
        "delete_resource",
        None,
        None,
        Some(rid_text(resource)),
        &result,
        &GrantContext::default(),
    )?;
    result
}

fn record(
    audit: &AuditLog,
    action: &'static str,
    entitlement: Option<&str>,
    principal: Option<String>,
    resource: Option<String>,
    result: &Result<Change, ProvisionError>,
    context: &GrantContext,
) -> Result<(), ProvisionError> {
    let (outcome, ids, message) = match result {
        Ok(change) => {
            let outcome = match (action, &change.outcome) {
                ("grant", Outcome::Done) => "granted",
                ("grant", Outcome::AlreadyDone) => "already_granted",
                ("revoke", Outcome::Done) => "revoked",
                ("revoke", Outcome::AlreadyDone) => "already_revoked",
                (_, Outcome::Done) => "deleted",
                (_, Outcome::AlreadyDone) => "did_not_exist",
            };
            (outcome, change.request_ids.clone(), change.note.clone())
        }
        Err(e) => ("failed", Vec::new(), Some(e.to_string())),
    };
    audit.append(&AuditRecord {
        time: now(),
        action,
        entitlement,
        principal,
        resource,
        outcome,
        request_ids: ids,
        message,
        reason: context.reason.clone(),
        expires_at: context.expires_at.clone(),
    })
}

/// Whether a grant was made by grant expansion rather than stored by the connector.
pub fn is_expanded(grant: &Grant) -> bool {
    any::contains::<c1z::v2::GrantImmutable>(&grant.annotations)
}
