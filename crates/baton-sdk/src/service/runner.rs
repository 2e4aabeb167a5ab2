//! The service loop: Hello, then GetTask polling with a bounded number of
//! tasks in flight, each task handled and finished with FinishTask.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use c1z::any;
use c1z::pb::c1::connectorapi::baton::v1 as baton;
use c1z::pb::google::rpc::Status as RpcStatus;
use c1z::v2::{ConnectorMetadata, GrantAlreadyExists, GrantAlreadyRevoked, ResourceDoesNotExist};
use prost_types::Any;
use tokio::sync::{watch, Semaphore};
use tracing::{debug, error, info, warn};

use super::api::Api;
use super::health::HealthState;
use super::ServiceError;
use crate::connector::{Connector, ConnectorError, ErrorKind};
use crate::provision::{AccountInfo, GrantManager, Outcome, Provisioner};
use crate::sync::{run_sync, SyncOptions};

use baton::task::TaskType;

/// Settings of the service loop.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Tasks worked at once.
    pub task_concurrency: usize,
    /// Answer sync tasks with an empty finished sync.
    pub skip_full_sync: bool,
    /// Serve grant, revoke, create-account and delete tasks.
    pub provisioning: bool,
    /// Options of every full sync.
    pub sync: SyncOptions,
    /// Directory for sync files before upload (default: the system temporary directory).
    pub temp_dir: Option<PathBuf>,
    /// The connector's name and version for Hello.
    pub package: String,
    pub version: String,
    /// The just-in-time state file: grant tasks with a duration are recorded
    /// there, and expired grants are revoked every `jit_interval`.
    pub jit_state: Option<PathBuf>,
    pub jit_interval: Duration,
    /// Where provisioning actions are recorded.
    pub audit: crate::provision::AuditLog,
}

/// Builds a fresh connector (and its provisioners) for each task, so that
/// no cache or snapshot of one sync leaks into the next.
pub trait ConnectorFactory: Send + Sync {
    fn build(&self) -> (Arc<dyn Connector>, Option<Arc<dyn Provisioner>>);
}

/// Everything a task handler needs.
pub struct Service {
    pub api: Arc<Api>,
    pub factory: Arc<dyn ConnectorFactory>,
    pub metadata: ConnectorMetadata,
    pub options: ServiceOptions,
    pub health: Arc<HealthState>,
}

/// gRPC codes used in FinishTask statuses.
fn code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Unavailable => 14,
        ErrorKind::InvalidArgument => 3,
        ErrorKind::PermissionDenied => 7,
        ErrorKind::Unauthenticated => 16,
        ErrorKind::NotFound => 5,
        ErrorKind::Unimplemented => 12,
        ErrorKind::FailedPrecondition => 9,
        ErrorKind::Internal => 13,
    }
}

const CANCELLED: i32 = 1;

/// Hello is retried forever with growing waits, except for errors that
/// another attempt cannot fix.
fn hello_is_final(e: &ServiceError) -> bool {
    match e {
        ServiceError::Rpc { status, .. } => matches!(
            status.code(),
            tonic::Code::Unauthenticated
                | tonic::Code::PermissionDenied
                | tonic::Code::InvalidArgument
                | tonic::Code::Unimplemented
                | tonic::Code::FailedPrecondition
                | tonic::Code::NotFound
        ),
        ServiceError::InvalidClientId | ServiceError::InvalidClientSecret(_) => true,
        _ => false,
    }
}

fn clamp(
    duration: Option<&prost_types::Duration>,
    default: Duration,
    min: Duration,
    max: Duration,
) -> Duration {
    match duration {
        Some(d) if d.seconds > 0 || d.nanos > 0 => {
            Duration::new(d.seconds.max(0) as u64, d.nanos.max(0) as u32).clamp(min, max)
        }
        _ => default,
    }
}

