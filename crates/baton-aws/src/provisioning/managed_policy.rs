//! Managed policy attachment: `iam_policy:<arn>:attached` granted to IAM
//! users, roles and groups.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::provision::{Change, GrantManager};
use baton_sdk::types::{expandable, grant};
use baton_sdk::ConnectorError;
use c1z::v2::{Entitlement, Grant, Resource, ResourceId};

use super::{describe, failed, invalid, principal_of, request_id};
use crate::client::{classify, AwsError};
use crate::connector::{policy_entitlement, Ctx};
use crate::iam::{name_from_arn, Entity, IamApi};
use crate::resource_types as rt;

pub struct Attachment(pub Arc<Ctx>);

fn entity_of(principal_type: &str) -> Option<Entity> {
    match principal_type {
        rt::IAM_USER => Some(Entity::User),
        rt::ROLE => Some(Entity::Role),
        rt::GROUP => Some(Entity::Group),
        _ => None,
    }
}

async fn is_attached(
    iam: &IamApi,
    entity: Entity,
    name: &str,
    policy_arn: &str,
) -> Result<bool, AwsError> {
    let mut marker = String::new();
    loop {
        let (policies, next) = iam.attached_policies(entity, name, &marker).await?;
        if policies
            .iter()
            .any(|p| p.policy_arn.as_deref() == Some(policy_arn))
        {
            return Ok(true);
        }
        match next {
            Some(m) if m != marker => marker = m,
            _ => return Ok(false),
        }
    }
}

/// The grant as a sync reports it, with the expansion edge of roles and groups.
fn synced_grant(principal: &ResourceId, policy_arn: &str, policy_name: &str) -> Grant {
    let mut g = grant(policy_entitlement(policy_arn, policy_name), principal);
    match principal.resource_type.as_str() {
        rt::ROLE => g.annotations.push(expandable(
            vec![crate::role::assignment_id(&principal.resource)],
            false,
        )),
        rt::GROUP => g.annotations.push(expandable(
            vec![crate::group::member_id(&principal.resource)],
            true,
        )),
        _ => {}
    }
    g
}

#[async_trait]
impl GrantManager for Attachment {
    async fn grant(
        &self,
        principal: &Resource,
        entitlement: &Entitlement,
    ) -> Result<Change, ConnectorError> {
        let who = describe(Some(principal));
        let pid = principal.id.clone().unwrap_or_default();
        let Some(entity) = entity_of(&pid.resource_type) else {
            return Err(invalid(format!(
                "managed policies can only be attached to IAM users, roles and groups, not {who}"
            )));
        };
        let policy_arn = super::entitlement_target(entitlement);
        if policy_arn.is_empty() {
            return Err(invalid(format!(
                "entitlement {} names no policy ARN",
                entitlement.id
            )));
        }
        let policy_name = entitlement
            .resource
            .as_ref()
            .map(|r| r.display_name.clone())
            .unwrap_or_default();
        let name = name_from_arn(&pid.resource);
        let iam = self.0.iam_for_arn(&pid.resource).await?;
        let result = synced_grant(&pid, &policy_arn, &policy_name);
        if is_attached(&iam, entity, name, &policy_arn)
            .await
            .map_err(|e| failed(e, "grant", &who, &entitlement.id))?
        {
            return Ok(Change::already(vec![result]));
        }
        let client = iam.client();
        let ids = match entity {
            Entity::User => client
                .attach_user_policy()
                .user_name(name)
                .policy_arn(&policy_arn)
                .send()
                .await
                .map(|o| request_id(&o))
                .map_err(|e| classify("iam:AttachUserPolicy", &e)),
            Entity::Role => client
                .attach_role_policy()
                .role_name(name)
                .policy_arn(&policy_arn)
                .send()
                .await
                .map(|o| request_id(&o))
                .map_err(|e| classify("iam:AttachRolePolicy", &e)),
            Entity::Group => client
                .attach_group_policy()
                .group_name(name)
                .policy_arn(&policy_arn)
                .send()
                .await
                .map(|o| request_id(&o))
                .map_err(|e| classify("iam:AttachGroupPolicy", &e)),
        }
        .map_err(|e| failed(e, "grant", &who, &entitlement.id))?;
        Ok(Change::done(vec![result], ids))
    }

    async fn revoke(&self, grant: &Grant) -> Result<Change, ConnectorError> {
        let (ptype, principal_arn) = principal_of(grant);
        let entitlement = grant.entitlement.clone().unwrap_or_default();
        let who = format!("{ptype}:{principal_arn}");
        let Some(entity) = entity_of(&ptype) else {
            return Err(invalid(format!(
                "managed policies can only be detached from IAM users, roles and groups, not {who}"
            )));
        };
        let policy_arn = super::entitlement_target(&entitlement);
        if policy_arn.is_empty() {
            return Err(invalid(format!("grant {} names no policy ARN", grant.id)));
        }
        if baton_sdk::provision::is_expanded(grant) {
            let via: Vec<String> = grant
                .sources
                .as_ref()
                .map(|s| s.keys().map(str::to_string).collect())
                .unwrap_or_default();
            return Err(ConnectorError::new(
                baton_sdk::ErrorKind::FailedPrecondition,
                format!(
                    "{who} holds {} only through {}; detach the policy from that group or role, or remove the principal from it",
                    entitlement.id,
                    if via.is_empty() { "a group or role".to_string() } else { via.join(", ") }
                ),
            ));
        }
        let name = name_from_arn(&principal_arn);
        let iam = self.0.iam_for_arn(&principal_arn).await?;
        match is_attached(&iam, entity, name, &policy_arn).await {
            Ok(false) => return Ok(Change::already(Vec::new())),
            Err(e) if e.is_not_found() => return Ok(Change::already(Vec::new())),
            Err(e) => return Err(failed(e, "revoke", &who, &entitlement.id)),
            Ok(true) => {}
        }
        let client = iam.client();
        let result = match entity {
            Entity::User => client
                .detach_user_policy()
                .user_name(name)
                .policy_arn(&policy_arn)
                .send()
                .await
                .map(|o| request_id(&o))
                .map_err(|e| classify("iam:DetachUserPolicy", &e)),
            Entity::Role => client
                .detach_role_policy()
                .role_name(name)
                .policy_arn(&policy_arn)
                .send()
                .await
                .map(|o| request_id(&o))
                .map_err(|e| classify("iam:DetachRolePolicy", &e)),
            Entity::Group => client
                .detach_group_policy()
                .group_name(name)
                .policy_arn(&policy_arn)
                .send()
                .await
                .map(|o| request_id(&o))
                .map_err(|e| classify("iam:DetachGroupPolicy", &e)),
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
