//! Account assignments: a permission set on an account, granted to an
//! Identity Center user or group, through the account entitlement
//! `<account>|<permission set ARN>` or the binding entitlement
//! `permission_set_assignment:<ps>-<account>:assigned`.
//!
//! AWS creates and deletes assignments asynchronously. Each request is
//! polled to a final state within a bounded wait: FAILED is reported with
//! AWS's reason, and a wait that runs out is an error ("could not verify"),
//! never a success. At most `max_in_flight` operations run at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_organizations::types::AccountStatus;
use aws_sdk_ssoadmin::types::{
    AccountAssignmentOperationStatus, PrincipalType, StatusValues, TargetType,
};
use baton_sdk::provision::{is_expanded, Change, GrantManager};
use baton_sdk::{ConnectorError, ErrorKind};
use c1z::any;
use c1z::v2::{Entitlement, Grant, Resource, ScopeBindingTrait};
use tokio::sync::Semaphore;

use super::{failed, invalid, principal_of, request_id};
use crate::client::classify;
use crate::connector::Ctx;
use crate::permission_set::repeated_token;
use crate::resource_types as rt;

/// How long assignment operations may take, and how many run at once.
#[derive(Debug, Clone)]
pub struct AssignmentLimits {
    pub poll_interval: Duration,
    pub timeout: Duration,
    pub max_in_flight: usize,
}

impl Default for AssignmentLimits {
    fn default() -> Self {
        AssignmentLimits {
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(300),
            max_in_flight: 10,
        }
    }
}

pub struct Assignments {
    ctx: Arc<Ctx>,
    limits: AssignmentLimits,
    permits: Semaphore,
}

/// What an assignment is about: account, permission set, principal.
struct Target {
    account: String,
    permission_set: String,
    principal_type: PrincipalType,
    principal_id: String,
    who: String,
}

fn principal(resource_type: &str, arn: &str) -> Result<(PrincipalType, String), ConnectorError> {
    match resource_type {
        rt::SSO_USER => Ok((
            PrincipalType::User,
            arn.rsplit_once("/user/")
                .map(|(_, id)| id)
                .unwrap_or(arn)
                .to_string(),
        )),
        rt::SSO_GROUP => Ok((
            PrincipalType::Group,
            arn.rsplit_once("/group/")
                .map(|(_, id)| id)
                .unwrap_or(arn)
                .to_string(),
        )),
        other => Err(invalid(format!(
            "permission sets are assigned to Identity Center users and groups, not {other}:{arn}"
        ))),
    }
}

fn account_and_permission_set(
    entitlement: &Entitlement,
) -> Result<(String, String), ConnectorError> {
    let resource = entitlement.resource.as_ref();
    let resource_type = resource
        .and_then(|r| r.id.as_ref())
        .map(|i| i.resource_type.as_str())
        .unwrap_or("");
    if resource_type == rt::PERMISSION_SET_ASSIGNMENT {
        let binding: ScopeBindingTrait = resource
            .and_then(|r| any::find(&r.annotations))
            .ok_or_else(|| {
                invalid(format!(
                    "entitlement {} has no scope binding on its resource; sync again",
                    entitlement.id
                ))
            })?;
        let account = binding
            .scope_resource_id
            .map(|r| r.resource)
            .unwrap_or_default();
        let permission_set = binding.role_id.map(|r| r.resource).unwrap_or_default();
        return Ok((account, permission_set));
    }
    entitlement
        .id
        .split_once('|')
        .map(|(a, p)| (a.to_string(), p.to_string()))
        .ok_or_else(|| invalid(format!("invalid permission set to account entitlement id {:?}: expected <account>|<permission set ARN>", entitlement.id)))
}

impl Assignments {
    pub fn new(ctx: Arc<Ctx>, limits: AssignmentLimits) -> Self {
        let permits = Semaphore::new(limits.max_in_flight.max(1));
        Assignments {
            ctx,
            limits,
            permits,
        }
    }

    fn target(
        &self,
        entitlement: &Entitlement,
        principal_type: &str,
        principal_arn: &str,
    ) -> Result<Target, ConnectorError> {
        let (account, permission_set) = account_and_permission_set(entitlement)?;
        let (principal_type_value, principal_id) = principal(principal_type, principal_arn)?;
        Ok(Target {
            account,
            permission_set,
            principal_type: principal_type_value,
            principal_id,
            who: format!("{principal_type}:{principal_arn}"),
        })
    }

