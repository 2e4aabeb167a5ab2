//! Provisioning: granting and revoking entitlements, creating and deleting
//! users. Each grant or revoke first checks whether there is anything to do,
//! so repeating one succeeds and reports that nothing changed.

mod assignment;
mod iam_group;
mod iam_user;
mod inline_policy;
mod managed_policy;
mod sso_group;
mod sso_user;

use std::sync::Arc;

use baton_sdk::provision::{AccountManager, GrantManager, Provisioner, ResourceDeleter};
use baton_sdk::{ConnectorError, ErrorKind};
use c1z::v2::{Entitlement, Grant, Resource};

use crate::client::AwsError;
use crate::connector::Ctx;
use crate::resource_types as rt;

pub use assignment::AssignmentLimits;

/// The provisioners of every resource type that has one.
pub struct AwsProvisioner {
    ctx: Arc<Ctx>,
    assignments: Arc<assignment::Assignments>,
}

impl AwsProvisioner {
    pub fn new(ctx: Arc<Ctx>, limits: AssignmentLimits) -> Self {
        let assignments = Arc::new(assignment::Assignments::new(ctx.clone(), limits));
        AwsProvisioner { ctx, assignments }
    }
}

impl Provisioner for AwsProvisioner {
    fn grant_manager(&self, resource_type: &str) -> Option<Arc<dyn GrantManager>> {
        let c = self.ctx.clone();
        Some(match resource_type {
            rt::GROUP => Arc::new(iam_group::Membership(c)),
            rt::IAM_POLICY => Arc::new(managed_policy::Attachment(c)),
            rt::INLINE_POLICY => Arc::new(inline_policy::InlinePolicy(c)),
            rt::SSO_GROUP if self.ctx.args.sso_enabled => Arc::new(sso_group::Membership(c)),
            rt::ACCOUNT | rt::PERMISSION_SET_ASSIGNMENT if self.ctx.args.sso_enabled => {
                self.assignments.clone()
            }
            _ => return None,
        })
    }

    fn account_manager(&self, resource_type: &str) -> Option<Arc<dyn AccountManager>> {
        let c = self.ctx.clone();
        Some(match resource_type {
            rt::IAM_USER => Arc::new(iam_user::Accounts(c)),
            rt::SSO_USER if self.ctx.args.sso_enabled => Arc::new(sso_user::Accounts(c)),
            _ => return None,
        })
    }

    fn resource_deleter(&self, resource_type: &str) -> Option<Arc<dyn ResourceDeleter>> {
        let c = self.ctx.clone();
        Some(match resource_type {
            rt::IAM_USER => Arc::new(iam_user::Accounts(c)),
            rt::SSO_USER if self.ctx.args.sso_enabled => Arc::new(sso_user::Accounts(c)),
            _ => return None,
        })
    }
}

/// The `type:id` of a resource, for messages.
pub(crate) fn describe(resource: Option<&Resource>) -> String {
    resource
        .and_then(|r| r.id.as_ref())
        .map(|i| format!("{}:{}", i.resource_type, i.resource))
        .unwrap_or_else(|| "<none>".into())
}

/// The resource id of an entitlement's resource.
pub(crate) fn entitlement_target(entitlement: &Entitlement) -> String {
    entitlement
        .resource
        .as_ref()
        .and_then(|r| r.id.as_ref())
        .map(|i| i.resource.clone())
        .unwrap_or_default()
}

/// The principal id and type of a grant.
pub(crate) fn principal_of(grant: &Grant) -> (String, String) {
    let id = grant
        .principal
        .as_ref()
        .and_then(|p| p.id.clone())
        .unwrap_or_default();
    (id.resource_type, id.resource)
}

/// Turns an AWS error into a final provisioning error that names what was
/// being changed and what to do; throttling and outages stay retryable.
pub(crate) fn failed(
    e: AwsError,
    action: &str,
    principal: &str,
    entitlement: &str,
) -> ConnectorError {
    let what = format!("{action} {entitlement} for {principal}");
    match e.kind {
        ErrorKind::PermissionDenied => ConnectorError::new(
            ErrorKind::PermissionDenied,
            format!("{what}: AWS denied {} ({}); allow {} for the identity baton-aws runs as", e.operation, e.message, e.operation),
        ),
        ErrorKind::FailedPrecondition => ConnectorError::new(
            ErrorKind::FailedPrecondition,
            format!("{what}: {} hit an AWS quota ({}); free one up (for example remove the user from another group) and try again", e.operation, e.message),
        ),
        ErrorKind::Unavailable => ConnectorError::new(ErrorKind::Unavailable, format!("{what}: {} was throttled or AWS was unreachable ({}); try again", e.operation, e.message)),
        kind => ConnectorError::new(kind, format!("{what}: {} failed: {}", e.operation, e.message)),
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> ConnectorError {
    ConnectorError::new(ErrorKind::InvalidArgument, message)
}

/// The AWS request id of a response, if it has one.
pub(crate) fn request_id<T: aws_types::request_id::RequestId>(output: &T) -> Vec<String> {
    output
        .request_id()
        .map(|id| vec![id.to_string()])
        .unwrap_or_default()
}
