//! `account`: AWS Organizations accounts, shown as applications. Each
//! permission set of the Identity Center instance is an entitlement of
//! every account; account assignments are its grants.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_organizations::types::Account;
use aws_sdk_ssoadmin::types::{AccountAssignment, PrincipalType};
use baton_sdk::types::{child_type, expandable, rid, Profile};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{
    entitlement::PurposeValue, AppTrait, Entitlement, Grant, Resource, ResourceId, ResourceType,
    V1Identifier,
};
use tracing::{debug, info};

use crate::connector::Ctx;
use crate::orgs::{is_active, state_text, AccountParent};
use crate::permission_set::{all_permission_sets, describe, provisioned};
use crate::resource_types as rt;
use crate::sso_user::identity_arn;

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

/// The account resource of `account` or `account_iam` type.
pub fn account_resource(
    resource_type: &str,
    account: &Account,
    parent: Option<ResourceId>,
    children: &[&str],
) -> Resource {
    let id = account.id.clone().unwrap_or_default();
    let profile = Profile::new()
        .string("aws_account_arn", account.arn.clone().unwrap_or_default())
        .string("aws_account_id", &id)
        .build();
    let mut annotations = vec![pack(&V1Identifier { id: id.clone() })];
    annotations.extend(children.iter().map(|c| child_type(c)));
    annotations.push(pack(&AppTrait::default()));
    Resource {
        id: Some(rid(resource_type, &id)),
        parent_resource_id: parent,
        display_name: account.name.clone().unwrap_or_default(),
        annotations,
        profile: Some(profile),
        ..Default::default()
    }
}

/// The entitlement id of a permission set on an account.
pub fn entitlement_id(account: &str, ps_arn: &str) -> String {
    format!("{account}|{ps_arn}")
}

/// The principal of an account assignment, as (resource type, constructed ARN).
pub fn assignment_principal(
    ctx: &Ctx,
    assignment: &AccountAssignment,
) -> Option<(&'static str, String)> {
    let instance = ctx.setup().instance.as_ref()?;
    let id = assignment.principal_id.as_deref()?;
    let region = &ctx.args.sso_region;
    match assignment.principal_type.as_ref()? {
        PrincipalType::User => Some((
            rt::SSO_USER,
            identity_arn(region, &instance.identity_store_id, "user", id),
        )),
        PrincipalType::Group => Some((
            rt::SSO_GROUP,
            identity_arn(region, &instance.identity_store_id, "group", id),
        )),
        _ => None,
    }
}

/// Splits an account grant page token into (permission set index, AWS token).
fn parse_token(token: &str) -> (usize, String) {
    match token.split_once(':') {
        Some((index, aws)) => (index.parse().unwrap_or(0), aws.to_string()),
        None => (0, String::new()),
    }
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::ACCOUNT, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        if parent.is_some() {
            return Ok(Page::default());
        }
        let (accounts, next) = self.ctx.orgs.list_accounts(token).await?;
        let mut out = Vec::new();
        for account in &accounts {
            let id = account.id.clone().unwrap_or_default();
            if !is_active(account) {
                info!(account = %id, state = %state_text(account), "skipping an account that is not active");
                continue;
            }
            let mut parent_id = None;
            if self.ctx.sync_org_parents {
                match self.ctx.orgs.account_parent(&id).await {
                    Ok(Some(AccountParent::Root(root))) => {
                        parent_id = Some(rid(rt::ORGANIZATION, &root))
                    }
                    Ok(Some(AccountParent::Unit(unit))) if self.ctx.sync_unit_parents => {
                        parent_id = Some(rid(rt::ORGANIZATIONAL_UNIT, &unit))
                    }
                    Ok(_) => {}
                    Err(e) if e.is_access_denied() => {
                        debug!(account = %id, "no access to organizations:ListParents; the account gets no parent")
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            out.push(account_resource(
                rt::ACCOUNT,
                account,
                parent_id,
                &[rt::PERMISSION_SET_ASSIGNMENT],
            ));
        }
        Ok(Page::with_next(out, next.unwrap_or_default()))
    }

    async fn entitlements(
        &self,
        resource: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        let account = resource
            .id
            .as_ref()
            .map(|i| i.resource.clone())
            .unwrap_or_default();
        let mut out = Vec::new();
        for arn in all_permission_sets(&self.ctx).await? {
            let ps = describe(&self.ctx, &arn).await?;
            let name = ps.name.clone().unwrap_or_default();
            let id = entitlement_id(&account, &arn);
            out.push(Entitlement {
                resource: Some(resource.clone()),
                id: id.clone(),
                display_name: format!("{name} Permission Set"),
                description: ps.description.clone().unwrap_or_default(),
                grantable_to: rt::definitions(&[rt::SSO_USER, rt::SSO_GROUP]),
                annotations: vec![pack(&V1Identifier { id })],
                purpose: PurposeValue::Assignment as i32,
                slug: format!("{name} access"),
            });
        }
        Ok(Page::last(out))
    }

    /// One page per permission set provisioned to the account (more when its
    /// assignments span several AWS pages).
    async fn grants(
        &self,
        resource: &Resource,
        token: &str,
    ) -> Result<Page<Grant>, ConnectorError> {
        let account = resource
            .id
            .as_ref()
            .map(|i| i.resource.clone())
            .unwrap_or_default();
        let sets = provisioned(&self.ctx, &account).await?;
        let (index, aws_token) = parse_token(token);
        let Some(ps_arn) = sets.get(index) else {
            return Ok(Page::default());
        };
        let instance = self.ctx.instance()?.instance_arn.clone();
        let listed = self
            .ctx
            .sso_cache
            .assignments(&account, ps_arn, &aws_token, || {
                self.ctx
                    .sso
                    .account_assignments(&instance, &account, ps_arn, &aws_token)
            })
            .await;
        let (assignments, next) = self.ctx.optional(listed, ps_arn)?.unwrap_or_default();
        let ps = describe(&self.ctx, ps_arn).await?;
        let id = entitlement_id(&account, ps_arn);
        let entitlement = Entitlement {
            resource: Some(resource.clone()),
            id: id.clone(),
            display_name: format!("{} Permission Set", ps.name.clone().unwrap_or_default()),
            description: ps.description.clone().unwrap_or_default(),
            grantable_to: rt::definitions(&[rt::SSO_GROUP, rt::SSO_USER]),
            annotations: vec![pack(&V1Identifier { id: id.clone() })],
            purpose: PurposeValue::Assignment as i32,
            slug: String::new(),
        };
        let mut grants = Vec::new();
        for assignment in &assignments {
            let Some((principal_type, principal_arn)) = assignment_principal(&self.ctx, assignment)
            else {
                continue;
            };
            let mut annotations = vec![pack(&V1Identifier {
                id: format!("grant:{id}:{principal_arn}"),
            })];
            if principal_type == rt::SSO_GROUP {
                annotations.push(expandable(
                    vec![crate::sso_group::member_id(&principal_arn)],
                    false,
                ));
            }
            grants.push(Grant {
                entitlement: Some(entitlement.clone()),
                principal: Some(Resource {
                    id: Some(rid(principal_type, &principal_arn)),
                    ..Default::default()
                }),
                id: format!("grant:{principal_type}:{principal_arn}:{id}"),
                annotations,
                sources: None,
            });
        }
        let next_token = match next {
            Some(next) => format!("{index}:{next}"),
            None if index + 1 < sets.len() => format!("{}:", index + 1),
            None => String::new(),
        };
        Ok(Page::with_next(grants, next_token))
    }
}
