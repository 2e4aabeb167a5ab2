//! The static definitions of the 14 resource types, with the traits,
//! annotations and permission lists of the Go connector.

use baton_sdk::types::child_type;
use c1z::any::pack;
use c1z::v2::{
    resource_type::Trait, CapabilityPermission, CapabilityPermissions, OptInRequired, ResourceType,
    SkipEntitlements, SkipEntitlementsAndGrants, V1Identifier,
};

pub const IAM_USER: &str = "iam_user";
pub const ROLE: &str = "role";
pub const GROUP: &str = "group";
pub const IAM_POLICY: &str = "iam_policy";
pub const INLINE_POLICY: &str = "inline_policy";
pub const SSO_USER: &str = "sso_user";
pub const SSO_GROUP: &str = "sso_group";
pub const ACCOUNT: &str = "account";
pub const ACCOUNT_IAM: &str = "account_iam";
pub const PERMISSION_SET: &str = "permission_set";
pub const PERMISSION_SET_ASSIGNMENT: &str = "permission_set_assignment";
pub const ORGANIZATION: &str = "organization";
pub const ORGANIZATIONAL_UNIT: &str = "organizational_unit";
pub const ACCESS_KEY: &str = "access-key";

/// Every resource type id, sorted.
pub const ALL: &[&str] = &[
    ACCESS_KEY,
    ACCOUNT,
    ACCOUNT_IAM,
    GROUP,
    IAM_POLICY,
    IAM_USER,
    INLINE_POLICY,
    ORGANIZATION,
    ORGANIZATIONAL_UNIT,
    PERMISSION_SET,
    PERMISSION_SET_ASSIGNMENT,
    ROLE,
    SSO_GROUP,
    SSO_USER,
];

