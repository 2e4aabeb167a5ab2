//! `permission_set`: Identity Center permission sets and the AWS managed
//! policies attached to them. Also the per-sync caches of permission set
//! data that accounts and their bindings share.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ssoadmin::types::PermissionSet;
use baton_sdk::types::{child_type, grant, rid};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{Entitlement, Grant, Resource, ResourceId, ResourceType, RoleTrait};

use crate::connector::{policy_entitlement, Ctx};
use crate::resource_types as rt;

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

/// Every permission set ARN of the instance (all pages, cached for the sync).
pub async fn all_permission_sets(ctx: &Ctx) -> Result<Vec<String>, ConnectorError> {
    if ctx.setup().account_instance {
        return Ok(Vec::new());
    }
    ctx.sso_cache
        .permission_sets
        .get_or_try_init("", || async {
            let instance = ctx.instance()?.instance_arn.clone();
            let mut arns = Vec::new();
            let mut token = String::new();
            let mut seen = std::collections::HashSet::new();
            loop {
                let (page, next) = ctx.sso.list_permission_sets(&instance, &token).await?;
                arns.extend(page);
                match next {
                    Some(next) if seen.insert(next.clone()) => token = next,
                    Some(next) => return Err(repeated_token("sso:ListPermissionSets", &next)),
                    None => return Ok(arns),
                }
            }
        })
        .await
}

/// The permission sets provisioned to an account (all pages, cached for the sync).
pub async fn provisioned(ctx: &Ctx, account: &str) -> Result<Vec<String>, ConnectorError> {
    if ctx.setup().account_instance {
        return Ok(Vec::new());
    }
    ctx.sso_cache
        .provisioned
        .get_or_try_init(account, || async {
            let instance = ctx.instance()?.instance_arn.clone();
            let mut arns = Vec::new();
            let mut token = String::new();
            let mut seen = std::collections::HashSet::new();
            loop {
                let (page, next) = ctx
                    .sso
                    .provisioned_to_account(&instance, account, &token)
                    .await?;
                arns.extend(page);
                match next {
                    Some(next) if seen.insert(next.clone()) => token = next,
                    Some(next) => {
                        return Err(repeated_token(
                            "sso:ListPermissionSetsProvisionedToAccount",
                            &next,
                        ))
                    }
                    None => return Ok(arns),
                }
            }
        })
        .await
}

/// A permission set's name and description (cached for the sync).
pub async fn describe(ctx: &Ctx, arn: &str) -> Result<PermissionSet, ConnectorError> {
    ctx.sso_cache
        .descriptions
        .get_or_try_init(arn, || async {
            let instance = ctx.instance()?.instance_arn.clone();
            Ok(ctx.sso.describe_permission_set(&instance, arn).await?)
        })
        .await
}

/// The AWS managed policies of a permission set as (ARN, name), all pages,
/// cached for the sync. `None` when the listing is denied.
pub async fn managed_policies(
    ctx: &Ctx,
    ps_arn: &str,
) -> Result<Option<Vec<(String, String)>>, ConnectorError> {
    ctx.sso_cache
        .managed_policies
        .get_or_try_init(ps_arn, || async {
            let instance = ctx.instance()?.instance_arn.clone();
            let mut policies = Vec::new();
            let mut token = String::new();
            let mut seen = std::collections::HashSet::new();
            loop {
                let listed = ctx.sso.managed_policies(&instance, ps_arn, &token).await;
                let Some((page, next)) = ctx.optional(listed, ps_arn)? else {
                    return Ok(None);
                };
                policies.extend(
                    page.into_iter()
                        .filter_map(|p| Some((p.arn?, p.name.unwrap_or_default()))),
                );
                match next {
                    Some(next) if seen.insert(next.clone()) => token = next,
                    Some(next) => {
                        return Err(repeated_token(
                            "sso:ListManagedPoliciesInPermissionSet",
                            &next,
                        ))
                    }
                    None => return Ok(Some(policies)),
                }
            }
        })
        .await
}

/// The customer managed policy references of a permission set as (name,
/// path), all pages, cached for the sync. `None` when the listing is denied.
pub async fn customer_policies(
    ctx: &Ctx,
    ps_arn: &str,
) -> Result<Option<Vec<(String, String)>>, ConnectorError> {
    ctx.sso_cache
        .customer_policies
        .get_or_try_init(ps_arn, || async {
            let instance = ctx.instance()?.instance_arn.clone();
            let mut references = Vec::new();
            let mut token = String::new();
            let mut seen = std::collections::HashSet::new();
            loop {
                let listed = ctx.sso.customer_policies(&instance, ps_arn, &token).await;
                let Some((page, next)) = ctx.optional(listed, ps_arn)? else {
                    return Ok(None);
                };
                for reference in page {
                    let path = reference
                        .path
                        .clone()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "/".into());
                    references.push((reference.name.clone(), path));
                }
                match next {
                    Some(next) if seen.insert(next.clone()) => token = next,
                    Some(next) => {
                        return Err(repeated_token(
                            "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
                            &next,
                        ))
                    }
                    None => return Ok(Some(references)),
                }
            }
        })
        .await
}

/// Builds the sync error for a listing whose next-page token repeats.
pub fn repeated_token(operation: &'static str, token: &str) -> ConnectorError {
    crate::client::repeated_token_error(operation, token).into()
}

pub fn permission_set_resource(ps: &PermissionSet) -> Resource {
    let arn = ps.permission_set_arn.clone().unwrap_or_default();
    Resource {
        id: Some(rid(rt::PERMISSION_SET, &arn)),
        display_name: ps.name.clone().unwrap_or_default(),
        description: ps.description.clone().unwrap_or_default(),
        annotations: vec![child_type(rt::INLINE_POLICY), pack(&RoleTrait::default())],
        ..Default::default()
    }
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::PERMISSION_SET, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        _: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        if self.ctx.setup().account_instance {
            return Ok(Page::default());
        }
        let instance = self.ctx.instance()?.instance_arn.clone();
        let (arns, next) = self.ctx.sso.list_permission_sets(&instance, token).await?;
        let mut out = Vec::with_capacity(arns.len());
        for arn in arns {
            out.push(permission_set_resource(&describe(&self.ctx, &arn).await?));
        }
        Ok(Page::with_next(out, next.unwrap_or_default()))
    }

    async fn entitlements(
        &self,
        _: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        Ok(Page::default())
    }

    async fn grants(
        &self,
        resource: &Resource,
        token: &str,
    ) -> Result<Page<Grant>, ConnectorError> {
        let instance = self.ctx.instance()?.instance_arn.clone();
        let id = resource.id.clone().unwrap_or_default();
        if token.is_empty() {
            let Some(policies) = managed_policies(&self.ctx, &id.resource).await? else {
                return Ok(Page::default());
            };
            let grants = policies
                .iter()
                .map(|(arn, name)| grant(policy_entitlement(arn, name), &id))
                .collect();
            return Ok(Page::last(grants));
        }
        let listed = self
            .ctx
            .sso
            .managed_policies(&instance, &id.resource, token)
            .await;
        let Some((policies, next)) = self.ctx.optional(listed, &id.resource)? else {
            return Ok(Page::default());
        };
        let grants = policies
            .into_iter()
            .filter_map(|p| {
                Some(grant(
                    policy_entitlement(p.arn.as_deref()?, p.name.as_deref().unwrap_or("")),
                    &id,
                ))
            })
            .collect();
        Ok(Page::with_next(grants, next.unwrap_or_default()))
    }
}
