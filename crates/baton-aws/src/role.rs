//! `role`: IAM roles, who may assume them (trust policy), and their managed policies.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::Role;
use baton_sdk::types::{assignment_entitlement, child_type, expandable, grant, rid, Profile};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{
    Entitlement, Grant, NonHumanIdentityTrait, Resource, ResourceId, ResourceType, RoleTrait,
    V1Identifier,
};
use prost_types::Struct;
use tracing::warn;

use crate::connector::{account_of, bare_entitlement, policy_entitlement, Ctx};
use crate::iam::{name_from_arn, url_decode, Entity};
use crate::resource_types as rt;
use crate::trust::{classify_role, PrincipalKind, TrustPolicy};

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

/// The `role` resource for a role.
pub fn role_resource(role: &Role, parent: Option<&ResourceId>) -> Resource {
    let trust = role.assume_role_policy_document.as_deref().map(url_decode);
    let (nhi_type, nhi_detail) =
        classify_role(&role.path, &account_of(&role.arn), trust.as_deref());
    let mut tags = Struct::default();
    for tag in role.tags.iter().flatten() {
        tags.fields.insert(
            tag.key.clone(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(tag.value.clone())),
            },
        );
    }
    let mut profile = Profile::new()
        .string("aws_arn", &role.arn)
        .string("aws_path", &role.path)
        .structure("aws_tags", tags)
        .string("aws_role_name", &role.role_name)
        .string(
            "aws_role_description",
            role.description.clone().unwrap_or_default(),
        );
    if let Some(seconds) = role.max_session_duration {
        profile = profile.number("aws_max_session_duration_seconds", seconds as f64);
    }
    Resource {
        id: Some(rid(rt::ROLE, &role.arn)),
        parent_resource_id: parent.cloned(),
        display_name: role.role_name.clone(),
        annotations: vec![
            pack(&V1Identifier {
                id: role.arn.clone(),
            }),
            child_type(rt::INLINE_POLICY),
            pack(&NonHumanIdentityTrait {
                nhi_type: nhi_type as i32,
                nhi_detail,
            }),
            pack(&RoleTrait::default()),
        ],
        profile: Some(profile.build()),
        ..Default::default()
    }
}

/// The `assignment` entitlement id of a role.
pub fn assignment_id(role_arn: &str) -> String {
    format!("{}:{role_arn}:assignment", rt::ROLE)
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::ROLE, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let (roles, next) = self
            .ctx
            .iam_for_parent(parent)
            .await?
            .list_roles(token)
            .await?;
        Ok(Page::with_next(
            roles.iter().map(|r| role_resource(r, parent)).collect(),
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
            "assignment",
            format!("{name} Role"),
            format!("Can assume the {name} role in AWS"),
            rt::definitions(&[rt::IAM_USER, rt::ROLE, rt::GROUP, rt::SSO_USER]),
        );
        entitlement.annotations.push(pack(&V1Identifier {
            id: format!("membership:{arn}"),
        }));
        Ok(Page::last(vec![entitlement]))
    }

    /// The first page holds the trust grants and the first page of attached
    /// policies; later pages continue the attached policies.
    async fn grants(
        &self,
        resource: &Resource,
        token: &str,
    ) -> Result<Page<Grant>, ConnectorError> {
        let id = resource.id.clone().unwrap_or_default();
        let role_arn = id.resource.clone();
        let role_name = name_from_arn(&role_arn).to_string();
        let entitlement_id = assignment_id(&role_arn);
        let iam = self.ctx.iam_for_arn(&role_arn).await?;
        let mut grants = Vec::new();
        if token.is_empty() {
            // Unlike the Go connector, a failed GetRole does not also drop the policy grants.
            let trust = match iam.cached_role_trust_policy(&role_name).await? {
                Some(document) => Some(document),
                None => self
                    .ctx
                    .optional(iam.role_trust_policy(&role_name).await, &role_arn)?,
            };
            if let Some(Some(document)) = trust {
                match TrustPolicy::parse(&document) {
                    Ok(policy) => {
                        if let Some(first) = policy.unread.first() {
                            let seen = self.ctx.warn_once(
                                "trust-policy-unread",
                                &format!("role {role_arn}: part of its trust policy was not understood ({first}); that part gives no grants (other roles with such parts are logged at debug level)"),
                            );
                            if seen > 1 {
                                tracing::debug!(role = %role_arn, unread = ?policy.unread, "trust policy parts not understood");
                            }
                        }
                        for (kind, principal_arn) in policy.assumers() {
                            let principal_type = match kind {
                                PrincipalKind::User => rt::IAM_USER,
                                PrincipalKind::Role => rt::ROLE,
                            };
                            let mut g = grant(
                                bare_entitlement(resource, entitlement_id.clone()),
                                &rid(principal_type, &principal_arn),
                            );
                            if principal_type == rt::ROLE {
                                g.annotations
                                    .push(expandable(vec![assignment_id(&principal_arn)], false));
                            }
                            grants.push(g);
                        }
                    }
                    Err(e) => {
                        warn!(role = %role_arn, error = %e, "the trust policy is not valid JSON; no trust grants for this role")
                    }
                }
            }
        }
        if !self.ctx.sync_policy_grants {
            return Ok(Page::last(grants));
        }
        let cached = if token.is_empty() {
            iam.cached_attached_policies(Entity::Role, &role_name)
                .await?
        } else {
            None
        };
        let (policies, next) = match cached {
            Some(policies) => (policies, None),
            None => {
                let listed = iam.attached_policies(Entity::Role, &role_name, token).await;
                let Some((policies, next)) = self.ctx.optional(listed, &role_arn)? else {
                    return Ok(Page::last(grants));
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
        for (arn, name) in &policies {
            let mut g = grant(policy_entitlement(arn, name), &id);
            g.annotations
                .push(expandable(vec![entitlement_id.clone()], false));
            grants.push(g);
        }
        Ok(Page::with_next(grants, next.unwrap_or_default()))
    }
}
