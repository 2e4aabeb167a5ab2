#!/usr/bin/env python3
"""Seed a moto server with a small invented AWS account for the demo.

Creates IAM users, groups and memberships, customer managed policies
(one of them administrator-equivalent), roles with trust policies of
several kinds, inline policies and access keys. Deterministic: the same
names and relations every run.

Usage: demo_seed.py ENDPOINT_URL
"""
import json
import sys

import boto3

ACCOUNT = "123456789012"


def main():
    endpoint = sys.argv[1]
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    teams = {
        "Platform": ["ana", "bruno", "chen", "dara"],
        "Data": ["emeka", "farah", "goran"],
        "Finance": ["hana", "ivan"],
        "Security": ["jun", "kofi"],
        "Contractors": ["lena.ext", "marco.ext"],
    }
    for team, members in teams.items():
        iam.create_group(GroupName=team, Path="/teams/")
        for user in members:
            path = "/contractors/" if user.endswith(".ext") else "/"
            iam.create_user(UserName=user, Path=path, Tags=[{"Key": "email", "Value": f"{user}@northwind.example"}])
            iam.add_user_to_group(GroupName=team, UserName=user)
    iam.create_user(UserName="ci-deployer", Path="/service/")
    iam.add_user_to_group(GroupName="Platform", UserName="jun")

    def doc(action, resource="*"):
        return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})

    policies = {
        "NorthwindAdmin": doc("*"),
        "DataLakeRead": doc(["s3:GetObject", "s3:ListBucket"], "arn:aws:s3:::northwind-lake/*"),
        "BillingView": doc(["aws-portal:View*", "ce:Get*"]),
    }
    for name, document in policies.items():
        iam.create_policy(PolicyName=name, PolicyDocument=document)
    arn = lambda name: f"arn:aws:iam::{ACCOUNT}:policy/{name}"
    iam.attach_group_policy(GroupName="Security", PolicyArn=arn("NorthwindAdmin"))
    iam.attach_group_policy(GroupName="Data", PolicyArn=arn("DataLakeRead"))
    iam.attach_group_policy(GroupName="Finance", PolicyArn=arn("BillingView"))
    iam.attach_user_policy(UserName="ci-deployer", PolicyArn=arn("NorthwindAdmin"))
    iam.put_group_policy(GroupName="Contractors", PolicyName="contractor-limits", PolicyDocument=doc(["s3:GetObject"]))
    iam.put_user_policy(UserName="ana", PolicyName="break-glass", PolicyDocument=doc("*"))

    def trust(principal):
        return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})

    roles = {
        "PlatformDeploy": trust({"AWS": [f"arn:aws:iam::{ACCOUNT}:user/ci-deployer", f"arn:aws:iam::{ACCOUNT}:user/ana"]}),
        "IncidentResponder": trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/PlatformDeploy"}),
        "VendorAudit": trust({"AWS": "arn:aws:iam::210987654321:root"}),
        "etl-lambda": trust({"Service": "lambda.amazonaws.com"}),
        "web-ec2": trust({"Service": "ec2.amazonaws.com"}),
    }
    for name, document in roles.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document, Description=f"{name} role")
    iam.attach_role_policy(RoleName="PlatformDeploy", PolicyArn=arn("DataLakeRead"))
    iam.attach_role_policy(RoleName="IncidentResponder", PolicyArn=arn("NorthwindAdmin"))
    iam.put_role_policy(RoleName="etl-lambda", PolicyName="etl-write", PolicyDocument=doc(["s3:PutObject"]))
    for user in ["ci-deployer", "bruno"]:
        iam.create_access_key(UserName=user)
    accounts = seed_organization(endpoint)
    print(
        f"seeded IAM: {sum(len(m) for m in teams.values()) + 1} users, {len(teams)} groups, {len(roles)} roles, "
        f"{len(policies)} policies; Organizations: {len(accounts)} member accounts; Identity Center: 6 users, 2 groups, 2 permission sets"
    )


def seed_organization(endpoint):
    """An organisation with two member accounts and Identity Center assignments."""
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    org = boto3.client("organizations", **kw)
    sso = boto3.client("sso-admin", **kw)
    store_client = boto3.client("identitystore", **kw)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    accounts = {}
    for name in ["northwind-prod", "northwind-staging"]:
        accounts[name] = org.create_account(AccountName=name, Email=f"{name}@northwind.example")["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=accounts[name], SourceParentId=root, DestinationParentId=workloads)
    instance = sso.list_instances()["Instances"][0]
    store = instance["IdentityStoreId"]
    people = {}
    for login in ["olivia", "pedro", "quinn", "rashid", "sofia", "tomas"]:
        people[login] = store_client.create_user(
            IdentityStoreId=store,
            UserName=login,
            DisplayName=login.capitalize(),
            Name={"GivenName": login.capitalize(), "FamilyName": "Example"},
            Emails=[{"Value": f"{login}@northwind.example", "Primary": True}],
        )["UserId"]
    groups = {}
    for name, members in {"cloud-admins": ["olivia", "pedro"], "developers": ["quinn", "rashid", "sofia"]}.items():
        groups[name] = store_client.create_group(IdentityStoreId=store, DisplayName=name)["GroupId"]
        for member in members:
            store_client.create_group_membership(IdentityStoreId=store, GroupId=groups[name], MemberId={"UserId": people[member]})
    permission_sets = {}
    for name, policy in {"AdministratorAccess": "AdministratorAccess", "DeveloperAccess": "PowerUserAccess"}.items():
        arn = sso.create_permission_set(InstanceArn=instance["InstanceArn"], Name=name, SessionDuration="PT4H",
                                        Description=f"{name} for Northwind")["PermissionSet"]["PermissionSetArn"]
        sso.attach_managed_policy_to_permission_set(InstanceArn=instance["InstanceArn"], PermissionSetArn=arn,
                                                    ManagedPolicyArn=f"arn:aws:iam::aws:policy/{policy}")
        permission_sets[name] = arn
    assignments = [
        ("AdministratorAccess", "northwind-prod", "GROUP", groups["cloud-admins"]),
        ("DeveloperAccess", "northwind-staging", "GROUP", groups["developers"]),
        ("DeveloperAccess", "northwind-prod", "USER", people["tomas"]),
    ]
    for ps, account, kind, principal in assignments:
        sso.create_account_assignment(InstanceArn=instance["InstanceArn"], TargetId=accounts[account], TargetType="AWS_ACCOUNT",
                                      PermissionSetArn=permission_sets[ps], PrincipalType=kind, PrincipalId=principal)
        sso.provision_permission_set(InstanceArn=instance["InstanceArn"], PermissionSetArn=permission_sets[ps],
                                     TargetType="AWS_ACCOUNT", TargetId=accounts[account])
    return accounts


if __name__ == "__main__":
    main()
