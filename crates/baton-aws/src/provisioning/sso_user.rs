//! Identity Center user accounts: creation and deletion.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_identitystore::types::{AlternateIdentifier, Email, Name, UniqueAttribute};
use baton_sdk::provision::{AccountInfo, AccountManager, Change, CreatedAccount, ResourceDeleter};
use baton_sdk::types::{enabled_user_status, rid, Profile};
use baton_sdk::{ConnectorError, ErrorKind};
use c1z::any::pack;
use c1z::v2::{
    status::ResourceStatus, user_trait, Resource, ResourceId, Status, UserTrait, V1Identifier,
};

use super::iam_user::profile_string;
use super::{invalid, request_id};
use crate::client::classify;
use crate::connector::Ctx;
use crate::resource_types as rt;
use crate::sso_user::identity_arn;

pub struct Accounts(pub Arc<Ctx>);

fn required(info: &AccountInfo, key: &str) -> Result<String, ConnectorError> {
    profile_string(info, key).ok_or_else(|| {
        invalid(format!("the account profile needs a non-empty \"{key}\" string (pass it in --create-account-profile)"))
    })
}

impl Accounts {
    fn resource(
        &self,
        store: &str,
        user_id: &str,
        user_name: &str,
        display_name: &str,
        email: &str,
    ) -> Resource {
        let arn = identity_arn(&self.0.args.sso_region, store, "user", user_id);
        let trait_ = UserTrait {
            emails: vec![user_trait::Email {
                address: email.into(),
                is_primary: true,
            }],
            status: Some(enabled_user_status()),
            account_type: user_trait::AccountType::Human as i32,
            ..Default::default()
        };
        Resource {
            id: Some(rid(rt::SSO_USER, &arn)),
            display_name: user_name.into(),
            annotations: vec![pack(&V1Identifier { id: arn.clone() }), pack(&trait_)],
            profile: Some(
                Profile::new()
                    .string("aws_user_type", "sso")
                    .string("aws_user_name", display_name)
                    .string("aws_user_id", user_id)
                    .build(),
            ),
            status: Some(Status {
                status: ResourceStatus::Enabled as i32,
                details: String::new(),
            }),
            ..Default::default()
        }
    }

    async fn user_id(
        &self,
        store: &str,
        user_name: &str,
    ) -> Result<Option<String>, ConnectorError> {
        let lookup = self
            .0
            .sso
            .store()
            .get_user_id()
            .identity_store_id(store)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(
                UniqueAttribute::builder()
                    .attribute_path("userName")
                    .attribute_value(aws_smithy_types::Document::String(user_name.into()))
                    .build()
                    .expect("unique attribute"),
            ))
            .send()
            .await;
        match lookup {
            Ok(out) => Ok(Some(out.user_id)),
            Err(e) => {
                let e = classify("identitystore:GetUserId", &e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(ConnectorError::new(
                        e.kind,
                        format!("looking up Identity Center user {user_name}: {}", e.message),
                    ))
                }
            }
        }
    }
}

#[async_trait]
impl AccountManager for Accounts {
    async fn create_account(&self, info: &AccountInfo) -> Result<CreatedAccount, ConnectorError> {
        if self.0.args.create_account_resource_type != rt::SSO_USER {
            return Err(ConnectorError::new(
                ErrorKind::Unimplemented,
                "Identity Center user creation is disabled; set --create-account-resource-type sso_user (BATON_CREATE_ACCOUNT_RESOURCE_TYPE)",
            ));
        }
        let user_name = profile_string(info, "username")
            .or_else(|| (!info.login.is_empty()).then(|| info.login.clone()));
        let user_name = user_name.ok_or_else(|| invalid("the account profile needs a non-empty \"username\" string (or pass --create-account-login)"))?;
        let given = required(info, "given_name")?;
        let family = required(info, "family_name")?;
        let email = profile_string(info, "email").or_else(|| info.emails.first().cloned());
        let email = email.ok_or_else(|| invalid("the account profile needs a non-empty \"email\" string (or pass --create-account-email)"))?;
        let display =
            profile_string(info, "display_name").unwrap_or_else(|| format!("{given} {family}"));
        let store = self.0.instance()?.identity_store_id.clone();

        if let Some(existing) = self.user_id(&store, &user_name).await? {
            return Ok(CreatedAccount {
                resource: self.resource(&store, &existing, &user_name, &display, &email),
                already_existed: true,
                request_ids: Vec::new(),
            });
        }
        let created = self
            .0
            .sso
            .store()
            .create_user()
            .identity_store_id(&store)
            .user_name(&user_name)
            .display_name(&display)
            .name(
                Name::builder()
                    .given_name(&given)
                    .family_name(&family)
                    .build(),
            )
            .emails(
                Email::builder()
                    .primary(true)
                    .r#type("work")
                    .value(&email)
                    .build(),
            )
            .send()
            .await;
        match created {
            Ok(out) => {
                let ids = request_id(&out);
                Ok(CreatedAccount {
                    resource: self.resource(&store, &out.user_id, &user_name, &display, &email),
                    already_existed: false,
                    request_ids: ids,
                })
            }
            Err(e) => {
                let e = classify("identitystore:CreateUser", &e);
                if e.code == "ConflictException" {
                    let existing = self.user_id(&store, &user_name).await?.ok_or_else(|| {
                        ConnectorError::internal(format!("Identity Center user {user_name} was reported as existing but was not found"))
                    })?;
                    return Ok(CreatedAccount {
                        resource: self.resource(&store, &existing, &user_name, &display, &email),
                        already_existed: true,
                        request_ids: Vec::new(),
                    });
                }
                Err(ConnectorError::new(
                    e.kind,
                    format!("creating Identity Center user {user_name}: {}", e.message),
                ))
            }
        }
    }
}

#[async_trait]
impl ResourceDeleter for Accounts {
    async fn delete(
        &self,
        resource: &ResourceId,
        _: Option<&ResourceId>,
    ) -> Result<Change, ConnectorError> {
        let Some((_, user_id)) = resource.resource.rsplit_once("/user/") else {
            return Err(invalid(format!(
                "{:?} is not an Identity Center user ARN (…/user/<id>)",
                resource.resource
            )));
        };
        let store = self.0.instance()?.identity_store_id.clone();
        let client = self.0.sso.store();
        if let Err(e) = client
            .describe_user()
            .identity_store_id(&store)
            .user_id(user_id)
            .send()
            .await
        {
            let e = classify("identitystore:DescribeUser", &e);
            if e.is_not_found() {
                return Ok(Change::already(Vec::new()));
            }
            return Err(ConnectorError::new(
                e.kind,
                format!(
                    "looking up Identity Center user {}: {}",
                    resource.resource, e.message
                ),
            ));
        }
        match client
            .delete_user()
            .identity_store_id(&store)
            .user_id(user_id)
            .send()
            .await
        {
            Ok(out) => Ok(Change::done(Vec::new(), request_id(&out))),
            Err(e) => {
                let e = classify("identitystore:DeleteUser", &e);
                if e.is_not_found() {
                    return Ok(Change::already(Vec::new()));
                }
                Err(ConnectorError::new(
                    e.kind,
                    format!(
                        "deleting Identity Center user {}: {}",
                        resource.resource, e.message
                    ),
                ))
            }
        }
    }
}
