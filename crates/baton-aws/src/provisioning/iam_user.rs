//! IAM user accounts: creation, and deletion with everything IAM requires
//! to be removed first.

use std::sync::Arc;

use async_trait::async_trait;
use baton_sdk::provision::{AccountInfo, AccountManager, Change, CreatedAccount, ResourceDeleter};
use baton_sdk::{ConnectorError, ErrorKind};
use c1z::v2::{ResourceId, UserTrait};
use tracing::warn;

use super::{invalid, request_id};
use crate::client::{classify, AwsError};
use crate::connector::Ctx;
use crate::iam::{name_from_arn, IamApi};
use crate::resource_types as rt;

pub struct Accounts(pub Arc<Ctx>);

/// A string field of an account profile.
pub(crate) fn profile_string(info: &AccountInfo, key: &str) -> Option<String> {
    match info.profile.fields.get(key).and_then(|v| v.kind.as_ref()) {
        Some(prost_types::value::Kind::StringValue(s)) if !s.trim().is_empty() => {
            Some(s.trim().to_string())
        }
        _ => None,
    }
}

fn step_failed(step: &str, user: &str, e: AwsError) -> ConnectorError {
    ConnectorError::new(
        e.kind,
        format!("deleting IAM user {user}: failed to {step}: {}", e.message),
    )
}

/// Judges the failure of one clean-up step of a user deletion. A step whose
/// answer carries no AWS error code (an endpoint without the operation) is
/// skipped with a warning, which is safe because IAM refuses the final
/// DeleteUser while anything remains.
fn tolerate(step: &str, user: &str, e: AwsError) -> Result<(), ConnectorError> {
    if e.is_not_found() {
        return Ok(());
    }
    if e.code.is_empty() && matches!(e.kind, ErrorKind::Internal | ErrorKind::Unavailable) {
        warn!(user, step, error = %e.message, "could not list this kind of credential; continuing, DeleteUser fails if any remain");
        return Ok(());
    }
    Err(step_failed(step, user, e))
}

async fn delete_user_fully(iam: &IamApi, user: &str) -> Result<Vec<String>, ConnectorError> {
    let c = iam.client();
    if let Err(e) = c.delete_login_profile().user_name(user).send().await {
        tolerate(
            "delete the login profile",
            user,
            classify("iam:DeleteLoginProfile", &e),
        )?;
    }
    match c.list_access_keys().user_name(user).send().await {
        Ok(out) => {
            for key in out
                .access_key_metadata
                .into_iter()
                .filter_map(|k| k.access_key_id)
            {
                if let Err(e) = c
                    .delete_access_key()
                    .user_name(user)
                    .access_key_id(&key)
                    .send()
                    .await
                {
                    tolerate(
                        "delete access key",
                        user,
                        classify("iam:DeleteAccessKey", &e),
                    )?;
                }
            }
        }
        Err(e) => tolerate("list access keys", user, classify("iam:ListAccessKeys", &e))?,
    }
    match c.list_signing_certificates().user_name(user).send().await {
        Ok(out) => {
            for cert in out.certificates {
                if let Err(e) = c
                    .delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(&cert.certificate_id)
                    .send()
                    .await
                {
                    tolerate(
                        "delete signing certificate",
                        user,
                        classify("iam:DeleteSigningCertificate", &e),
                    )?;
                }
            }
        }
        Err(e) => tolerate(
            "list signing certificates",
            user,
            classify("iam:ListSigningCertificates", &e),
        )?,
    }
    match c.list_ssh_public_keys().user_name(user).send().await {
        Ok(out) => {
            for key in out.ssh_public_keys.unwrap_or_default() {
                if let Err(e) = c
                    .delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(&key.ssh_public_key_id)
                    .send()
                    .await
                {
                    tolerate(
                        "delete SSH public key",
                        user,
                        classify("iam:DeleteSSHPublicKey", &e),
                    )?;
                }
            }
        }
        Err(e) => tolerate(
            "list SSH public keys",
            user,
            classify("iam:ListSSHPublicKeys", &e),
        )?,
    }
    match c
        .list_service_specific_credentials()
        .user_name(user)
        .send()
        .await
    {
        Ok(out) => {
            for cred in out.service_specific_credentials.unwrap_or_default() {
                let id = cred.service_specific_credential_id;
                if let Err(e) = c
                    .delete_service_specific_credential()
                    .user_name(user)
                    .service_specific_credential_id(&id)
                    .send()
                    .await
                {
                    tolerate(
                        "delete service-specific credential",
                        user,
                        classify("iam:DeleteServiceSpecificCredential", &e),
                    )?;
                }
            }
        }
        Err(e) => tolerate(
            "list service-specific credentials",
            user,
            classify("iam:ListServiceSpecificCredentials", &e),
        )?,
    }
    match c.list_mfa_devices().user_name(user).send().await {
        Ok(out) => {
            for device in out.mfa_devices {
                if let Err(e) = c
                    .deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(&device.serial_number)
                    .send()
                    .await
                {
                    tolerate(
                        "deactivate MFA device",
                        user,
                        classify("iam:DeactivateMFADevice", &e),
                    )?;
                }
            }
        }
        Err(e) => tolerate("list MFA devices", user, classify("iam:ListMFADevices", &e))?,
    }
    let mut marker = String::new();
    loop {
        let (names, next) = match iam
            .inline_policy_names(crate::iam::Entity::User, user, &marker)
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tolerate("list inline policies", user, e)?;
                (Vec::new(), None)
            }
        };
        for name in names {
            if let Err(e) = c
                .delete_user_policy()
                .user_name(user)
                .policy_name(&name)
                .send()
                .await
            {
                tolerate(
                    "delete inline policy",
                    user,
                    classify("iam:DeleteUserPolicy", &e),
                )?;
            }
        }
        match next {
            Some(m) if m != marker => marker = m,
            _ => break,
        }
    }
    let mut attached = Vec::new();
    let mut marker = String::new();
    loop {
        let (policies, next) = match iam
            .attached_policies(crate::iam::Entity::User, user, &marker)
            .await
        {
            Ok(page) => page,
            Err(e) => {
                tolerate("list attached policies", user, e)?;
                (Vec::new(), None)
            }
        };
        attached.extend(policies.into_iter().filter_map(|p| p.policy_arn));
        match next {
            Some(m) if m != marker => marker = m,
            _ => break,
        }
    }
    for arn in attached {
        if let Err(e) = c
            .detach_user_policy()
            .user_name(user)
            .policy_arn(&arn)
            .send()
            .await
        {
            tolerate(
                "detach managed policy",
                user,
                classify("iam:DetachUserPolicy", &e),
            )?;
        }
    }
    match c.list_groups_for_user().user_name(user).send().await {
        Ok(out) => {
            for group in out.groups {
                if let Err(e) = c
                    .remove_user_from_group()
                    .group_name(&group.group_name)
                    .user_name(user)
                    .send()
                    .await
                {
                    tolerate(
                        "remove from group",
                        user,
                        classify("iam:RemoveUserFromGroup", &e),
                    )?;
                }
            }
        }
        Err(e) => tolerate("list groups", user, classify("iam:ListGroupsForUser", &e))?,
    }
    let out = c
        .delete_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| step_failed("delete the user", user, classify("iam:DeleteUser", &e)))?;
    Ok(request_id(&out))
}