    /// Whether the principal has a direct assignment of the permission set on the account.
    async fn exists(&self, t: &Target, entitlement: &str) -> Result<bool, ConnectorError> {
        let instance = self.ctx.instance()?.instance_arn.clone();
        let mut token = String::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            let (page, next) = self
                .ctx
                .sso
                .account_assignments(&instance, &t.account, &t.permission_set, &token)
                .await
                .map_err(|e| failed(e, "check", &t.who, entitlement))?;
            if page.iter().any(|a| {
                a.principal_type.as_ref() == Some(&t.principal_type)
                    && a.principal_id.as_deref() == Some(t.principal_id.as_str())
            }) {
                return Ok(true);
            }
            match next {
                Some(next) if seen.insert(next.clone()) => token = next,
                Some(next) => return Err(repeated_token("sso:ListAccountAssignments", &next)),
                None => return Ok(false),
            }
        }
    }

    /// Checks that the account is active. Returns a note when the check
    /// could not be made (organizations:DescribeAccount denied).
    async fn check_account(
        &self,
        t: &Target,
        entitlement: &str,
    ) -> Result<Option<String>, ConnectorError> {
        match self
            .ctx
            .orgs_client()
            .describe_account()
            .account_id(&t.account)
            .send()
            .await
        {
            Ok(out) => {
                let Some(account) = out.account else {
                    return Err(ConnectorError::new(
                        ErrorKind::NotFound,
                        format!(
                            "organizations:DescribeAccount returned no account for {}",
                            t.account
                        ),
                    ));
                };
                let state = account.state.as_ref().map(|s| s.as_str().to_string());
                let active = match (&account.state, &account.status) {
                    (Some(s), _) => s.as_str() == "ACTIVE",
                    (None, Some(s)) => *s == AccountStatus::Active,
                    (None, None) => true,
                };
                if !active {
                    let shown = state
                        .or_else(|| account.status.as_ref().map(|s| s.as_str().to_string()))
                        .unwrap_or_default();
                    return Err(ConnectorError::new(
                        ErrorKind::FailedPrecondition,
                        format!("account {} is {shown}, not ACTIVE: {entitlement} cannot be changed for {} until the account is active again", t.account, t.who),
                    ));
                }
                Ok(None)
            }
            Err(e) => {
                let e = classify("organizations:DescribeAccount", &e);
                if e.is_access_denied() {
                    return Ok(Some(format!(
                        "the state of account {} could not be checked (organizations:DescribeAccount denied); allow it for clearer errors on suspended accounts",
                        t.account
                    )));
                }
                Err(failed(e, "check", &t.who, entitlement))
            }
        }
    }

    /// Takes the status AWS returned for a creation or deletion to a final
    /// state: done, FAILED with AWS's reason, or polled until it settles.
    async fn settle(
        &self,
        t: &Target,
        entitlement: &str,
        status: Option<AccountAssignmentOperationStatus>,
        creating: bool,
    ) -> Result<(), ConnectorError> {
        let status = status.unwrap_or_else(|| AccountAssignmentOperationStatus::builder().build());
        match status.status {
            Some(StatusValues::Succeeded) => Ok(()),
            Some(StatusValues::Failed) => Err(ConnectorError::new(
                ErrorKind::FailedPrecondition,
                format!(
                    "AWS reports the account assignment {} FAILED for {entitlement} and {}: {}",
                    if creating { "creation" } else { "deletion" },
                    t.who,
                    status.failure_reason.unwrap_or_default()
                ),
            )),
            _ => {
                self.wait(
                    t,
                    entitlement,
                    status.request_id.as_deref().unwrap_or_default(),
                    creating,
                )
                .await
            }
        }
    }

    /// Polls a creation or deletion request to a final state.
    async fn wait(
        &self,
        t: &Target,
        entitlement: &str,
        request: &str,
        creating: bool,
    ) -> Result<(), ConnectorError> {
        let instance = self.ctx.instance()?.instance_arn.clone();
        let admin = self.ctx.sso.admin();
        let started = Instant::now();
        let verb = if creating { "creation" } else { "deletion" };
        loop {
            let (status, reason) = if creating {
                let out = admin
                    .describe_account_assignment_creation_status()
                    .instance_arn(&instance)
                    .account_assignment_creation_request_id(request)
                    .send()
                    .await
                    .map_err(|e| {
                        failed(
                            classify("sso:DescribeAccountAssignmentCreationStatus", &e),
                            "check",
                            &t.who,
                            entitlement,
                        )
                    })?;
                let s = out
                    .account_assignment_creation_status
                    .unwrap_or_else(|| AccountAssignmentOperationStatus::builder().build());
                (s.status, s.failure_reason)
            } else {
                let out = admin
                    .describe_account_assignment_deletion_status()
                    .instance_arn(&instance)
                    .account_assignment_deletion_request_id(request)
                    .send()
                    .await
                    .map_err(|e| {
                        failed(
                            classify("sso:DescribeAccountAssignmentDeletionStatus", &e),
                            "check",
                            &t.who,
                            entitlement,
                        )
                    })?;
                let s = out
                    .account_assignment_deletion_status
                    .unwrap_or_else(|| AccountAssignmentOperationStatus::builder().build());
                (s.status, s.failure_reason)
            };
            match status {
                Some(StatusValues::Succeeded) => return Ok(()),
                Some(StatusValues::Failed) => {
                    return Err(ConnectorError::new(
                        ErrorKind::FailedPrecondition,
                        format!(
                            "AWS reports the account assignment {verb} FAILED for {entitlement} and {}: {}",
                            t.who,
                            reason.unwrap_or_else(|| "no reason given".into())
                        ),
                    ))
                }
                Some(StatusValues::InProgress) | None => {}
                Some(other) => {
                    return Err(ConnectorError::internal(format!("account assignment {verb} for {entitlement}: unknown status {}", other.as_str())))
                }
            }
            if started.elapsed() >= self.limits.timeout {
                return Err(ConnectorError::new(
                    ErrorKind::Internal,
                    format!(
                        "could not verify the account assignment {verb} for {entitlement} and {}: still IN_PROGRESS after {} s (request {request}); check it in IAM Identity Center, or run the same command again, which is safe to repeat",
                        t.who,
                        self.limits.timeout.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(self.limits.poll_interval).await;
        }
    }
}

#[async_trait]
impl GrantManager for Assignments {
    async fn grant(
        &self,
        principal: &Resource,
        entitlement: &Entitlement,
    ) -> Result<Change, ConnectorError> {
        let pid = principal.id.clone().unwrap_or_default();
        let t = self.target(entitlement, &pid.resource_type, &pid.resource)?;
        let _permit = self.permits.acquire().await.expect("semaphore open");
        if self.exists(&t, &entitlement.id).await? {
            return Ok(Change::already(Vec::new()));
        }
        let note = self.check_account(&t, &entitlement.id).await?;
        let instance = self.ctx.instance()?.instance_arn.clone();
        let out = self
            .ctx
            .sso
            .admin()
            .create_account_assignment()
            .instance_arn(&instance)
            .target_id(&t.account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(&t.permission_set)
            .principal_type(t.principal_type.clone())
            .principal_id(&t.principal_id)
            .send()
            .await
            .map_err(|e| {
                conflict(
                    classify("sso:CreateAccountAssignment", &e),
                    &t,
                    &entitlement.id,
                    note.is_some(),
                )
            })?;
        let ids = request_id(&out);
        self.settle(
            &t,
            &entitlement.id,
            out.account_assignment_creation_status,
            true,
        )
        .await?;
        let mut change = Change::done(Vec::new(), ids);
        change.note = note;
        Ok(change)
    }

    async fn revoke(&self, grant: &Grant) -> Result<Change, ConnectorError> {
        let entitlement = grant.entitlement.clone().unwrap_or_default();
        let (ptype, parn) = principal_of(grant);
        let t = self.target(&entitlement, &ptype, &parn)?;
        let _permit = self.permits.acquire().await.expect("semaphore open");
        if !self.exists(&t, &entitlement.id).await? {
            if is_expanded(grant) {
                let via: Vec<String> = grant
                    .sources
                    .as_ref()
                    .map(|s| s.keys().map(str::to_string).collect())
                    .unwrap_or_default();
                return Err(ConnectorError::new(
                    ErrorKind::FailedPrecondition,
                    format!(
                        "{} has no direct assignment of {}: the access comes through {}; remove the user from that group or revoke the group's assignment",
                        t.who,
                        entitlement.id,
                        if via.is_empty() { "a group".to_string() } else { via.join(", ") }
                    ),
                ));
            }
            return Ok(Change::already(Vec::new()));
        }
        let note = self.check_account(&t, &entitlement.id).await?;
        let instance = self.ctx.instance()?.instance_arn.clone();
        let result = self
            .ctx
            .sso
            .admin()
            .delete_account_assignment()
            .instance_arn(&instance)
            .target_id(&t.account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(&t.permission_set)
            .principal_type(t.principal_type.clone())
            .principal_id(&t.principal_id)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                let e = classify("sso:DeleteAccountAssignment", &e);
                if e.is_not_found() || e.message.contains("404") {
                    return Ok(Change::already(Vec::new()));
                }
                return Err(conflict(e, &t, &entitlement.id, note.is_some()));
            }
        };
        let ids = request_id(&out);
        self.settle(
            &t,
            &entitlement.id,
            out.account_assignment_deletion_status,
            false,
        )
        .await?;
        let mut change = Change::done(Vec::new(), ids);
        change.note = note;
        Ok(change)
    }
}

/// A ConflictException means another operation on the account is running,
/// which is also the error AWS returns for a suspended account.
fn conflict(
    e: crate::client::AwsError,
    t: &Target,
    entitlement: &str,
    unverified: bool,
) -> ConnectorError {
    if e.code != "ConflictException" {
        return failed(e, "change", &t.who, entitlement);
    }
    let tip = if unverified {
        " Allow organizations:DescribeAccount to tell a suspended account from a busy one."
    } else {
        ""
    };
    ConnectorError::new(
        ErrorKind::Unavailable,
        format!(
            "a conflicting operation is in progress for account {} (this may also mean the account is suspended): {}.{tip}",
            t.account, e.message
        ),
    )
}
