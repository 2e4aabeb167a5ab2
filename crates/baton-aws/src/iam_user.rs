//! `iam_user`: IAM users, their last sign-in, and the managed policies attached to them.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_iam::types::User;
use baton_sdk::types::{child_type, enabled_user_status, grant, rid, Profile};
use baton_sdk::{ConnectorError, Page, ResourceSyncer};
use c1z::any::pack;
use c1z::v2::{
    user_trait, Entitlement, Grant, Resource, ResourceId, ResourceType, UserTrait, V1Identifier,
};
use prost_types::{Struct, Timestamp};

use crate::connector::{policy_entitlement, Ctx};
use crate::iam::{name_from_arn, Entity, IamApi};
use crate::resource_types as rt;

pub struct Syncer {
    ctx: Arc<Ctx>,
}

impl Syncer {
    pub fn new(ctx: Arc<Ctx>) -> Self {
        Syncer { ctx }
    }

    /// The latest of the password's and the access keys' last use. Key use
    /// comes from the credential report; users it does not list (or every
    /// user, when there is no report) cost one call per user and per key.
    async fn last_login(
        &self,
        iam: &IamApi,
        user: &User,
    ) -> Result<Option<Timestamp>, ConnectorError> {
        let mut latest = user
            .password_last_used
            .map(|d| (d.secs(), d.subsec_nanos()));
        let keys_used = match iam.cached_access_keys_last_used(&user.arn).await? {
            Some(used) => used,
            None => self.keys_last_used(iam, user).await?,
        };
        for used in keys_used {
            if latest.is_none_or(|l| used > l) {
                latest = Some(used);
            }
        }
        Ok(latest
            .filter(|(s, n)| *s != 0 || *n != 0)
            .map(|(seconds, nanos)| Timestamp {
                seconds,
                nanos: nanos as i32,
            }))
    }

    /// When each of a user's access keys was last used, one call per user and per key.
    async fn keys_last_used(
        &self,
        iam: &IamApi,
        user: &User,
    ) -> Result<Vec<(i64, u32)>, ConnectorError> {
        let mut out = Vec::new();
        if let Some(keys) = self
            .ctx
            .optional(iam.access_keys(&user.user_name).await, &user.arn)?
        {
            for key in keys {
                let Some(id) = key.access_key_id else {
                    continue;
                };
                if let Some(Some(used)) = self
                    .ctx
                    .optional(iam.access_key_last_used(&id).await, &user.arn)?
                {
                    out.push((used.secs(), used.subsec_nanos()));
                }
            }
        }
        Ok(out)
    }
}

/// Emails of a user: the user name when it is an address (primary), then
/// each `email` tag (the first primary only if none was yet).
pub fn user_emails(user_name: &str, tags: &[(String, String)]) -> Vec<user_trait::Email> {
    let mut emails = Vec::new();
    if user_name.contains('@') {
        emails.push(user_trait::Email {
            address: user_name.into(),
            is_primary: true,
        });
    }
    for (key, value) in tags {
        if key == "email"
            && !value.is_empty()
            && !emails
                .iter()
                .any(|e: &user_trait::Email| e.address == *value)
        {
            let is_primary = emails.is_empty();
            emails.push(user_trait::Email {
                address: value.clone(),
                is_primary,
            });
        }
    }
    emails
}

