//! A small invented IAM account, seeded through the AWS SDK.
//!
//! Users: alice, bob@example.com (path /eng/), carol, svc-deploy (path
//! /service/), plus `extra_users` more. Groups: Admins (carol), teams/Engineers
//! (alice, bob) and Empty. Managed policies ReadS3 and AdminAll. Roles:
//! DeployRole (trusts alice and OpsRole), OpsRole (trusts Lambda),
//! CrossRole (trusts a foreign account). Inline policies on alice, Engineers
//! and DeployRole. One access key for alice.

use aws_sdk_iam::Client;

pub const ACCOUNT: &str = "123456789012";

pub fn arn(kind: &str, path_and_name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:{kind}/{path_and_name}")
}

const READ_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}"#;
const ADMIN_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

pub async fn seed_iam(endpoint: &str, extra_users: usize) {
    let config = super::moto::sdk_config(endpoint).await;
    let iam = Client::new(&config);
    for (name, path) in [
        ("alice", "/"),
        ("bob@example.com", "/eng/"),
        ("carol", "/"),
        ("svc-deploy", "/service/"),
    ] {
        iam.create_user()
            .user_name(name)
            .path(path)
            .send()
            .await
            .expect("create user");
    }
    for i in 0..extra_users {
        iam.create_user()
            .user_name(format!("user{i:03}"))
            .send()
            .await
            .expect("create extra user");
    }
    for (name, path) in [("Admins", "/"), ("Engineers", "/teams/"), ("Empty", "/")] {
        iam.create_group()
            .group_name(name)
            .path(path)
            .send()
            .await
            .expect("create group");
    }
    for (group, user) in [
        ("Admins", "carol"),
        ("Engineers", "alice"),
        ("Engineers", "bob@example.com"),
    ] {
        iam.add_user_to_group()
            .group_name(group)
            .user_name(user)
            .send()
            .await
            .expect("add to group");
    }
    for (name, document) in [("ReadS3", READ_S3), ("AdminAll", ADMIN_ALL)] {
        iam.create_policy()
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .expect("create policy");
    }
    let read_s3 = format!("arn:aws:iam::{ACCOUNT}:policy/ReadS3");
    let admin_all = format!("arn:aws:iam::{ACCOUNT}:policy/AdminAll");

    let deploy_trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{}","{}"]}},"Action":"sts:AssumeRole"}}]}}"#,
        arn("user", "alice"),
        arn("role", "OpsRole")
    );
    let ops_trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
    let cross_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#;
    for (name, trust, description) in [
        ("DeployRole", deploy_trust.as_str(), Some("Deploys the app")),
        ("OpsRole", ops_trust, None),
        ("CrossRole", cross_trust, Some("Vendor access")),
    ] {
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .set_description(description.map(str::to_string))
            .send()
            .await
            .expect("create role");
    }

    iam.attach_user_policy()
        .user_name("bob@example.com")
        .policy_arn(&read_s3)
        .send()
        .await
        .expect("attach user");
    iam.attach_group_policy()
        .group_name("Engineers")
        .policy_arn(&read_s3)
        .send()
        .await
        .expect("attach group");
    iam.attach_group_policy()
        .group_name("Admins")
        .policy_arn(&admin_all)
        .send()
        .await
        .expect("attach group");
    iam.attach_role_policy()
        .role_name("DeployRole")
        .policy_arn(&read_s3)
        .send()
        .await
        .expect("attach role");

    iam.put_user_policy()
        .user_name("alice")
        .policy_name("alice-inline")
        .policy_document(READ_S3)
        .send()
        .await
        .expect("inline");
    iam.put_group_policy()
        .group_name("Engineers")
        .policy_name("eng-inline")
        .policy_document(READ_S3)
        .send()
        .await
        .expect("inline");
    iam.put_role_policy()
        .role_name("DeployRole")
        .policy_name("deploy-inline")
        .policy_document(ADMIN_ALL)
        .send()
        .await
        .expect("inline");
    iam.create_access_key()
        .user_name("alice")
        .send()
        .await
        .expect("access key");
}

