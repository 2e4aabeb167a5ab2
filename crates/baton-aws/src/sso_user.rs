//! `sso_user`: IAM Identity Center users.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_identitystore::types::{User, UserStatus};
use baton_sdk::types::{enabled_user_status, rid, Profile};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{
    status::ResourceStatus, user_trait, Entitlement, Grant, Resource, ResourceId, ResourceType,
    Status, UserTrait, V1Identifier,
};
use prost_types::{value::Kind, ListValue, Struct, Value};

use crate::connector::Ctx;
use crate::resource_types as rt;

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }
}

/// The constructed ARN of an Identity Center user or group.
pub fn identity_arn(region: &str, store: &str, kind: &str, id: &str) -> String {
    format!("arn:aws:identitystore:{region}::{store}/{kind}/{id}")
}

/// External ids as a profile list of `{id, issuer}` structs.
pub fn external_ids_value(ids: &[aws_sdk_identitystore::types::ExternalId]) -> Option<Value> {
    if ids.is_empty() {
        return None;
    }
    let values = ids
        .iter()
        .map(|e| {
            let mut s = Struct::default();
            s.fields.insert(
                "id".into(),
                Value {
                    kind: Some(Kind::StringValue(e.id.clone())),
                },
            );
            s.fields.insert(
                "issuer".into(),
                Value {
                    kind: Some(Kind::StringValue(e.issuer.clone())),
                },
            );
            Value {
                kind: Some(Kind::StructValue(s)),
            }
        })
        .collect();
    Some(Value {
        kind: Some(Kind::ListValue(ListValue { values })),
    })
}

/// The `sso_user` resource. `active` is the SCIM status, used only when the
/// Identity Store reports none.
pub fn user_resource(
    user: &User,
    region: &str,
    active: Option<bool>,
    last_login: Option<prost_types::Timestamp>,
) -> Resource {
    let arn = identity_arn(region, &user.identity_store_id, "user", &user.user_id);
    let user_name = user.user_name.clone().unwrap_or_default();
    let mut emails = Vec::new();
    if user_name.contains('@') {
        emails.push(user_trait::Email {
            address: user_name.clone(),
            is_primary: true,
        });
    }
    for email in user.emails() {
        let Some(address) = email.value.clone() else {
            continue;
        };
        let is_primary = emails.is_empty();
        emails.push(user_trait::Email {
            address,
            is_primary,
        });
    }
    let status = match (&user.user_status, active) {
        (Some(UserStatus::Enabled), _) | (None, Some(true)) => ResourceStatus::Enabled,
        (Some(UserStatus::Disabled), _) | (None, Some(false)) => ResourceStatus::Disabled,
        _ => ResourceStatus::Unspecified,
    };
    let mut profile = Profile::new()
        .string("aws_user_type", "sso")
        .string(
            "aws_user_name",
            user.display_name.clone().unwrap_or_default(),
        )
        .string("aws_user_id", &user.user_id);
    if let Some(ids) = external_ids_value(user.external_ids()) {
        profile = profile.value("external_ids", ids);
    }
    let trait_ = UserTrait {
        emails,
        status: Some(enabled_user_status()),
        account_type: user_trait::AccountType::Human as i32,
        last_login,
        ..Default::default()
    };
    Resource {
        id: Some(rid(rt::SSO_USER, &arn)),
        display_name: user_name,
        annotations: vec![pack(&V1Identifier { id: arn.clone() }), pack(&trait_)],
        profile: Some(profile.build()),
        status: Some(Status {
            status: status as i32,
            details: String::new(),
        }),
        ..Default::default()
    }
}

#[async_trait]
impl ResourceSyncer for Syncer {
    /// The Identity Store listing returns every user (a denied listing
    /// fails the sync), so an assignment or membership naming one it did not
    /// return is left over from a deleted user.
    fn lists_every_principal(&self) -> bool {
        true
    }

    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::SSO_USER, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        _: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let instance = self.ctx.instance()?;
        let (users, next) = self
            .ctx
            .sso
            .list_users(&instance.identity_store_id, token)
            .await?;
        let scim = match (
            &self.ctx.scim,
            users.iter().any(|u| u.user_status.is_none()),
        ) {
            (Some(client), true) => Some(client.status().await?),
            _ => None,
        };
        let logins = self.ctx.sso_last_logins().await?;
        let region = &self.ctx.args.sso_region;
        let resources = users
            .iter()
            .map(|u| {
                let active =
                    scim.and_then(|s| s.active(&u.user_id, u.user_name.as_deref().unwrap_or("")));
                user_resource(
                    u,
                    region,
                    active,
                    logins.and_then(|l| l.get(&u.user_id).cloned()),
                )
            })
            .collect();
        Ok(Page::with_next(resources, next.unwrap_or_default()))
    }

    async fn entitlements(
        &self,
        _: &Resource,
        _: &str,
    ) -> Result<Page<Entitlement>, ConnectorError> {
        Ok(Page::default())
    }

    async fn grants(&self, _: &Resource, _: &str) -> Result<Page<Grant>, ConnectorError> {
        Ok(Page::default())
    }
}
