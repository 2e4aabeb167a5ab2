//! The IAM Identity Center reads: the instance, Identity Store users,
//! groups and memberships, permission sets and account assignments.
//! Calls go to the Identity Center region.

use aws_sdk_identitystore::types::{Group, GroupMembership, User};
use aws_sdk_ssoadmin::types::{
    AccountAssignment, AttachedManagedPolicy, CustomerManagedPolicyReference, PermissionSet,
};

use crate::client::{classify, AwsError};

/// One page of a listing and the token of the next page.
pub type SsoPage<T> = (Vec<T>, Option<String>);

fn opt(token: &str) -> Option<String> {
    (!token.is_empty()).then(|| token.to_string())
}

fn next(token: Option<String>) -> Option<String> {
    token.filter(|t| !t.is_empty())
}

/// The Identity Center instance a sync reads.
#[derive(Clone, Debug)]
pub struct Instance {
    pub instance_arn: String,
    pub identity_store_id: String,
    pub owner_account_id: String,
}

#[derive(Clone, Debug)]
pub struct SsoApi {
    admin: aws_sdk_ssoadmin::Client,
    store: aws_sdk_identitystore::Client,
}

impl SsoApi {
    pub fn new(admin: aws_sdk_ssoadmin::Client, store: aws_sdk_identitystore::Client) -> Self {
        SsoApi { admin, store }
    }

    /// The sso-admin client, for the writes of provisioning.
    pub fn admin(&self) -> &aws_sdk_ssoadmin::Client {
        &self.admin
    }

    /// The Identity Store client, for the writes of provisioning.
    pub fn store(&self) -> &aws_sdk_identitystore::Client {
        &self.store
    }

    /// Every Identity Center instance in the region (all pages).
    pub async fn instances(&self) -> Result<Vec<Instance>, AwsError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        loop {
            let page = self
                .admin
                .list_instances()
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| classify("sso:ListInstances", &e))?;
            for i in page.instances.unwrap_or_default() {
                out.push(Instance {
                    instance_arn: i.instance_arn.unwrap_or_default(),
                    identity_store_id: i.identity_store_id.unwrap_or_default(),
                    owner_account_id: i.owner_account_id.unwrap_or_default(),
                });
            }
            match next(page.next_token) {
                Some(t) if seen.insert(t.clone()) => token = Some(t),
                Some(t) => {
                    return Err(crate::client::repeated_token_error("sso:ListInstances", &t))
                }
                None => return Ok(out),
            }
        }
    }

    pub async fn list_users(&self, store: &str, token: &str) -> Result<SsoPage<User>, AwsError> {
        let out = self
            .store
            .list_users()
            .identity_store_id(store)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("identitystore:ListUsers", &e))?;
        Ok((out.users, next(out.next_token)))
    }

    pub async fn list_groups(&self, store: &str, token: &str) -> Result<SsoPage<Group>, AwsError> {
        let out = self
            .store
            .list_groups()
            .identity_store_id(store)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("identitystore:ListGroups", &e))?;
        Ok((out.groups, next(out.next_token)))
    }

    pub async fn list_memberships(
        &self,
        store: &str,
        group_id: &str,
        token: &str,
    ) -> Result<SsoPage<GroupMembership>, AwsError> {
        let out = self
            .store
            .list_group_memberships()
            .identity_store_id(store)
            .group_id(group_id)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("identitystore:ListGroupMemberships", &e))?;
        Ok((out.group_memberships, next(out.next_token)))
    }

    pub async fn list_permission_sets(
        &self,
        instance: &str,
        token: &str,
    ) -> Result<SsoPage<String>, AwsError> {
        let out = self
            .admin
            .list_permission_sets()
            .instance_arn(instance)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("sso:ListPermissionSets", &e))?;
        Ok((
            out.permission_sets.unwrap_or_default(),
            next(out.next_token),
        ))
    }

    pub async fn describe_permission_set(
        &self,
        instance: &str,
        arn: &str,
    ) -> Result<PermissionSet, AwsError> {
        let out = self
            .admin
            .describe_permission_set()
            .instance_arn(instance)
            .permission_set_arn(arn)
            .send()
            .await
            .map_err(|e| classify("sso:DescribePermissionSet", &e))?;
        Ok(out
            .permission_set
            .unwrap_or_else(|| PermissionSet::builder().permission_set_arn(arn).build()))
    }

    pub async fn provisioned_to_account(
        &self,
        instance: &str,
        account: &str,
        token: &str,
    ) -> Result<SsoPage<String>, AwsError> {
        let out = self
            .admin
            .list_permission_sets_provisioned_to_account()
            .instance_arn(instance)
            .account_id(account)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("sso:ListPermissionSetsProvisionedToAccount", &e))?;
        Ok((
            out.permission_sets.unwrap_or_default(),
            next(out.next_token),
        ))
    }

    pub async fn account_assignments(
        &self,
        instance: &str,
        account: &str,
        ps: &str,
        token: &str,
    ) -> Result<SsoPage<AccountAssignment>, AwsError> {
        let out = self
            .admin
            .list_account_assignments()
            .instance_arn(instance)
            .account_id(account)
            .permission_set_arn(ps)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("sso:ListAccountAssignments", &e))?;
        Ok((
            out.account_assignments.unwrap_or_default(),
            next(out.next_token),
        ))
    }

    pub async fn managed_policies(
        &self,
        instance: &str,
        ps: &str,
        token: &str,
    ) -> Result<SsoPage<AttachedManagedPolicy>, AwsError> {
        let out = self
            .admin
            .list_managed_policies_in_permission_set()
            .instance_arn(instance)
            .permission_set_arn(ps)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("sso:ListManagedPoliciesInPermissionSet", &e))?;
        Ok((
            out.attached_managed_policies.unwrap_or_default(),
            next(out.next_token),
        ))
    }

    pub async fn customer_policies(
        &self,
        instance: &str,
        ps: &str,
        token: &str,
    ) -> Result<SsoPage<CustomerManagedPolicyReference>, AwsError> {
        let out = self
            .admin
            .list_customer_managed_policy_references_in_permission_set()
            .instance_arn(instance)
            .permission_set_arn(ps)
            .set_next_token(opt(token))
            .send()
            .await
            .map_err(|e| classify("sso:ListCustomerManagedPolicyReferencesInPermissionSet", &e))?;
        Ok((
            out.customer_managed_policy_references.unwrap_or_default(),
            next(out.next_token),
        ))
    }

    pub async fn inline_policy(
        &self,
        instance: &str,
        ps: &str,
    ) -> Result<Option<String>, AwsError> {
        let out = self
            .admin
            .get_inline_policy_for_permission_set()
            .instance_arn(instance)
            .permission_set_arn(ps)
            .send()
            .await
            .map_err(|e| classify("sso:GetInlinePolicyForPermissionSet", &e))?;
        Ok(out.inline_policy.filter(|p| !p.is_empty()))
    }
}