/// What [`seed_org`] created.
pub struct OrgSeed {
    pub management: String,
    pub root: String,
    pub engineering_ou: String,
    pub platform_ou: String,
    pub dev: String,
    pub prod: String,
    pub sandbox: String,
    pub instance_arn: String,
    pub store: String,
    pub users: Vec<String>,
    pub admins_group: String,
    pub empty_group: String,
    pub big_group: String,
    pub admin_ps: String,
    pub readonly_ps: String,
}

impl OrgSeed {
    pub fn user_arn(&self, i: usize) -> String {
        format!(
            "arn:aws:identitystore:us-east-1::{}/user/{}",
            self.store, self.users[i]
        )
    }

    pub fn group_arn(&self, id: &str) -> String {
        format!("arn:aws:identitystore:us-east-1::{}/group/{id}", self.store)
    }
}

/// An organisation with three member accounts (dev in OU Engineering/Platform),
/// Identity Center users and groups (one empty, one of 120 members, more than
/// one page), permission sets Admin (inline policy, AWS managed policy) and
/// ReadOnly (customer managed reference), and assignments: Admin on prod to
/// group admins, ReadOnly on dev to user 2 and on prod to user 3. One IAM
/// user `prod-operator` lives in the prod account.
pub async fn seed_org(endpoint: &str) -> OrgSeed {
    use aws_sdk_identitystore::types::{Email, MemberId, Name};
    use aws_sdk_ssoadmin::types::{
        CustomerManagedPolicyReference, PrincipalType, ProvisionTargetType, TargetType,
    };

    let config = super::moto::sdk_config(endpoint).await;
    let org = aws_sdk_organizations::Client::new(&config);
    let admin = aws_sdk_ssoadmin::Client::new(&config);
    let store_client = aws_sdk_identitystore::Client::new(&config);
    let sts = aws_sdk_sts::Client::new(&config);

    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("org");
    let management = org
        .describe_organization()
        .send()
        .await
        .unwrap()
        .organization
        .unwrap()
        .master_account_id
        .unwrap();
    let root = org.list_roots().send().await.unwrap().roots.unwrap()[0]
        .id
        .clone()
        .unwrap();
    let engineering_ou = org
        .create_organizational_unit()
        .parent_id(&root)
        .name("Engineering")
        .send()
        .await
        .unwrap()
        .organizational_unit
        .unwrap()
        .id
        .unwrap();
    let platform_ou = org
        .create_organizational_unit()
        .parent_id(&engineering_ou)
        .name("Platform")
        .send()
        .await
        .unwrap()
        .organizational_unit
        .unwrap()
        .id
        .unwrap();
    let mut accounts = Vec::new();
    for name in ["dev", "prod", "sandbox"] {
        let status = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        accounts.push(status.create_account_status.unwrap().account_id.unwrap());
    }
    let (dev, prod, sandbox) = (
        accounts[0].clone(),
        accounts[1].clone(),
        accounts[2].clone(),
    );
    org.move_account()
        .account_id(&dev)
        .source_parent_id(&root)
        .destination_parent_id(&platform_ou)
        .send()
        .await
        .unwrap();

    let instance = admin
        .list_instances()
        .send()
        .await
        .unwrap()
        .instances
        .unwrap()
        .remove(0);
    let instance_arn = instance.instance_arn.unwrap();
    let store = instance.identity_store_id.unwrap();
    let mut users = Vec::new();
    for i in 0..124 {
        let name = format!("person{i:03}");
        let created = store_client
            .create_user()
            .identity_store_id(&store)
            .user_name(&name)
            .display_name(format!("Person {i}"))
            .name(
                Name::builder()
                    .given_name("Person")
                    .family_name(format!("{i}"))
                    .build(),
            )
            .emails(
                Email::builder()
                    .value(format!("{name}@example.com"))
                    .primary(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        users.push(created.user_id);
    }
    let group = |name: &'static str| {
        let client = store_client.clone();
        let store = store.clone();
        async move {
            client
                .create_group()
                .identity_store_id(store)
                .display_name(name)
                .send()
                .await
                .unwrap()
                .group_id
        }
    };
    let admins_group = group("admins").await;
    let empty_group = group("empty").await;
    let big_group = group("everyone").await;
    let add = |group: String, user: String| {
        let client = store_client.clone();
        let store = store.clone();
        async move {
            client
                .create_group_membership()
                .identity_store_id(store)
                .group_id(group)
                .member_id(MemberId::UserId(user))
                .send()
                .await
                .unwrap();
        }
    };
    add(admins_group.clone(), users[0].clone()).await;
    add(admins_group.clone(), users[1].clone()).await;
    for user in users.iter().skip(4) {
        add(big_group.clone(), user.clone()).await;
    }

    let create_ps = |name: &'static str, description: &'static str| {
        let admin = admin.clone();
        let instance_arn = instance_arn.clone();
        async move {
            admin
                .create_permission_set()
                .instance_arn(instance_arn)
                .name(name)
                .description(description)
                // moto answers an unset duration with a number, which the SDK cannot read.
                .session_duration("PT1H")
                .send()
                .await
                .unwrap()
                .permission_set
                .unwrap()
                .permission_set_arn
                .unwrap()
        }
    };
    let admin_ps = create_ps("Admin", "Full access").await;
    let readonly_ps = create_ps("ReadOnly", "Read everything").await;
    admin
        .attach_managed_policy_to_permission_set()
        .instance_arn(&instance_arn)
        .permission_set_arn(&admin_ps)
        .managed_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    admin
        .put_inline_policy_to_permission_set()
        .instance_arn(&instance_arn)
        .permission_set_arn(&admin_ps)
        .inline_policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    admin
        .attach_customer_managed_policy_reference_to_permission_set()
        .instance_arn(&instance_arn)
        .permission_set_arn(&readonly_ps)
        .customer_managed_policy_reference(
            CustomerManagedPolicyReference::builder()
                .name("ReadS3")
                .path("/team/")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for (ps, account, principal_type, principal) in [
        (&admin_ps, &prod, PrincipalType::Group, &admins_group),
        (&readonly_ps, &dev, PrincipalType::User, &users[2]),
        (&readonly_ps, &prod, PrincipalType::User, &users[3]),
    ] {
        admin
            .create_account_assignment()
            .instance_arn(&instance_arn)
            .permission_set_arn(ps)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .principal_type(principal_type)
            .principal_id(principal)
            .send()
            .await
            .unwrap();
    }
    for (ps, account) in [
        (&admin_ps, &prod),
        (&readonly_ps, &dev),
        (&readonly_ps, &prod),
    ] {
        admin
            .provision_permission_set()
            .instance_arn(&instance_arn)
            .permission_set_arn(ps)
            .target_type(ProvisionTargetType::AwsAccount)
            .target_id(account)
            .send()
            .await
            .unwrap();
    }

    // An IAM user inside the prod member account, created through its role.
    let assumed = sts
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{prod}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("seed")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let member_config = config
        .clone()
        .into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    assumed.access_key_id,
                    assumed.secret_access_key,
                    Some(assumed.session_token),
                    None,
                    "seed",
                ),
            ),
        )
        .build();
    aws_sdk_iam::Client::new(&member_config)
        .create_user()
        .user_name("prod-operator")
        .send()
        .await
        .unwrap();

    OrgSeed {
        management,
        root,
        engineering_ou,
        platform_ou,
        dev,
        prod,
        sandbox,
        instance_arn,
        store,
        users,
        admins_group,
        empty_group,
        big_group,
        admin_ps,
        readonly_ps,
    }
}
