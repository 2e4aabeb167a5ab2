//! `inline_policy`: policies embedded in one user, role or group, listed as
//! children of their owner. Each has one grant: to its owner.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::types::{assignment_entitlement, expandable, grant, rid, Profile};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{Entitlement, Grant, Resource, ResourceId, ResourceType, RoleTrait};

use crate::connector::{bare_entitlement, Ctx};
use crate::iam::{name_from_arn, Entity};
use crate::resource_types as rt;

/// Separates the owner's ARN from the policy name in a resource id.
pub const SEPARATOR: &str = "::inline::";

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }

    /// A permission set has at most one inline policy, named `inline`.
    async fn list_for_permission_set(
        &self,
        parent: &ResourceId,
    ) -> Result<Page<Resource>, ConnectorError> {
        let instance = self.ctx.instance()?.instance_arn.clone();
        let fetched = self
            .ctx
            .sso
            .inline_policy(&instance, &parent.resource)
            .await;
        let Some(Some(document)) = self.ctx.optional(fetched, &parent.resource)? else {
            return Ok(Page::default());
        };
        let profile = Profile::new()
            .string("aws_policy_name", "inline")
            .string("aws_parent_arn", &parent.resource)
            .string("policy_document", document)
            .build();
        Ok(Page::last(vec![Resource {
            id: Some(rid(
                rt::INLINE_POLICY,
                &format!("{}{SEPARATOR}inline", parent.resource),
            )),
            parent_resource_id: Some(parent.clone()),
            display_name: "inline".into(),
            description: format!(
                "Inline policy attached to permission set {}",
                parent.resource
            ),
            annotations: vec![pack(&RoleTrait::default())],
            profile: Some(profile),
            ..Default::default()
        }]))
    }
}

fn entity_of(parent_type: &str) -> Option<Entity> {
    match parent_type {
        rt::IAM_USER => Some(Entity::User),
        rt::ROLE => Some(Entity::Role),
        rt::GROUP => Some(Entity::Group),
        _ => None,
    }
}

/// The `inline_policy` resource for a policy of an IAM user, role or group.
pub fn inline_resource(parent: &ResourceId, name: &str, document: Option<String>) -> Resource {
    let mut profile = Profile::new()
        .string("aws_policy_name", name)
        .string("aws_parent_arn", &parent.resource);
    if let Some(document) = document {
        profile = profile.string("policy_document", document);
    }
    Resource {
        id: Some(rid(
            rt::INLINE_POLICY,
            &format!("{}{SEPARATOR}{name}", parent.resource),
        )),
        parent_resource_id: Some(parent.clone()),
        display_name: name.into(),
        description: format!(
            "Inline policy {name} attached to {} IAM {}",
            parent.resource_type, parent.resource
        ),
        annotations: vec![pack(&RoleTrait::default())],
        profile: Some(profile.build()),
        ..Default::default()
    }
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::INLINE_POLICY, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let Some(parent) = parent else {
            return Ok(Page::default());
        };
        if parent.resource_type == rt::PERMISSION_SET {
            return self.list_for_permission_set(parent).await;
        }
        let Some(entity) = entity_of(&parent.resource_type) else {
            return Ok(Page::default());
        };
        let owner = name_from_arn(&parent.resource).to_string();
        let iam = self.ctx.iam_for_arn(&parent.resource).await?;
        if token.is_empty() {
            if let Some(policies) = iam.cached_inline_policies(entity, &owner).await? {
                return Ok(Page::last(
                    policies
                        .into_iter()
                        .map(|(name, document)| inline_resource(parent, &name, document))
                        .collect(),
                ));
            }
        }
        let listed = iam.inline_policy_names(entity, &owner, token).await;
        let Some((names, next)) = self.ctx.optional(listed, &parent.resource)? else {
            return Ok(Page::default());
        };
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let document = self.ctx.optional(
                iam.inline_policy_document(entity, &owner, &name).await,
                &parent.resource,
            )?;
            out.push(inline_resource(parent, &name, document));
        }
        Ok(Page::with_next(out, next.unwrap_or_default()))
    }

    async fn entitlements(
        &self,
        resource: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        let Some(parent) = resource.parent_resource_id.as_ref() else {
            return Err(ConnectorError::invalid(
                "baton-aws: inline policy missing parent resource",
            ));
        };
        let name = &resource.display_name;
        Ok(Page::last(vec![assignment_entitlement(
            resource,
            "attached",
            format!("{name} Inline Policy"),
            format!("Has the {name} inline policy in AWS"),
            rt::definitions(&[parent.resource_type.as_str()]),
        )]))
    }

    async fn grants(&self, resource: &Resource, _: &str) -> Result<Page<Grant>, ConnectorError> {
        let Some(parent) = resource.parent_resource_id.as_ref() else {
            return Ok(Page::default());
        };
        let id = resource
            .id
            .as_ref()
            .map(|i| i.resource.clone())
            .unwrap_or_default();
        let mut g = grant(
            bare_entitlement(resource, format!("{}:{id}:attached", rt::INLINE_POLICY)),
            parent,
        );
        match parent.resource_type.as_str() {
            rt::ROLE => g.annotations.push(expandable(
                vec![crate::role::assignment_id(&parent.resource)],
                false,
            )),
            rt::GROUP => g.annotations.push(expandable(
                vec![crate::group::member_id(&parent.resource)],
                true,
            )),
            _ => {}
        }
        Ok(Page::last(vec![g]))
    }
}