enum Ann {
    V1,
    Child(&'static str),
    SkipEntitlements,
    SkipAll,
    OptIn,
}

fn build(
    id: &str,
    display: &str,
    traits: &[Trait],
    anns: &[Ann],
    permissions: &[&str],
) -> ResourceType {
    let mut annotations = Vec::new();
    for ann in anns {
        annotations.push(match ann {
            Ann::V1 => pack(&V1Identifier { id: id.into() }),
            Ann::Child(child) => child_type(child),
            Ann::SkipEntitlements => pack(&SkipEntitlements::default()),
            Ann::SkipAll => pack(&SkipEntitlementsAndGrants::default()),
            Ann::OptIn => pack(&OptInRequired::default()),
        });
    }
    annotations.push(pack(&CapabilityPermissions {
        permissions: permissions
            .iter()
            .map(|p| CapabilityPermission {
                permission: (*p).into(),
            })
            .collect(),
    }));
    ResourceType {
        id: id.into(),
        display_name: display.into(),
        traits: traits.iter().map(|t| *t as i32).collect(),
        annotations,
        description: String::new(),
        sourced_externally: false,
    }
}

/// The full static definition of a resource type, as embedded in `grantable_to`.
pub fn definition(id: &str) -> ResourceType {
    use Ann::*;
    match id {
        ROLE => build(
            ROLE,
            "IAM Role",
            &[Trait::Role],
            &[V1],
            &[
                "iam:ListRoles",
                "iam:GetRole",
                "iam:ListAttachedRolePolicies",
            ],
        ),
        GROUP => build(
            GROUP,
            "Group",
            &[Trait::Group],
            &[V1],
            &[
                "iam:ListGroups",
                "iam:GetGroup",
                "iam:ListAttachedGroupPolicies",
                "iam:AddUserToGroup",
                "iam:RemoveUserFromGroup",
            ],
        ),
        SSO_GROUP => build(
            SSO_GROUP,
            "SSO Group",
            &[Trait::Group],
            &[V1],
            &[
                "sso:ListInstances",
                "identitystore:ListGroups",
                "identitystore:ListGroupMemberships",
                "identitystore:GetGroupMembershipId",
                "identitystore:CreateGroupMembership",
                "identitystore:DeleteGroupMembership",
            ],
        ),
        ACCOUNT => build(
            ACCOUNT,
            "Account",
            &[Trait::App],
            &[V1, Child(PERMISSION_SET_ASSIGNMENT)],
            &[
                "organizations:ListAccounts",
                "organizations:DescribeOrganization",
                "organizations:ListParents",
                "sso:ListPermissionSets",
                "sso:DescribePermissionSet",
                "sso:ListPermissionSetsProvisionedToAccount",
                "sso:ListAccountAssignments",
                "sso:ListInstances",
                "sso:CreateAccountAssignment",
                "sso:DeleteAccountAssignment",
                "sso:DescribeAccountAssignmentCreationStatus",
                "sso:DescribeAccountAssignmentDeletionStatus",
                "iam:ListPolicies",
                "iam:AttachRolePolicy",
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetRole",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:PutRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:GetSAMLProvider",
            ],
        ),
        ACCOUNT_IAM => build(
            ACCOUNT_IAM,
            "Account IAM",
            &[Trait::App],
            &[SkipAll, V1],
            &["iam:ListAccountAliases"],
        ),
        SSO_USER => build(
            SSO_USER,
            "SSO User",
            &[Trait::User],
            &[SkipAll, V1],
            &[
                "identitystore:ListUsers",
                "sso:ListInstances",
                "identitystore:CreateUser",
                "identitystore:DeleteUser",
            ],
        ),
        IAM_USER => build(
            IAM_USER,
            "IAM User",
            &[Trait::User],
            &[SkipEntitlements, V1],
            &[
                "iam:ListUsers",
                "iam:GetUser",
                "iam:ListAccessKeys",
                "iam:GetAccessKeyLastUsed",
                "iam:ListSigningCertificates",
                "iam:ListSSHPublicKeys",
                "iam:ListServiceSpecificCredentials",
                "iam:ListMFADevices",
                "iam:ListUserPolicies",
                "iam:ListAttachedUserPolicies",
                "iam:ListGroupsForUser",
                "iam:CreateUser",
                "iam:DeleteLoginProfile",
                "iam:DeleteAccessKey",
                "iam:DeleteSigningCertificate",
                "iam:DeleteSSHPublicKey",
                "iam:DeleteServiceSpecificCredential",
                "iam:DeactivateMFADevice",
                "iam:DeleteUserPolicy",
                "iam:DetachUserPolicy",
                "iam:DeleteUser",
                "iam:TagUser",
            ],
        ),
        ACCESS_KEY => build(
            ACCESS_KEY,
            "Access Key",
            &[Trait::Secret],
            &[SkipAll],
            &["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
        ),
        PERMISSION_SET => build(
            PERMISSION_SET,
            "Permission Set",
            &[Trait::Role],
            &[SkipEntitlements, OptIn],
            &[
                "sso:ListInstances",
                "sso:ListPermissionSets",
                "sso:DescribePermissionSet",
                "sso:ListManagedPoliciesInPermissionSet",
            ],
        ),
        PERMISSION_SET_ASSIGNMENT => build(
            PERMISSION_SET_ASSIGNMENT,
            "Permission Set Assignment",
            &[Trait::ScopeBinding],
            &[OptIn],
            &[
                "sso:ListInstances",
                "sso:ListPermissionSetsProvisionedToAccount",
                "sso:DescribePermissionSet",
                "sso:ListAccountAssignments",
                "sso:ListManagedPoliciesInPermissionSet",
                "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
                "sso:CreateAccountAssignment",
                "sso:DeleteAccountAssignment",
                "sso:DescribeAccountAssignmentCreationStatus",
                "sso:DescribeAccountAssignmentDeletionStatus",
                "organizations:DescribeAccount",
            ],
        ),
        ORGANIZATION => build(
            ORGANIZATION,
            "Organization Root",
            &[],
            &[SkipAll, OptIn, Child(ORGANIZATIONAL_UNIT)],
            &[
                "organizations:ListRoots",
                "organizations:ListOrganizationalUnitsForParent",
            ],
        ),
        ORGANIZATIONAL_UNIT => build(
            ORGANIZATIONAL_UNIT,
            "Organizational Unit",
            &[],
            &[SkipAll, OptIn, Child(ORGANIZATIONAL_UNIT)],
            &["organizations:ListOrganizationalUnitsForParent"],
        ),
        IAM_POLICY => build(
            IAM_POLICY,
            "IAM Managed Policy",
            &[Trait::Role],
            &[V1],
            &[
                "iam:ListPolicies",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:AttachUserPolicy",
                "iam:AttachRolePolicy",
                "iam:AttachGroupPolicy",
                "iam:DetachUserPolicy",
                "iam:DetachRolePolicy",
                "iam:DetachGroupPolicy",
            ],
        ),
        INLINE_POLICY => build(
            INLINE_POLICY,
            "Inline Policy",
            &[Trait::Role],
            &[V1],
            &[
                "iam:ListUserPolicies",
                "iam:ListRolePolicies",
                "iam:ListGroupPolicies",
                "sso:GetInlinePolicyForPermissionSet",
                "iam:GetUserPolicy",
                "iam:GetRolePolicy",
                "iam:GetGroupPolicy",
                "iam:DeleteUserPolicy",
                "iam:DeleteRolePolicy",
                "iam:DeleteGroupPolicy",
            ],
        ),
        other => panic!("unknown resource type {other}"),
    }
}

/// The definition as registered for a sync: `iam_user` and `permission_set`
/// skip their grants when policy grants are not synced.
pub fn registered(id: &str, sync_policy_grants: bool) -> ResourceType {
    let mut rt = definition(id);
    if !sync_policy_grants && (id == IAM_USER || id == PERMISSION_SET) {
        rt.annotations
            .push(pack(&SkipEntitlementsAndGrants::default()));
    }
    rt
}

/// Full definitions of several types, for `grantable_to`.
pub fn definitions(ids: &[&str]) -> Vec<ResourceType> {
    ids.iter().map(|id| definition(id)).collect()
}
