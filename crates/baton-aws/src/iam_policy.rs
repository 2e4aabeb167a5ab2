//! `iam_policy`: managed policies (customer and AWS managed) with their
//! default version's document. Grants of their `attached` entitlement come
//! from the users, groups and roles the policies are attached to.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::Policy;
use baton_sdk::types::{assignment_entitlement, rid, Profile};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{Entitlement, Grant, Resource, ResourceId, ResourceType, RoleTrait, SkipGrants};

use crate::connector::{account_of, Ctx};
use crate::resource_types as rt;

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

/// The `iam_policy` resource for a managed policy. AWS-managed policies
/// (account `aws`) never get a parent: every account lists the same ones.
pub fn policy_resource(
    policy: &Policy,
    document: Option<String>,
    parent: Option<&ResourceId>,
) -> Resource {
    let arn = policy.arn.clone().unwrap_or_default();
    let name = policy.policy_name.clone().unwrap_or_default();
    let mut profile = Profile::new()
        .string("aws_policy_name", &name)
        .string("aws_policy_arn", &arn);
    if let Some(document) = document {
        profile = profile.string("policy_document", document);
    }
    let aws_managed = account_of(&arn) == "aws";
    Resource {
        id: Some(rid(rt::IAM_POLICY, &arn)),
        parent_resource_id: if aws_managed { None } else { parent.cloned() },
        display_name: name,
        description: policy.description.clone().unwrap_or_default(),
        annotations: vec![pack(&SkipGrants::default()), pack(&RoleTrait::default())],
        profile: Some(profile.build()),
        ..Default::default()
    }
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::IAM_POLICY, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let iam = self.ctx.iam_for_parent(parent).await?;
        let (policies, next) = iam
            .list_policies(self.ctx.args.sync_only_attached_policies, token)
            .await?;
        let mut out = Vec::with_capacity(policies.len());
        for policy in &policies {
            let arn = policy.arn.clone().unwrap_or_default();
            let aws_managed = account_of(&arn) == "aws";
            // Every account lists the same AWS-managed policies: read each document once per sync.
            let cached = if aws_managed {
                self.ctx
                    .caches
                    .lock()
                    .await
                    .aws_managed_documents
                    .get(&arn)
                    .cloned()
            } else {
                None
            };
            let document = match (cached, &policy.default_version_id) {
                (Some(document), _) => document,
                (None, Some(version)) => match iam.cached_policy_document(&arn, version).await? {
                    Some(document) => document,
                    None => self
                        .ctx
                        .optional(iam.policy_document(&arn, version).await, &arn)?
                        .flatten(),
                },
                (None, None) => None,
            };
            if aws_managed {
                self.ctx
                    .caches
                    .lock()
                    .await
                    .aws_managed_documents
                    .insert(arn.clone(), document.clone());
            }
            out.push(policy_resource(policy, document, parent));
        }
        Ok(Page::with_next(out, next.unwrap_or_default()))
    }

    async fn entitlements(
        &self,
        resource: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        let name = &resource.display_name;
        Ok(Page::last(vec![assignment_entitlement(
            resource,
            "attached",
            format!("{name} Managed Policy"),
            format!("Has the {name} managed policy in AWS"),
            rt::definitions(&[
                rt::IAM_USER,
                rt::ROLE,
                rt::GROUP,
                rt::PERMISSION_SET,
                rt::PERMISSION_SET_ASSIGNMENT,
            ]),
        )]))
    }

    async fn grants(&self, _: &Resource, _: &str) -> Result<Page<Grant>, ConnectorError> {
        Ok(Page::default())
    }
}
