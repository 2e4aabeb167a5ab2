//! `sso_group`: IAM Identity Center groups and their members.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_identitystore::types::{Group, MemberId};
use baton_sdk::types::{assignment_entitlement, grant, rid, Profile};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{Entitlement, Grant, GroupTrait, Resource, ResourceId, ResourceType, V1Identifier};

use crate::connector::{bare_entitlement, Ctx};
use crate::resource_types as rt;
use crate::sso_user::{external_ids_value, identity_arn};

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

pub fn group_resource(group: &Group, region: &str) -> Resource {
    let arn = identity_arn(region, &group.identity_store_id, "group", &group.group_id);
    let name = group.display_name.clone().unwrap_or_default();
    let mut profile = Profile::new()
        .string("aws_group_type", "sso")
        .string("aws_group_name", &name)
        .string("aws_group_id", &group.group_id);
    if let Some(ids) = external_ids_value(group.external_ids()) {
        profile = profile.value("external_ids", ids);
    }
    Resource {
        id: Some(rid(rt::SSO_GROUP, &arn)),
        display_name: name,
        annotations: vec![
            pack(&V1Identifier { id: arn }),
            pack(&GroupTrait::default()),
        ],
        profile: Some(profile.build()),
        ..Default::default()
    }
}

/// The `member` entitlement id of an Identity Center group.
pub fn member_id(group_arn: &str) -> String {
    format!("{}:{group_arn}:member", rt::SSO_GROUP)
}

/// The group id at the end of a constructed group ARN.
pub fn group_id_of(arn: &str) -> &str {
    arn.rsplit_once("/group/").map(|(_, id)| id).unwrap_or(arn)
}

/// The membership grant of a user in a group, id'd by the Identity Store membership id.
pub fn membership_grant(group: &Resource, user_arn: &str, membership_id: &str) -> Grant {
    let group_arn = group
        .id
        .as_ref()
        .map(|i| i.resource.clone())
        .unwrap_or_default();
    let mut g = grant(
        bare_entitlement(group, member_id(&group_arn)),
        &rid(rt::SSO_USER, user_arn),
    );
    if !membership_id.is_empty() {
        g.id = membership_id.to_string();
    }
    g.annotations.push(pack(&V1Identifier {
        id: format!("grant:membership:{group_arn}:{user_arn}"),
    }));
    g
}

#[async_trait]
impl ResourceSyncer for Syncer {
    /// The Identity Store listing returns every group (a denied listing
    /// fails the sync), so an assignment or membership naming one it did not
    /// return is left over from a deleted group.
    fn lists_every_principal(&self) -> bool {
        true
    }

    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::SSO_GROUP, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        _: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let instance = self.ctx.instance()?;
        let (groups, next) = self
            .ctx
            .sso
            .list_groups(&instance.identity_store_id, token)
            .await?;
        let region = &self.ctx.args.sso_region;
        Ok(Page::with_next(
            groups.iter().map(|g| group_resource(g, region)).collect(),
            next.unwrap_or_default(),
        ))
    }

    async fn entitlements(
        &self,
        resource: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        let name = &resource.display_name;
        let arn = resource
            .id
            .as_ref()
            .map(|i| i.resource.clone())
            .unwrap_or_default();
        let mut entitlement = assignment_entitlement(
            resource,
            "member",
            format!("{name} Group Member"),
            format!("Is member of the {name} SSO group in AWS"),
            rt::definitions(&[rt::SSO_USER]),
        );
        entitlement.annotations.push(pack(&V1Identifier {
            id: format!("membership:{arn}"),
        }));
        Ok(Page::last(vec![entitlement]))
    }

    async fn grants(
        &self,
        resource: &Resource,
        token: &str,
    ) -> Result<Page<Grant>, ConnectorError> {
        let instance = self.ctx.instance()?;
        let arn = resource
            .id
            .as_ref()
            .map(|i| i.resource.clone())
            .unwrap_or_default();
        let listed = self
            .ctx
            .sso
            .list_memberships(&instance.identity_store_id, group_id_of(&arn), token)
            .await;
        let Some((memberships, next)) = self.ctx.optional(listed, &arn)? else {
            return Ok(Page::default());
        };
        let region = &self.ctx.args.sso_region;
        let grants = memberships
            .iter()
            .filter_map(|m| match &m.member_id {
                Some(MemberId::UserId(user_id)) => {
                    let user_arn =
                        identity_arn(region, &instance.identity_store_id, "user", user_id);
                    Some(membership_grant(resource, &user_arn, &m.membership_id))
                }
                _ => None,
            })
            .collect();
        Ok(Page::with_next(grants, next.unwrap_or_default()))
    }
}
