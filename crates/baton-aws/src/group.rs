//! `group`: IAM groups, their members, and the managed policies attached to them.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::Group;
use baton_sdk::types::{assignment_entitlement, child_type, expandable, grant, rid, Profile};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{Entitlement, Grant, GroupTrait, Resource, ResourceId, ResourceType, V1Identifier};

use crate::connector::{bare_entitlement, policy_entitlement, Ctx};
use crate::iam::{name_from_arn, Entity};
use crate::resource_types as rt;

/// Page tokens of the two grant phases: members, then attached policies.
const MEMBERS: &str = "members:";
const POLICIES: &str = "policies:";

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

/// The `group` resource for an IAM group.
pub fn group_resource(group: &Group, parent: Option<&ResourceId>) -> Resource {
    let profile = Profile::new()
        .string("aws_arn", &group.arn)
        .string("aws_path", &group.path)
        .string("aws_group_type", "iam")
        .string("aws_group_name", &group.group_name)
        .string("aws_group_id", &group.group_id)
        .build();
    Resource {
        id: Some(rid(rt::GROUP, &group.arn)),
        parent_resource_id: parent.cloned(),
        display_name: group.group_name.clone(),
        annotations: vec![
            pack(&V1Identifier {
                id: group.arn.clone(),
            }),
            child_type(rt::INLINE_POLICY),
            pack(&GroupTrait::default()),
        ],
        profile: Some(profile),
        ..Default::default()
    }
}

/// The `member` entitlement id of a group.
pub fn member_id(group_arn: &str) -> String {
    format!("{}:{group_arn}:member", rt::GROUP)
}

/// The membership grant of a user in a group, as sync and provisioning both report it.
pub fn membership_grant(group: &Resource, user_arn: &str) -> Grant {
    let group_arn = group
        .id
        .as_ref()
        .map(|i| i.resource.clone())
        .unwrap_or_default();
    let mut g = grant(
        bare_entitlement(group, member_id(&group_arn)),
        &rid(rt::IAM_USER, user_arn),
    );
    g.annotations.push(pack(&V1Identifier {
        id: format!("grant:membership:{group_arn}:{user_arn}"),
    }));
    g
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::GROUP, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let (groups, next) = self
            .ctx
            .iam_for_parent(parent)
            .await?
            .list_groups(token)
            .await?;
        Ok(Page::with_next(
            groups.iter().map(|g| group_resource(g, parent)).collect(),
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
            format!("Is member of the {name} IAM group in AWS"),
            rt::definitions(&[rt::IAM_USER]),
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
        let id = resource.id.clone().unwrap_or_default();
        let name = name_from_arn(&id.resource).to_string();
        let iam = self.ctx.iam_for_arn(&id.resource).await?;
        if token.is_empty() || token.starts_with(MEMBERS) {
            let marker = token.strip_prefix(MEMBERS).unwrap_or("");
            let cached = if marker.is_empty() {
                iam.cached_group_members(&name).await?
            } else {
                None
            };
            let (members, next) = match cached {
                Some(members) => (members, None),
                None => {
                    let listed = iam.group_members(&name, marker).await;
                    let (members, next) =
                        self.ctx.optional(listed, &id.resource)?.unwrap_or_default();
                    (members.into_iter().map(|u| u.arn).collect(), next)
                }
            };
            let grants = members
                .iter()
                .map(|arn| membership_grant(resource, arn))
                .collect();
            let next_token = match next {
                Some(marker) => format!("{MEMBERS}{marker}"),
                None if self.ctx.sync_policy_grants => POLICIES.to_string(),
                None => String::new(),
            };
            return Ok(Page::with_next(grants, next_token));
        }
        let marker = token.strip_prefix(POLICIES).unwrap_or("");
        let cached = if marker.is_empty() {
            iam.cached_attached_policies(Entity::Group, &name).await?
        } else {
            None
        };
        let (policies, next) = match cached {
            Some(policies) => (policies, None),
            None => {
                let listed = iam.attached_policies(Entity::Group, &name, marker).await;
                let Some((policies, next)) = self.ctx.optional(listed, &id.resource)? else {
                    return Ok(Page::default());
                };
                (
                    policies
                        .into_iter()
                        .filter_map(|p| Some((p.policy_arn?, p.policy_name.unwrap_or_default())))
                        .collect(),
                    next,
                )
            }
        };
        let member = member_id(&id.resource);
        let grants = policies
            .iter()
            .map(|(arn, name)| {
                let mut g = grant(policy_entitlement(arn, name), &id);
                g.annotations.push(expandable(vec![member.clone()], true));
                g
            })
            .collect();
        Ok(Page::with_next(
            grants,
            next.map(|m| format!("{POLICIES}{m}")).unwrap_or_default(),
        ))
    }
}