impl Service {
    fn hello_request(&self, task_id: &str) -> baton::BatonServiceHelloRequest {
        use baton::baton_service_hello_request::{BuildInfo, OsInfo};
        let hostname = hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "unknown".into());
        baton::BatonServiceHelloRequest {
            host_id: self.api.host_id.clone(),
            task_id: task_id.into(),
            build_info: Some(BuildInfo {
                lang_version: "rust".into(),
                package: self.options.package.clone(),
                package_version: self.options.version.clone(),
            }),
            os_info: Some(OsInfo {
                hostname,
                os: std::env::consts::OS.into(),
                platform: std::env::consts::OS.into(),
                platform_version: "unknown".into(),
                platform_family: std::env::consts::FAMILY.into(),
                kernel_version: "unknown".into(),
                kernel_arch: std::env::consts::ARCH.into(),
                virtualization_system: "none".into(),
            }),
            connector_metadata: Some(self.metadata.clone()),
            annotations: Vec::new(),
        }
    }

    /// Sends the startup Hello, retrying transient failures.
    async fn startup(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), ServiceError> {
        let mut wait = Duration::from_secs(1);
        loop {
            match self.api.hello(self.hello_request("")).await {
                Ok(()) => return Ok(()),
                Err(e) if hello_is_final(&e) => return Err(ServiceError::Hello(e.to_string())),
                Err(e) => {
                    warn!(error = %e, retry_in_s = wait.as_secs(), "startup Hello failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => return Err(ServiceError::Hello("shut down before Hello succeeded".into())),
                    }
                    wait = (wait * 2).min(Duration::from_secs(300));
                }
            }
        }
    }

    /// Runs until `shutdown` turns true: Hello, then the task loop. Tasks in
    /// flight at shutdown are cancelled and reported as cancelled.
    pub async fn run(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), ServiceError> {
        self.startup(&mut shutdown).await?;
        self.health.ready.store(true, Ordering::Relaxed);
        info!(host_id = %self.api.host_id, "connected to ConductorOne; waiting for tasks");
        if let (true, Some(state)) = (self.options.provisioning, self.options.jit_state.clone()) {
            let service = self.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(service.options.jit_interval) => {}
                        _ = stop.changed() => return,
                    }
                    // The state file is an SQLite connection, which stays on one thread.
                    let (pass, path, handle) = (
                        service.clone(),
                        state.clone(),
                        tokio::runtime::Handle::current(),
                    );
                    let _ = tokio::task::spawn_blocking(move || {
                        handle.block_on(pass.revoke_expired(&path))
                    })
                    .await;
                }
            });
        }
        let slots = Arc::new(Semaphore::new(self.options.task_concurrency.max(1)));
        let mut errors: u32 = 0;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("semaphore open"),
                _ = shutdown.changed() => break,
            };
            let wait = match self.api.get_task().await {
                Ok(response) => {
                    errors = 0;
                    self.health.polling.store(true, Ordering::Relaxed);
                    let next_poll = clamp(
                        response.next_poll.as_ref(),
                        Duration::from_secs(1),
                        Duration::from_millis(100),
                        Duration::from_secs(300),
                    );
                    match response.task {
                        Some(task) if !matches!(task.task_type, None | Some(TaskType::None(_))) => {
                            let service = self.clone();
                            let cancel = shutdown.clone();
                            tokio::spawn(async move {
                                service.handle(task, cancel).await;
                                drop(permit);
                            });
                            next_poll.min(Duration::from_millis(100))
                        }
                        _ => next_poll,
                    }
                }
                Err(e) => {
                    errors += 1;
                    self.health.polling.store(false, Ordering::Relaxed);
                    let wait =
                        Duration::from_secs((errors * errors) as u64).min(Duration::from_secs(60));
                    warn!(error = %e, consecutive_errors = errors, retry_in_s = wait.as_secs(), "GetTask failed; retrying");
                    wait
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => break,
            }
        }
        info!("shutting down: waiting for tasks in flight to report");
        let total = self.options.task_concurrency.max(1) as u32;
        let _ = tokio::time::timeout(Duration::from_secs(25), slots.acquire_many(total)).await;
        Ok(())
    }

    async fn handle(&self, task: baton::Task, cancel: watch::Receiver<bool>) {
        let id = task.id.clone();
        let kind = task_name(task.task_type.as_ref());
        info!(task_id = %id, task = kind, "task started");
        let result = match task.task_type {
            Some(TaskType::Hello(_)) => {
                if let Err(e) = self.api.hello(self.hello_request(&id)).await {
                    error!(task_id = %id, error = %e, "Hello task failed");
                }
                return;
            }
            Some(TaskType::SyncFull(sync)) => match self.sync(&id, sync, cancel).await {
                Ok(()) => Ok(None),
                Err(TaskError::NoFinish(message)) => {
                    error!(task_id = %id, error = %message, "sync task abandoned");
                    return;
                }
                Err(e) => Err(e),
            },
            Some(TaskType::Grant(_) | TaskType::Revoke(_) | TaskType::CreateAccount(_) | TaskType::DeleteResource(_)) if !self.options.provisioning => {
                Err(TaskError::Connector(ConnectorError::new(
                    ErrorKind::FailedPrecondition,
                    "provisioning is not enabled; start the connector with --provisioning to grant and revoke",
                )))
            }
            Some(TaskType::Grant(grant)) => self.grant(grant).await,
            Some(TaskType::Revoke(revoke)) => self.revoke(revoke).await,
            Some(TaskType::CreateAccount(create)) => self.create_account(create).await,
            Some(TaskType::DeleteResource(delete)) => self.delete(delete).await,
            _ => Err(TaskError::Connector(ConnectorError::new(ErrorKind::Unimplemented, format!("unsupported task type {kind}")))),
        };
        let finish = match result {
            Ok(response) => {
                info!(task_id = %id, task = kind, "task finished");
                baton::BatonServiceFinishTaskRequest {
                    host_id: self.api.host_id.clone(),
                    task_id: id.clone(),
                    status: None,
                    final_state: Some(
                        baton::baton_service_finish_task_request::FinalState::Success(
                            baton::baton_service_finish_task_request::Success {
                                annotations: Vec::new(),
                                response,
                            },
                        ),
                    ),
                }
            }
            Err(e) => {
                let (status_code, message, non_retryable) = match &e {
                    TaskError::Connector(c) => (
                        code(c.kind),
                        c.message.clone(),
                        c.kind != ErrorKind::Unavailable,
                    ),
                    TaskError::Cancelled(m) => (CANCELLED, m.clone(), false),
                    TaskError::Other(m) => (13, m.clone(), false),
                    TaskError::NoFinish(m) => (13, m.clone(), false),
                };
                warn!(task_id = %id, task = kind, error = %message, "task failed");
                baton::BatonServiceFinishTaskRequest {
                    host_id: self.api.host_id.clone(),
                    task_id: id.clone(),
                    status: Some(RpcStatus {
                        code: status_code,
                        message,
                        details: Vec::new(),
                    }),
                    final_state: Some(baton::baton_service_finish_task_request::FinalState::Error(
                        baton::baton_service_finish_task_request::Error {
                            non_retryable,
                            annotations: Vec::new(),
                            response: None,
                        },
                    )),
                }
            }
        };
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=5 {
            match self.api.finish_task(finish.clone()).await {
                Ok(()) => return,
                Err(e) => {
                    warn!(task_id = %id, attempt, error = %e, "FinishTask failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
        error!(task_id = %id, "could not report the task's result to ConductorOne");
    }

    async fn sync(
        &self,
        task_id: &str,
        task: baton::task::SyncFullTask,
        mut cancel: watch::Receiver<bool>,
    ) -> Result<(), TaskError> {
        let dir = match &self.options.temp_dir {
            Some(d) => tempfile::Builder::new()
                .prefix("baton-sdk-sync-upload")
                .tempdir_in(d),
            None => tempfile::Builder::new()
                .prefix("baton-sdk-sync-upload")
                .tempdir(),
        }
        .map_err(|e| TaskError::Other(format!("cannot create a temporary directory: {e}")))?;
        let path = dir.path().join("sync.c1z");

        let first = self
            .api
            .heartbeat(task_id)
            .await
            .map_err(|e| TaskError::NoFinish(format!("the first heartbeat failed: {e}")))?;
        if first.cancelled {
            return Err(TaskError::Cancelled(
                "the task was cancelled by ConductorOne".into(),
            ));
        }
        let (cancel_sender, mut cancelled) = watch::channel(None::<String>);
        let heartbeat = {
            let api = self.api.clone();
            let task_id = task_id.to_string();
            let mut every = clamp(
                first.next_heartbeat.as_ref(),
                Duration::from_secs(30),
                Duration::from_secs(1),
                Duration::from_secs(300),
            );
            tokio::spawn(async move {
                let mut failures = 0;
                loop {
                    tokio::time::sleep(every).await;
                    match api.heartbeat(&task_id).await {
                        Ok(response) if response.cancelled => {
                            let _ = cancel_sender
                                .send(Some("the task was cancelled by ConductorOne".into()));
                            return;
                        }
                        Ok(response) => {
                            failures = 0;
                            every = clamp(
                                response.next_heartbeat.as_ref(),
                                Duration::from_secs(30),
                                Duration::from_secs(1),
                                Duration::from_secs(300),
                            );
                        }
                        Err(e) => {
                            failures += 1;
                            warn!(task_id = %task_id, failures, error = %e, "heartbeat failed");
                            if failures >= 10 {
                                let _ = cancel_sender
                                    .send(Some("10 heartbeats in a row failed".into()));
                                return;
                            }
                        }
                    }
                }
            })
        };

        let mut options = self.options.sync.clone();
        if !task.sync_resource_type_ids.is_empty() {
            options.resource_types = task.sync_resource_type_ids.clone();
        }
        options.skip_entitlements_and_grants |= task.skip_entitlements_and_grants;
        if task.skip_expand_grants {
            debug!(
                task_id,
                "the task asks to skip grant expansion; grants are expanded anyway"
            );
        }
        // The sync writes through a SQLite connection, which cannot move
        // between threads, so it runs on a blocking thread of its own.
        let (connector, _) = self.factory.build();
        let skip = self.options.skip_full_sync;
        let sync_path = path.clone();
        let handle = tokio::runtime::Handle::current();
        let outcome = tokio::task::spawn_blocking(move || {
            handle.block_on(async move {
                let work = async {
                    if skip {
                        let file = c1z::C1zFile::open(&sync_path, options.temp_dir.as_deref()).map_err(|e| TaskError::Other(e.to_string()))?;
                        let sync_id = file.start_sync("full", "").map_err(|e| TaskError::Other(e.to_string()))?;
                        file.end_sync(&sync_id, "{\"version\":1}", true).map_err(|e| TaskError::Other(e.to_string()))?;
                        file.save().map_err(|e| TaskError::Other(e.to_string()))?;
                        return Ok(());
                    }
                    run_sync(connector.as_ref(), &sync_path, &options).await.map(|_| ()).map_err(|e| match e {
                        crate::sync::SyncError::Connector { source, phase, resource_type } => TaskError::Connector(ConnectorError::new(
                            source.kind,
                            format!("{phase} of resource type {resource_type} failed: {}", source.message),
                        )),
                        crate::sync::SyncError::Validate(source) => TaskError::Connector(source),
                        other => TaskError::Other(other.to_string()),
                    })
                };
                tokio::select! {
                    result = work => result,
                    reason = wait_for_reason(&mut cancelled) => Err(TaskError::Cancelled(reason)),
                    _ = wait_for_true(&mut cancel) => Err(TaskError::Cancelled("the connector is shutting down".into())),
                }
            })
        })
        .await
        .unwrap_or_else(|e| Err(TaskError::Other(format!("the sync stopped unexpectedly: {e}"))));
        heartbeat.abort();
        outcome?;
        let mut wait = Duration::ZERO;
        let mut last = None;
        for _ in 0..3 {
            tokio::time::sleep(wait).await;
            match self.api.upload_asset(task_id, &path).await {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => {
                    warn!(task_id, error = %e, "uploading the c1z failed");
                    last = Some(e);
                    wait = Duration::from_secs(1);
                }
            }
        }
        if let Some(e) = last {
            return Err(TaskError::Other(format!("uploading the c1z failed: {e}")));
        }
        Ok(())
    }

    /// Revokes the expired just-in-time grants of the state file.
    async fn revoke_expired(&self, state: &std::path::Path) {
        if !state.exists() {
            return;
        }
        let store = match crate::jit::JitStore::open(state) {
            Ok(store) => store,
            Err(e) => return error!(error = %e, "cannot read the just-in-time state file"),
        };
        let provisioner = match self.provisioner().await {
            Ok(p) => p,
            Err(e) => {
                return error!(error = ?e, "cannot revoke expired grants: the connector is not ready")
            }
        };
        match crate::jit::revoke_expired(provisioner.as_ref(), &store, &self.options.audit).await {
            Ok(report) if report.revoked + report.already_revoked + report.failed.len() > 0 => {
                info!(
                    revoked = report.revoked,
                    already_revoked = report.already_revoked,
                    failed = report.failed.len(),
                    "revoked expired grants"
                )
            }
            Ok(_) => {}
            Err(e) => error!(error = %e, "revoking expired grants failed"),
        }
    }

    /// A fresh, checked connector's provisioners for one task.
    async fn provisioner(&self) -> Result<Arc<dyn Provisioner>, TaskError> {
        let (connector, provisioner) = self.factory.build();
        connector.validate().await.map_err(TaskError::Connector)?;
        provisioner.ok_or_else(|| {
            TaskError::Connector(ConnectorError::new(
                ErrorKind::Unimplemented,
                "this connector has no provisioners",
            ))
        })
    }

    /// Returns the grant manager of `resource_type`, or an `Unimplemented`
    /// error if the connector cannot grant or revoke on that type.
    async fn grant_manager(&self, resource_type: &str) -> Result<Arc<dyn GrantManager>, TaskError> {
        self.provisioner()
            .await?
            .grant_manager(resource_type)
            .ok_or_else(|| {
                TaskError::Connector(ConnectorError::new(
                    ErrorKind::Unimplemented,
                    format!("resource type {resource_type} does not have provisioner configured"),
                ))
            })
    }

    async fn grant(&self, task: baton::task::GrantTask) -> Result<Option<Any>, TaskError> {
        let (Some(entitlement), Some(principal)) = (task.entitlement, task.principal) else {
            return Err(TaskError::Connector(ConnectorError::invalid(
                "malformed grant task",
            )));
        };
        let resource_type = entitlement
            .resource
            .as_ref()
            .and_then(|r| r.id.as_ref())
            .map(|i| i.resource_type.clone())
            .unwrap_or_default();
        let manager = self.grant_manager(&resource_type).await?;
        let change = manager
            .grant(&principal, &entitlement)
            .await
            .map_err(TaskError::Connector)?;
        if let (Some(duration), Some(state), Outcome::Done) = (
            task.duration.as_ref(),
            self.options.jit_state.as_ref(),
            &change.outcome,
        ) {
            if duration.seconds > 0 {
                let expires_at =
                    time::OffsetDateTime::now_utc().unix_timestamp() + duration.seconds;
                let subject = c1z::v2::Grant {
                    id: crate::types::grant_id(
                        &entitlement.id,
                        principal.id.as_ref().expect("principals have ids"),
                    ),
                    entitlement: Some(entitlement.clone()),
                    principal: Some(c1z::v2::Resource {
                        id: principal.id.clone(),
                        ..Default::default()
                    }),
                    annotations: Vec::new(),
                    sources: None,
                };
                let recorded = crate::jit::JitStore::open(state)
                    .and_then(|store| store.record(&subject, expires_at, ""));
                if let Err(e) = recorded {
                    error!(error = %e, grant = %subject.id, "could not record the expiry of a just-in-time grant");
                }
            }
        }
        let mut annotations = request_ids(&change.request_ids);
        if change.outcome == Outcome::AlreadyDone {
            annotations.push(any::pack(&GrantAlreadyExists::default()));
        }
        Ok(Some(any::pack(
            &c1z::v2::GrantManagerServiceGrantResponse {
                annotations,
                grants: change.grants,
            },
        )))
    }

    async fn revoke(&self, task: baton::task::RevokeTask) -> Result<Option<Any>, TaskError> {
        let Some(grant) = task.grant else {
            return Err(TaskError::Connector(ConnectorError::invalid(
                "malformed revoke task",
            )));
        };
        let resource_type = grant
            .entitlement
            .as_ref()
            .and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref())
            .map(|i| i.resource_type.clone())
            .unwrap_or_default();
        let manager = self.grant_manager(&resource_type).await?;
        let change = manager.revoke(&grant).await.map_err(TaskError::Connector)?;
        let mut annotations = request_ids(&change.request_ids);
        if change.outcome == Outcome::AlreadyDone {
            annotations.push(any::pack(&GrantAlreadyRevoked::default()));
        }
        Ok(Some(any::pack(
            &c1z::v2::GrantManagerServiceRevokeResponse { annotations },
        )))
    }

    async fn create_account(
        &self,
        task: baton::task::CreateAccountTask,
    ) -> Result<Option<Any>, TaskError> {
        let Some(info) = task.account_info else {
            return Err(TaskError::Connector(ConnectorError::invalid(
                "malformed create account task",
            )));
        };
        let resource_type = if task.resource_type_id.is_empty() {
            "iam_user".to_string()
        } else {
            task.resource_type_id.clone()
        };
        let manager = self
            .provisioner()
            .await?
            .account_manager(&resource_type)
            .ok_or_else(|| {
                TaskError::Connector(ConnectorError::new(
                    ErrorKind::Unimplemented,
                    format!("resource type {resource_type} does not support account creation"),
                ))
            })?;
        let account = AccountInfo {
            login: info.login.clone(),
            emails: info.emails.iter().map(|e| e.address.clone()).collect(),
            profile: info.profile.clone().unwrap_or_default(),
        };
        let created = manager
            .create_account(&account)
            .await
            .map_err(TaskError::Connector)?;
        use c1z::v2::create_account_response::{
            AlreadyExistsResult, Result as CreateResult, SuccessResult,
        };
        let result = if created.already_existed {
            CreateResult::AlreadyExists(AlreadyExistsResult {
                resource: Some(created.resource),
                is_create_account_result: true,
            })
        } else {
            CreateResult::Success(SuccessResult {
                resource: Some(created.resource),
                is_create_account_result: true,
                invitation_expires_at: None,
            })
        };
        let response = c1z::v2::CreateAccountResponse {
            result: Some(result),
            annotations: request_ids(&created.request_ids),
            ..Default::default()
        };
        Ok(Some(any::pack(&response)))
    }

    async fn delete(
        &self,
        task: baton::task::DeleteResourceTask,
    ) -> Result<Option<Any>, TaskError> {
        let Some(resource) = task.resource_id else {
            return Err(TaskError::Connector(ConnectorError::invalid(
                "malformed delete resource task",
            )));
        };
        let deleter = self
            .provisioner()
            .await?
            .resource_deleter(&resource.resource_type)
            .ok_or_else(|| {
                TaskError::Connector(ConnectorError::new(
                    ErrorKind::Unimplemented,
                    format!("resource type {} cannot be deleted", resource.resource_type),
                ))
            })?;
        let change = deleter
            .delete(&resource, task.parent_resource_id.as_ref())
            .await
            .map_err(TaskError::Connector)?;
        let mut annotations = request_ids(&change.request_ids);
        if change.outcome == Outcome::AlreadyDone {
            annotations.push(any::pack(&ResourceDoesNotExist::default()));
        }
        Ok(Some(any::pack(&c1z::v2::DeleteResourceResponse {
            annotations,
        })))
    }
}

fn request_ids(ids: &[String]) -> Vec<Any> {
    ids.iter()
        .map(|id| {
            any::pack(&c1z::v2::RequestId {
                request_id: id.clone(),
            })
        })
        .collect()
}

fn task_name(task: Option<&TaskType>) -> &'static str {
    match task {
        None | Some(TaskType::None(_)) => "none",
        Some(TaskType::Hello(_)) => "hello",
        Some(TaskType::SyncFull(_)) => "sync_full",
        Some(TaskType::Grant(_)) => "grant",
        Some(TaskType::Revoke(_)) => "revoke",
        Some(TaskType::CreateAccount(_)) => "create_account",
        Some(TaskType::CreateResource(_)) => "create_resource",
        Some(TaskType::DeleteResource(_)) => "delete_resource",
        Some(TaskType::RotateCredentials(_)) => "rotate_credentials",
        Some(_) => "other",
    }
}

/// Failure of a task, as reported to ConductorOne.
#[derive(Debug)]
enum TaskError {
    Connector(ConnectorError),
    Cancelled(String),
    Other(String),
    /// The task cannot even be reported (its first heartbeat failed).
    NoFinish(String),
}

/// Resolves with the reason once a cancellation reason is set.
async fn wait_for_reason(receiver: &mut watch::Receiver<Option<String>>) -> String {
    loop {
        if let Some(reason) = receiver.borrow().clone() {
            return reason;
        }
        if receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Resolves once the flag turns true.
async fn wait_for_true(receiver: &mut watch::Receiver<bool>) {
    loop {
        if *receiver.borrow() {
            return;
        }
        if receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
