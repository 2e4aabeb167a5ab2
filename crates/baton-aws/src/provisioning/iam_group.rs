//! IAM group membership: `group:<arn>:member` granted to IAM users.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::provision::{Change, GrantManager};
use baton_sdk::ConnectorError;
use c1z::v2::{Entitlement, Grant, Resource};

use super::{describe, failed, invalid, principal_of, request_id};
use crate::client::classify;
use crate::connector::Ctx;
use crate::group::membership_grant;
use crate::iam::{name_from_arn, IamApi};
use crate::resource_types as rt;

pub struct Membership(pub Arc<Ctx>);

/// The names of the groups a user is in (all pages).
async fn groups_of(iam: &IamApi, user: &str) -> Result<Vec<String>, crate::client::AwsError> {
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = iam
            .client()
            .list_groups_for_user()
            .user_name(user)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| classify("iam:ListGroupsForUser", &e))?;
        names.extend(out.groups.into_iter().map(|g| g.group_name));
        match out
            .marker
            .filter(|m| out.is_truncated && Some(m) != marker.as_ref())
        {
            Some(m) => marker = Some(m),
            None => return Ok(names),
        }
    }
}

#[async_trait]
impl GrantManager for Membership {
    async fn grant(
        &self,
        principal: &Resource,
        entitlement: &Entitlement,
    ) -> Result<Change, ConnectorError> {
        let who = describe(Some(principal));
        let pid = principal.id.clone().unwrap_or_default();
        if pid.resource_type != rt::IAM_USER {
            return Err(invalid(format!(
                "only IAM users can be added to an IAM group, not {who}"
            )));
        }
        let group = entitlement.resource.clone().unwrap_or_default();
        let group_arn = group
            .id
            .as_ref()
            .map(|i| i.resource.clone())
            .unwrap_or_default();
        let (group_name, user) = (name_from_arn(&group_arn), name_from_arn(&pid.resource));
        let iam = self.0.iam_for_arn(&group_arn).await?;
        let grant = membership_grant(&group, &pid.resource);
        let current = groups_of(&iam, user)
            .await
            .map_err(|e| failed(e, "grant", &who, &entitlement.id))?;
        if current.iter().any(|g| g == group_name) {
            return Ok(Change::already(vec![grant]));
        }
        let out = iam
            .client()
            .add_user_to_group()
            .group_name(group_name)
            .user_name(user)
            .send()
            .await
            .map_err(|e| {
                failed(
                    classify("iam:AddUserToGroup", &e),
                    "grant",
                    &who,
                    &entitlement.id,
                )
            })?;
        Ok(Change::done(vec![grant], request_id(&out)))
    }

    async fn revoke(&self, grant: &Grant) -> Result<Change, ConnectorError> {
        let (ptype, user_arn) = principal_of(grant);
        let entitlement = grant.entitlement.clone().unwrap_or_default();
        let who = format!("{ptype}:{user_arn}");
        if ptype != rt::IAM_USER {
            return Err(invalid(format!(
                "only IAM users can be removed from an IAM group, not {who}"
            )));
        }
        let group_arn = super::entitlement_target(&entitlement);
        let (group_name, user) = (name_from_arn(&group_arn), name_from_arn(&user_arn));
        let iam = self.0.iam_for_arn(&group_arn).await?;
        let current = match groups_of(&iam, user).await {
            Ok(groups) => groups,
            Err(e) if e.is_not_found() => return Ok(Change::already(Vec::new())),
            Err(e) => return Err(failed(e, "revoke", &who, &entitlement.id)),
        };
        if !current.iter().any(|g| g == group_name) {
            return Ok(Change::already(Vec::new()));
        }
        match iam
            .client()
            .remove_user_from_group()
            .group_name(group_name)
            .user_name(user)
            .send()
            .await
        {
            Ok(out) => Ok(Change::done(Vec::new(), request_id(&out))),
            Err(e) => {
                let e = classify("iam:RemoveUserFromGroup", &e);
                if e.is_not_found() {
                    return Ok(Change::already(Vec::new()));
                }
                Err(failed(e, "revoke", &who, &entitlement.id))
            }
        }
    }
}
