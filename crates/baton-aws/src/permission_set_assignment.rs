//! `permission_set_assignment`: a permission set provisioned to one account
//! (a scope binding), listed under its account. Its `assigned` entitlement
//! is held by the users and groups assigned there, and it holds the
//! permission set's managed and customer-managed policies.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::types::{assignment_entitlement, expandable, grant, rid};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::{self, pack};
use c1z::v2::{
    Entitlement, Grant, Resource, ResourceId, ResourceType, ScopeBindingTrait, V1Identifier,
};

use crate::account::assignment_principal;
use crate::connector::{policy_entitlement, Ctx};
use crate::permission_set::{customer_policies, describe, managed_policies, provisioned};
use crate::resource_types as rt;

/// Page token of the policy phase, after the assignment pages.
const POLICIES: &str = "policies";
/// Prefix of assignment-phase page tokens.
const ASSIGNMENTS: &str = "assignments:";

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

fn binding_parts(resource: &Resource) -> Option<(String, String)> {
    let binding: ScopeBindingTrait = any::find(&resource.annotations)?;
    Some((
        binding.scope_resource_id?.resource,
        binding.role_id?.resource,
    ))
}

fn assigned_entitlement(resource: &Resource) -> Entitlement {
    assignment_entitlement(
        resource,
        "assigned",
        "assigned".into(),
        String::new(),
        rt::definitions(&[rt::SSO_USER, rt::SSO_GROUP]),
    )
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::PERMISSION_SET_ASSIGNMENT, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        _: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let Some(parent) = parent.filter(|p| p.resource_type == rt::ACCOUNT) else {
            return Ok(Page::default());
        };
        let account = parent.resource.clone();
        let mut out = Vec::new();
        for ps_arn in provisioned(&self.ctx, &account).await? {
            let ps = describe(&self.ctx, &ps_arn).await?;
            let binding = ScopeBindingTrait {
                role_id: Some(rid(rt::PERMISSION_SET, &ps_arn)),
                scope_resource_id: Some(parent.clone()),
            };
            out.push(Resource {
                id: Some(rid(
                    rt::PERMISSION_SET_ASSIGNMENT,
                    &format!("{ps_arn}-{account}"),
                )),
                parent_resource_id: Some(parent.clone()),
                display_name: format!("{} on {account}", ps.name.clone().unwrap_or_default()),
                annotations: vec![pack(&binding)],
                ..Default::default()
            });
        }
        Ok(Page::last(out))
    }

    async fn entitlements(
        &self,
        resource: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        Ok(Page::last(vec![assigned_entitlement(resource)]))
    }

    async fn grants(
        &self,
        resource: &Resource,
        token: &str,
    ) -> Result<Page<Grant>, ConnectorError> {
        let Some((account, ps_arn)) = binding_parts(resource) else {
            return Ok(Page::default());
        };
        let instance = self.ctx.instance()?.instance_arn.clone();
        let binding_id = resource.id.clone().unwrap_or_default();
        let entitlement = assigned_entitlement(resource);

        if token != POLICIES {
            let aws_token = token.strip_prefix(ASSIGNMENTS).unwrap_or("");
            let listed = self
                .ctx
                .sso_cache
                .assignments(&account, &ps_arn, aws_token, || {
                    self.ctx
                        .sso
                        .account_assignments(&instance, &account, &ps_arn, aws_token)
                })
                .await;
            let (assignments, next) = self
                .ctx
                .optional(listed, &binding_id.resource)?
                .unwrap_or_default();
            let mut grants = Vec::new();
            for assignment in &assignments {
                let Some((principal_type, principal_arn)) =
                    assignment_principal(&self.ctx, assignment)
                else {
                    continue;
                };
                let mut g = grant(entitlement.clone(), &rid(principal_type, &principal_arn));
                g.id = format!("grant:{principal_type}:{principal_arn}:{}", entitlement.id);
                g.annotations.push(pack(&V1Identifier {
                    id: format!("grant:{}:{principal_arn}", entitlement.id),
                }));
                if principal_type == rt::SSO_GROUP {
                    g.annotations.push(expandable(
                        vec![crate::sso_group::member_id(&principal_arn)],
                        false,
                    ));
                }
                grants.push(g);
            }
            let next_token = next
                .map(|t| format!("{ASSIGNMENTS}{t}"))
                .unwrap_or_else(|| POLICIES.to_string());
            return Ok(Page::with_next(grants, next_token));
        }

        let mut policies: Vec<(String, String)> = managed_policies(&self.ctx, &ps_arn)
            .await?
            .unwrap_or_default();
        for (name, path) in customer_policies(&self.ctx, &ps_arn)
            .await?
            .unwrap_or_default()
        {
            policies.push((format!("arn:aws:iam::{account}:policy{path}{name}"), name));
        }
        let grants = policies
            .iter()
            .map(|(arn, name)| {
                let mut g = grant(policy_entitlement(arn, name), &binding_id);
                g.annotations
                    .push(expandable(vec![entitlement.id.clone()], false));
                g
            })
            .collect();
        Ok(Page::last(grants))
    }
}