/// The `iam_user` resource for a user.
pub fn user_resource(
    user: &User,
    parent: Option<&ResourceId>,
    last_login: Option<Timestamp>,
) -> Resource {
    let tags: Vec<(String, String)> = user
        .tags
        .iter()
        .flatten()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    let mut tag_struct = Struct::default();
    for (k, v) in &tags {
        tag_struct.fields.insert(
            k.clone(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(v.clone())),
            },
        );
    }
    let profile = Profile::new()
        .string("aws_arn", &user.arn)
        .string("aws_path", &user.path)
        .string("aws_user_type", "iam")
        .structure("aws_tags", tag_struct)
        .string("aws_user_id", &user.user_id)
        .build();
    let trait_ = UserTrait {
        emails: user_emails(&user.user_name, &tags),
        status: Some(enabled_user_status()),
        account_type: user_trait::AccountType::Human as i32,
        last_login,
        ..Default::default()
    };
    Resource {
        id: Some(rid(rt::IAM_USER, &user.arn)),
        parent_resource_id: parent.cloned(),
        display_name: user.user_name.clone(),
        annotations: vec![
            pack(&V1Identifier {
                id: user.arn.clone(),
            }),
            child_type(rt::INLINE_POLICY),
            pack(&trait_),
        ],
        profile: Some(profile),
        ..Default::default()
    }
}

/// Adds console access (profile `console_access`, from the login profile as
/// the credential report's `password_enabled` shows it) and MFA
/// (`UserTrait.mfa_status`) to a user, where the report has them.
fn add_credential_facts(resource: &mut Resource, facts: Option<(Option<bool>, Option<bool>)>) {
    let Some((console, mfa)) = facts else { return };
    if let (Some(console), Some(profile)) = (console, resource.profile.as_mut()) {
        profile.fields.insert(
            "console_access".into(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::BoolValue(console)),
            },
        );
    }
    if let Some(mfa) = mfa {
        if let Some(mut trait_) = c1z::any::find::<UserTrait>(&resource.annotations) {
            trait_.mfa_status = Some(user_trait::MfaStatus { mfa_enabled: mfa });
            for annotation in resource
                .annotations
                .iter_mut()
                .filter(|a| c1z::any::is::<UserTrait>(a))
            {
                *annotation = pack(&trait_);
            }
        }
    }
}

#[async_trait]
impl ResourceSyncer for Syncer {
    fn resource_type(&self) -> ResourceType {
        rt::registered(rt::IAM_USER, self.ctx.sync_policy_grants)
    }

    async fn list(
        &self,
        parent: Option<&ResourceId>,
        token: &str,
    ) -> Result<Page<Resource>, ConnectorError> {
        let iam = self.ctx.iam_for_parent(parent).await?;
        let (users, next) = iam.list_users(token).await?;
        let mut out = Vec::with_capacity(users.len());
        for user in &users {
            let last_login = self.last_login(&iam, user).await?;
            let mut resource = user_resource(user, parent, last_login);
            if self.ctx.args.sync_credential_facts {
                let facts = self
                    .ctx
                    .optional(iam.cached_credential_facts(&user.arn).await, &user.arn)?
                    .flatten();
                add_credential_facts(&mut resource, facts);
            }
            out.push(resource);
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
        if !self.ctx.sync_policy_grants {
            return Ok(Page::default());
        }
        let id = resource.id.clone().unwrap_or_default();
        let iam = self.ctx.iam_for_arn(&id.resource).await?;
        let name = name_from_arn(&id.resource);
        let cached = if token.is_empty() {
            iam.cached_attached_policies(Entity::User, name).await?
        } else {
            None
        };
        let (policies, next) = match cached {
            Some(policies) => (policies, None),
            None => {
                let listed = iam.attached_policies(Entity::User, name, token).await;
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
        let grants = policies
            .iter()
            .map(|(arn, name)| grant(policy_entitlement(arn, name), &id))
            .collect();
        Ok(Page::with_next(grants, next.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_primary_email() {
        let tags = vec![
            ("email".to_string(), "a@x.io".to_string()),
            ("email".to_string(), "b@x.io".to_string()),
        ];
        let emails = user_emails("bob", &tags);
        assert_eq!(emails.iter().filter(|e| e.is_primary).count(), 1);
        let emails = user_emails("bob@x.io", &tags);
        assert_eq!(emails[0].address, "bob@x.io");
        assert!(emails[0].is_primary && !emails[1].is_primary);
    }
}
