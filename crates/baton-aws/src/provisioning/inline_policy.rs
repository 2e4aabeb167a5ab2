//! Inline policies: revoking `inline_policy:<id>:attached` deletes the
//! policy from its owner. Inline policies cannot be granted: they have no
//! document to create them from.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::provision::{Change, GrantManager};
use baton_sdk::{ConnectorError, ErrorKind};
use c1z::v2::{Entitlement, Grant, Resource};

use super::{failed, invalid, principal_of, request_id};
use crate::client::classify;
use crate::connector::Ctx;
use crate::iam::name_from_arn;
use crate::inline_policy::SEPARATOR;
use crate::resource_types as rt;

pub struct InlinePolicy(pub Arc<Ctx>);

#[async_trait]
impl GrantManager for InlinePolicy {
    async fn grant(
        &self,
        _: &Resource,
        entitlement: &Entitlement,
    ) -> Result<Change, ConnectorError> {
        Err(ConnectorError::new(
            ErrorKind::Unimplemented,
            format!("inline policies cannot be created by provisioning ({}); attach a managed policy instead", entitlement.id),
        ))
    }

    async fn revoke(&self, grant: &Grant) -> Result<Change, ConnectorError> {
        let entitlement = grant.entitlement.clone().unwrap_or_default();
        let resource_id = super::entitlement_target(&entitlement);
        let Some((parent_arn, policy_name)) = resource_id.split_once(SEPARATOR) else {
            return Err(invalid(format!("invalid inline policy resource id {resource_id:?}: expected <owner ARN>{SEPARATOR}<policy name>")));
        };
        let (ptype, principal_arn) = principal_of(grant);
        let who = format!("{ptype}:{principal_arn}");
        if principal_arn != parent_arn {
            return Err(invalid(format!("grant principal {principal_arn} is not the owner {parent_arn} of inline policy {policy_name}")));
        }
        let owner = name_from_arn(parent_arn);
        let iam = self.0.iam_for_arn(parent_arn).await?;
        let client = iam.client();
        let result = match ptype.as_str() {
            rt::IAM_USER => client.delete_user_policy().user_name(owner).policy_name(policy_name).send().await.map(|o| request_id(&o)).map_err(|e| classify("iam:DeleteUserPolicy", &e)),
            rt::ROLE => client.delete_role_policy().role_name(owner).policy_name(policy_name).send().await.map(|o| request_id(&o)).map_err(|e| classify("iam:DeleteRolePolicy", &e)),
            rt::GROUP => client.delete_group_policy().group_name(owner).policy_name(policy_name).send().await.map(|o| request_id(&o)).map_err(|e| classify("iam:DeleteGroupPolicy", &e)),
            rt::PERMISSION_SET => {
                return Err(ConnectorError::new(
                    ErrorKind::Unimplemented,
                    "permission set inline policies cannot be revoked by provisioning; change them in IAM Identity Center",
                ))
            }
            other => return Err(invalid(format!("inline policies belong to IAM users, roles and groups, not {other}"))),
        };
        match result {
            Ok(ids) => Ok(Change::done(Vec::new(), ids)),
            Err(e) => {
                if e.is_not_found() {
                    return Ok(Change::already(Vec::new()));
                }
                Err(failed(e, "revoke", &who, &entitlement.id))
            }
        }
    }
}