#[async_trait]
impl AccountManager for Accounts {
    async fn create_account(&self, info: &AccountInfo) -> Result<CreatedAccount, ConnectorError> {
        if self.0.args.create_account_resource_type != rt::IAM_USER {
            return Err(ConnectorError::new(
                ErrorKind::Unimplemented,
                "IAM user creation is disabled; set --create-account-resource-type iam_user (BATON_CREATE_ACCOUNT_RESOURCE_TYPE)",
            ));
        }
        let email = profile_string(info, "email")
            .or_else(|| info.emails.first().cloned())
            .ok_or_else(|| invalid("an IAM user needs an email: pass --create-account-email or an \"email\" profile key"))?;
        let user_name = profile_string(info, "username")
            .or_else(|| (!info.login.is_empty()).then(|| info.login.clone()))
            .unwrap_or_else(|| email.clone());
        let c = self.0.iam.client();
        let mut request = c.create_user().user_name(&user_name);
        if user_name != email {
            request = request.tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("email")
                    .value(&email)
                    .build()
                    .expect("tag"),
            );
        }
        let (user, already, ids) = match request.send().await {
            Ok(out) => {
                let ids = request_id(&out);
                (out.user, false, ids)
            }
            Err(e) => {
                let e = classify("iam:CreateUser", &e);
                if e.code != "EntityAlreadyExists" {
                    return Err(ConnectorError::new(
                        e.kind,
                        format!("creating IAM user {user_name}: {}", e.message),
                    ));
                }
                let existing = c
                    .get_user()
                    .user_name(&user_name)
                    .send()
                    .await
                    .map_err(|err| {
                        let err = classify("iam:GetUser", &err);
                        ConnectorError::new(
                            err.kind,
                            format!(
                                "IAM user {user_name} already exists but iam:GetUser failed: {}",
                                err.message
                            ),
                        )
                    })?;
                (existing.user, true, Vec::new())
            }
        };
        let user = user.ok_or_else(|| {
            ConnectorError::internal(format!("AWS returned no user for {user_name}"))
        })?;
        let mut resource = crate::iam_user::user_resource(&user, None, None);
        resource
            .annotations
            .retain(|a| !a.type_url.ends_with("ChildResourceType"));
        if let Some(mut trait_) = c1z::any::find::<UserTrait>(&resource.annotations) {
            if !trait_.emails.iter().any(|e| e.address == email) {
                trait_.emails.iter_mut().for_each(|e| e.is_primary = false);
                trait_.emails.insert(
                    0,
                    c1z::v2::user_trait::Email {
                        address: email.clone(),
                        is_primary: true,
                    },
                );
            }
            resource
                .annotations
                .retain(|a| !c1z::any::is::<UserTrait>(a));
            resource.annotations.push(c1z::any::pack(&trait_));
        }
        Ok(CreatedAccount {
            resource,
            already_existed: already,
            request_ids: ids,
        })
    }
}

#[async_trait]
impl ResourceDeleter for Accounts {
    async fn delete(
        &self,
        resource: &ResourceId,
        parent: Option<&ResourceId>,
    ) -> Result<Change, ConnectorError> {
        match resource.resource_type.as_str() {
            rt::IAM_USER => {}
            rt::SSO_USER => {
                return super::sso_user::Accounts(self.0.clone())
                    .delete(resource, parent)
                    .await
            }
            other => {
                return Err(invalid(format!(
                    "only IAM and Identity Center users can be deleted, not {other}"
                )))
            }
        }
        let iam = match parent {
            Some(p) if p.resource_type == rt::ACCOUNT_IAM => self.0.iam_for_parent(Some(p)).await?,
            _ => self.0.iam_for_arn(&resource.resource).await?,
        };
        let user = name_from_arn(&resource.resource);
        if let Err(e) = iam.client().get_user().user_name(user).send().await {
            let e = classify("iam:GetUser", &e);
            if e.is_not_found() {
                return Ok(Change::already(Vec::new()));
            }
            return Err(step_failed("look the user up", user, e));
        }
        let ids = delete_user_fully(&iam, user).await?;
        Ok(Change::done(Vec::new(), ids))
    }
}
