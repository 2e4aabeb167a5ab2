//! Identity Center group membership: `sso_group:<arn>:member` granted to
//! Identity Center users.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_identitystore::types::MemberId;
use baton_sdk::provision::{Change, GrantManager};
use baton_sdk::ConnectorError;
use c1z::v2::{Entitlement, Grant, Resource};

use super::{describe, failed, invalid, principal_of, request_id};
use crate::client::{classify, AwsError};
use crate::connector::Ctx;
use crate::resource_types as rt;
use crate::sso_group::{group_id_of, membership_grant};

pub struct Membership(pub Arc<Ctx>);

/// The id after `/user/` in a constructed Identity Center user ARN.
pub(crate) fn user_id_of(arn: &str) -> &str {
    arn.rsplit_once("/user/").map(|(_, id)| id).unwrap_or(arn)
}

impl Membership {
    /// The membership id of a user in a group, if the user is a member.
    async fn membership(&self, group_id: &str, user_id: &str) -> Result<Option<String>, AwsError> {
        let store = &self
            .0
            .instance()
            .map_err(|e| AwsError {
                operation: "sso:ListInstances",
                code: String::new(),
                message: e.message,
                kind: e.kind,
            })?
            .identity_store_id;
        match self
            .0
            .sso
            .store()
            .get_group_membership_id()
            .identity_store_id(store)
            .group_id(group_id)
            .member_id(MemberId::UserId(user_id.to_string()))
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.membership_id)),
            Err(e) => {
                let e = classify("identitystore:GetGroupMembershipId", &e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
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
        if pid.resource_type != rt::SSO_USER {
            return Err(invalid(format!(
                "only Identity Center users can be added to an Identity Center group, not {who}"
            )));
        }
        let group = entitlement.resource.clone().unwrap_or_default();
        let group_arn = super::entitlement_target(entitlement);
        let (group_id, user_id) = (group_id_of(&group_arn), user_id_of(&pid.resource));
        if let Some(existing) = self
            .membership(group_id, user_id)
            .await
            .map_err(|e| failed(e, "grant", &who, &entitlement.id))?
        {
            return Ok(Change::already(vec![membership_grant(
                &group,
                &pid.resource,
                &existing,
            )]));
        }
        let store = self.0.instance()?.identity_store_id.clone();
        match self
            .0
            .sso
            .store()
            .create_group_membership()
            .identity_store_id(&store)
            .group_id(group_id)
            .member_id(MemberId::UserId(user_id.to_string()))
            .send()
            .await
        {
            Ok(out) => {
                let ids = request_id(&out);
                Ok(Change::done(
                    vec![membership_grant(&group, &pid.resource, &out.membership_id)],
                    ids,
                ))
            }
            Err(e) => {
                let e = classify("identitystore:CreateGroupMembership", &e);
                if e.code == "ConflictException" {
                    let existing = self
                        .membership(group_id, user_id)
                        .await
                        .map_err(|e| failed(e, "grant", &who, &entitlement.id))?;
                    return Ok(Change::already(
                        existing
                            .map(|id| vec![membership_grant(&group, &pid.resource, &id)])
                            .unwrap_or_default(),
                    ));
                }
                Err(failed(e, "grant", &who, &entitlement.id))
            }
        }
    }

    async fn revoke(&self, grant: &Grant) -> Result<Change, ConnectorError> {
        let (ptype, user_arn) = principal_of(grant);
        let entitlement = grant.entitlement.clone().unwrap_or_default();
        let who = format!("{ptype}:{user_arn}");
        if ptype != rt::SSO_USER {
            return Err(invalid(format!("only Identity Center users can be removed from an Identity Center group, not {who}")));
        }
        let group_arn = super::entitlement_target(&entitlement);
        let Some(membership_id) = self
            .membership(group_id_of(&group_arn), user_id_of(&user_arn))
            .await
            .map_err(|e| failed(e, "revoke", &who, &entitlement.id))?
        else {
            return Ok(Change::already(Vec::new()));
        };
        let store = self.0.instance()?.identity_store_id.clone();
        match self
            .0
            .sso
            .store()
            .delete_group_membership()
            .identity_store_id(&store)
            .membership_id(&membership_id)
            .send()
            .await
        {
            Ok(out) => Ok(Change::done(Vec::new(), request_id(&out))),
            Err(e) => {
                let e = classify("identitystore:DeleteGroupMembership", &e);
                if e.is_not_found() {
                    return Ok(Change::already(Vec::new()));
                }
                Err(failed(e, "revoke", &who, &entitlement.id))
            }
        }
    }
}
