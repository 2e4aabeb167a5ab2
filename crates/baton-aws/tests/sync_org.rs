//! End-to-end syncs of Organizations, Identity Center and member-account
//! IAM against moto, with faults injected by the proxy where moto lacks them.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use c1z::v2::{status::ResourceStatus, Resource};
use c1z::C1zFile;
use support::moto::Moto;
use support::proxy::Proxy;
use support::seed::{seed_org, OrgSeed};
use support::{assert_success, run_baton_aws, stderr, temp_c1z};

const ORG_FLAGS: &[&str] = &["--global-aws-orgs-enabled", "--global-aws-sso-enabled"];

struct Synced {
    resources: BTreeMap<String, Resource>,
    entitlements: BTreeSet<String>,
    grants: BTreeSet<String>,
    types: Vec<String>,
}

fn read(path: &std::path::Path) -> Synced {
    let file = C1zFile::open_read(path).expect("open c1z");
    let sync = file.view_sync(None).expect("finished sync").sync_id;
    let resources = file
        .resources(&sync)
        .unwrap()
        .into_iter()
        .map(|r| {
            let id = r.id.clone().unwrap();
            (format!("{}:{}", id.resource_type, id.resource), r)
        })
        .collect();
    Synced {
        resources,
        entitlements: file
            .entitlements(&sync)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect(),
        grants: file
            .grants(&sync)
            .unwrap()
            .into_iter()
            .map(|(g, _)| g.id)
            .collect(),
        types: file
            .resource_types(&sync)
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect(),
    }
}

fn sync(
    endpoint: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (tempfile::TempDir, Synced, String) {
    let (dir, out) = temp_c1z("org.c1z");
    let mut args = vec!["-f", out.to_str().unwrap()];
    args.extend_from_slice(ORG_FLAGS);
    args.extend_from_slice(extra);
    let run = run_baton_aws(endpoint, &args, env);
    assert_success(&run);
    let synced = read(&out);
    (dir, synced, stderr(&run))
}

/// Counts the `AssumeRole` calls for roles of `account` that went through the proxy.
fn assumptions(proxy: &Proxy, account: &str) -> usize {
    proxy
        .calls()
        .iter()
        .filter(|c| c.action == "AssumeRole" && c.params["RoleArn"].contains(account))
        .count()
}

fn parent(resource: &Resource) -> Option<String> {
    resource
        .parent_resource_id
        .as_ref()
        .map(|p| format!("{}:{}", p.resource_type, p.resource))
}

#[tokio::test]
async fn org_and_identity_center_sync() {
    let moto = Moto::start();
    let seed: OrgSeed = seed_org(&moto.endpoint()).await;
    let proxy = Proxy::start(moto.port);
    let (_dir, s, _) = sync(&proxy.endpoint(), &[], &[]);
    assert_eq!(
        s.types,
        vec![
            "iam_user",
            "role",
            "group",
            "iam_policy",
            "inline_policy",
            "sso_user",
            "sso_group",
            "account",
            "permission_set",
            "permission_set_assignment",
            "organization",
            "organizational_unit"
        ]
    );

    // Hierarchy: root, nested units, accounts under their parents.
    assert_eq!(
        parent(&s.resources[&format!("organizational_unit:{}", seed.platform_ou)]),
        Some(format!("organizational_unit:{}", seed.engineering_ou))
    );
    assert_eq!(
        parent(&s.resources[&format!("account:{}", seed.dev)]),
        Some(format!("organizational_unit:{}", seed.platform_ou))
    );
    assert_eq!(
        parent(&s.resources[&format!("account:{}", seed.management)]),
        Some(format!("organization:{}", seed.root))
    );

    // Users and groups; the status is unspecified when the Identity Store reports none.
    assert_eq!(
        s.resources
            .keys()
            .filter(|k| k.starts_with("sso_user:"))
            .count(),
        124
    );
    let user = &s.resources[&format!("sso_user:{}", seed.user_arn(0))];
    assert_eq!(
        user.status.as_ref().unwrap().status,
        ResourceStatus::Unspecified as i32
    );

    // Memberships: an empty group, a two-member group, and a group of 120 (two Identity Store pages).
    let membership_grants: Vec<&String> = s.grants.iter().filter(|g| !g.contains(':')).collect();
    assert_eq!(
        membership_grants.len(),
        122,
        "memberships are keyed by their Identity Store ids"
    );
    assert!(
        proxy.count("ListGroupMemberships") >= 4,
        "the 120-member group needs a second page"
    );
    assert!(s.entitlements.contains(&format!(
        "sso_group:{}:member",
        seed.group_arn(&seed.empty_group)
    )));

    // Permission sets are entitlements of every account.
    for account in [&seed.management, &seed.dev, &seed.prod, &seed.sandbox] {
        assert!(s
            .entitlements
            .contains(&format!("{account}|{}", seed.admin_ps)));
    }
    // Assignments to a group and to users, on the account and on the binding.
    let admins = seed.group_arn(&seed.admins_group);
    let prod_admin = format!("{}|{}", seed.prod, seed.admin_ps);
    assert!(s
        .grants
        .contains(&format!("grant:sso_group:{admins}:{prod_admin}")));
    assert!(s.grants.contains(&format!(
        "grant:sso_user:{}:{}|{}",
        seed.user_arn(2),
        seed.dev,
        seed.readonly_ps
    )));
    let binding = format!("{}-{}", seed.admin_ps, seed.prod);
    assert!(s
        .resources
        .contains_key(&format!("permission_set_assignment:{binding}")));
    assert!(s.grants.contains(&format!(
        "grant:sso_group:{admins}:permission_set_assignment:{binding}:assigned"
    )));
    // Group members get the group's assignments through expansion.
    for i in [0, 1] {
        assert!(
            s.grants
                .contains(&format!("{prod_admin}:sso_user:{}", seed.user_arn(i))),
            "member {i} holds Admin on prod"
        );
        assert!(s.grants.contains(&format!(
            "permission_set_assignment:{binding}:assigned:sso_user:{}",
            seed.user_arn(i)
        )));
    }
    // Policies: the AWS managed policy on the permission set and its binding, the customer
    // managed reference on ReadOnly's bindings, the permission set's inline policy.
    let admin_access = "arn:aws:iam::aws:policy/AdministratorAccess";
    assert!(s.grants.contains(&format!(
        "iam_policy:{admin_access}:attached:permission_set:{}",
        seed.admin_ps
    )));
    assert!(s.grants.contains(&format!(
        "iam_policy:{admin_access}:attached:permission_set_assignment:{binding}"
    )));
    let customer = format!("arn:aws:iam::{}:policy/team/ReadS3", seed.dev);
    assert!(s.grants.contains(&format!(
        "iam_policy:{customer}:attached:permission_set_assignment:{}-{}",
        seed.readonly_ps, seed.dev
    )));
    assert!(s
        .resources
        .contains_key(&format!("inline_policy:{}::inline::inline", seed.admin_ps)));

    // Without cross-account IAM, member accounts' IAM is not listed.
    assert!(!s.types.contains(&"account_iam".to_string()));
}

#[tokio::test]
async fn member_accounts_iam_with_missing_role_and_suspended_account() {
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let config = support::moto::sdk_config(&moto.endpoint()).await;
    aws_sdk_organizations::Client::new(&config)
        .close_account()
        .account_id(&seed.sandbox)
        .send()
        .await
        .unwrap();
    let proxy = Proxy::start(moto.port);
    // The dev account has no role baton-aws may assume.
    proxy.fault_when(
        "AssumeRole",
        "RoleArn",
        &format!("::{}:", seed.dev),
        403,
        "AccessDenied",
    );
    let (_dir, s, log) = sync(
        &proxy.endpoint(),
        &["--global-aws-cross-account-iam-enabled"],
        &[],
    );

    assert!(s.types.contains(&"account_iam".to_string()));
    let prod_user = format!("iam_user:arn:aws:iam::{}:user/prod-operator", seed.prod);
    assert_eq!(
        parent(&s.resources[&prod_user]),
        Some(format!("account_iam:{}", seed.prod))
    );
    let dev = &s.resources[&format!("account_iam:{}", seed.dev)];
    assert!(
        !dev.annotations
            .iter()
            .any(|a| a.type_url.ends_with("ChildResourceType")),
        "dev is not crawled"
    );
    assert!(
        log.contains(&seed.dev) && log.contains("skipping the IAM of this member account"),
        "{log}"
    );
    assert_eq!(
        log.matches("skipping the IAM of this member account")
            .count(),
        1,
        "one warning for the account"
    );

    // The suspended account is neither an application nor crawled.
    assert!(!s
        .resources
        .contains_key(&format!("account:{}", seed.sandbox)));
    let sandbox = &s.resources[&format!("account_iam:{}", seed.sandbox)];
    assert!(!sandbox
        .annotations
        .iter()
        .any(|a| a.type_url.ends_with("ChildResourceType")));
    let sandbox_assumes = assumptions(&proxy, &seed.sandbox);
    assert_eq!(
        sandbox_assumes, 0,
        "a suspended account is not assumed into"
    );
    let prod_assumes = assumptions(&proxy, &seed.prod);
    assert_eq!(
        prod_assumes, 1,
        "one assumption per account per credential lifetime"
    );
}

#[tokio::test]
async fn repeated_page_token_stops_the_sync() {
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let config = support::moto::sdk_config(&moto.endpoint()).await;
    // moto stores a duplicate assignment twice and then cycles its NextToken forever.
    aws_sdk_ssoadmin::Client::new(&config)
        .create_account_assignment()
        .instance_arn(&seed.instance_arn)
        .permission_set_arn(&seed.readonly_ps)
        .target_id(&seed.dev)
        .target_type(aws_sdk_ssoadmin::types::TargetType::AwsAccount)
        .principal_type(aws_sdk_ssoadmin::types::PrincipalType::User)
        .principal_id(&seed.users[2])
        .send()
        .await
        .unwrap();
    // With a page boundary between the two copies, moto hands back the same token forever.
    let proxy = Proxy::start(moto.port);
    proxy.json_param("ListAccountAssignments", "MaxResults", serde_json::json!(1));
    let (_dir, out) = temp_c1z("loop.c1z");
    let mut args = vec!["-f", out.to_str().unwrap()];
    args.extend_from_slice(ORG_FLAGS);
    let run = std::thread::spawn({
        let endpoint = proxy.endpoint();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        move || {
            run_baton_aws(
                &endpoint,
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                &[],
            )
        }
    })
    .join()
    .unwrap();
    assert!(
        !run.status.success(),
        "a listing that never ends must fail the sync"
    );
    assert!(stderr(&run).contains("twice"), "{}", stderr(&run));
    assert!(!out.exists());
    assert!(
        proxy.count("ListAccountAssignments") < 50,
        "the loop is caught at once, not after many calls"
    );
}

#[tokio::test]
async fn setup_mistakes_get_clear_errors() {
    let moto = Moto::start();
    seed_org(&moto.endpoint()).await;

    // Running in a member account.
    let proxy = Proxy::start(moto.port);
    proxy.rewrite(std::sync::Arc::new(
        |action: &str, _: &std::collections::HashMap<String, String>, body: String| {
            if action == "DescribeOrganization" {
                let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
                v["Organization"]["MasterAccountId"] = "111111111111".into();
                return v.to_string();
            }
            body
        },
    ));
    proxy.fault("ListAccounts", 400, "AccessDeniedException", None);
    let (_dir, out) = temp_c1z("member.c1z");
    let mut args = vec!["-f", out.to_str().unwrap()];
    args.extend_from_slice(ORG_FLAGS);
    let run = run_baton_aws(&proxy.endpoint(), &args, &[]);
    assert!(!run.status.success());
    let log = stderr(&run);
    assert!(
        log.contains("member account") && log.contains("management account 111111111111"),
        "{log}"
    );

    // No Identity Center instance in the region.
    let proxy = Proxy::start(moto.port);
    proxy.rewrite(std::sync::Arc::new(
        |action: &str, _: &std::collections::HashMap<String, String>, body: String| {
            if action == "ListInstances" {
                "{\"Instances\":[]}".to_string()
            } else {
                body
            }
        },
    ));
    let run = run_baton_aws(&proxy.endpoint(), &args, &[]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("no IAM Identity Center instance in region us-east-1"),
        "{}",
        stderr(&run)
    );

    // An account instance: users, groups and memberships only, one warning.
    let proxy = Proxy::start(moto.port);
    proxy.fault("ListPermissionSets", 400, "ValidationException", None);
    let (_dir, s, log) = sync(&proxy.endpoint(), &[], &[]);
    assert!(log.contains("account instance"), "{log}");
    assert!(s.resources.keys().any(|k| k.starts_with("sso_user:")));
    assert!(!s.resources.keys().any(|k| k.starts_with("permission_set")));
    assert!(!s.entitlements.iter().any(|e| e.contains('|')));
}

#[tokio::test]
async fn scim_fills_in_user_status() {
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let scim = support::scim::Scim::start("scim-test-token");
    // person000 is active in SCIM, person001 is not; both have no Identity Store status.
    scim.add_user("person000", true).await;
    scim.add_user("person001", false).await;
    for i in 0..103 {
        scim.add_user(&format!("other{i}"), true).await;
    }
    let endpoint = scim.endpoint();
    let (_dir, s, log) = sync(
        &moto.endpoint(),
        &["--scim-enabled", "--scim-endpoint", &endpoint],
        &[("BATON_SCIM_TOKEN", "scim-test-token")],
    );
    let status = |i: usize| {
        s.resources[&format!("sso_user:{}", seed.user_arn(i))]
            .status
            .as_ref()
            .unwrap()
            .status
    };
    assert_eq!(status(0), ResourceStatus::Enabled as i32);
    assert_eq!(status(1), ResourceStatus::Disabled as i32);
    assert_eq!(
        status(2),
        ResourceStatus::Unspecified as i32,
        "no SCIM record, no status"
    );
    assert!(
        !log.contains("scim-test-token"),
        "the SCIM token is never logged"
    );

    let (_dir, out) = temp_c1z("scim-bad.c1z");
    let mut args = vec![
        "-f",
        out.to_str().unwrap(),
        "--scim-enabled",
        "--scim-endpoint",
        &endpoint,
    ];
    args.extend_from_slice(ORG_FLAGS);
    let run = run_baton_aws(&moto.endpoint(), &args, &[("BATON_SCIM_TOKEN", "wrong")]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("rejected the token"),
        "{}",
        stderr(&run)
    );
}

fn sign_in(event_id: &str, name: &str, time: i64, store: &str, user: &str) -> serde_json::Value {
    let record = serde_json::json!({
        "eventName": name,
        "eventSource": "sso.amazonaws.com",
        "userIdentity": {"onBehalfOf": {"userId": user, "identityStoreArn": format!("arn:aws:identitystore::123456789012:identitystore/{store}")}},
    });
    serde_json::json!({"EventId": event_id, "EventName": name, "EventTime": time, "EventSource": "sso.amazonaws.com", "CloudTrailEvent": record.to_string()})
}

#[tokio::test]
async fn sso_last_login_from_cloudtrail() {
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let proxy = Proxy::start(moto.port);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (older, newer) = (now - 86_400 * 10, now - 3600);
    let page1 = serde_json::json!({
        "Events": [
            sign_in("e1", "Federate", older, &seed.store, &seed.users[0]),
            sign_in("e2", "Authenticate", now - 60, "d-otherstore", &seed.users[1]),
        ],
        "NextToken": "page-2",
    });
    let page2 = serde_json::json!({
        "Events": [
            sign_in("e3", "Authenticate", newer, &seed.store, &seed.users[0]),
            sign_in("e4", "CreateUser", now - 30, &seed.store, &seed.users[2]),
        ],
    });
    proxy.fault("LookupEvents", 400, "ThrottlingException", Some(1));
    proxy.answer("LookupEvents", vec![page1.to_string(), page2.to_string()]);
    let (_dir, s, _) = sync(
        &proxy.endpoint(),
        &["--sync-sso-user-last-login"],
        &[("AWS_MAX_ATTEMPTS", "1")],
    );
    let last_login = |i: usize| {
        let user = &s.resources[&format!("sso_user:{}", seed.user_arn(i))];
        c1z::any::find::<c1z::v2::UserTrait>(&user.annotations)
            .unwrap()
            .last_login
    };
    assert_eq!(
        last_login(0).map(|t| t.seconds),
        Some(newer),
        "the latest sign-in of the window"
    );
    assert_eq!(
        last_login(1),
        None,
        "an event of another identity store does not count"
    );
    assert_eq!(
        last_login(2),
        None,
        "only sign-in events count; no event means unknown"
    );
    assert!(
        proxy.count("LookupEvents") >= 3,
        "the throttled lookup was retried and both pages read"
    );
}

#[tokio::test]
async fn deleted_identities_leave_no_grants_behind() {
    use aws_sdk_identitystore::types::MemberId;
    use aws_sdk_ssoadmin::types::{PrincipalType, TargetType};
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let config = support::moto::sdk_config(&moto.endpoint()).await;
    let store = aws_sdk_identitystore::Client::new(&config);
    let admin = aws_sdk_ssoadmin::Client::new(&config);
    // A user in the admins group with a direct assignment, and a group with an
    // assignment; both are deleted afterwards, as when someone leaves.
    let leaver = store
        .create_user()
        .identity_store_id(&seed.store)
        .user_name("leaver")
        .display_name("Leaver")
        .name(
            aws_sdk_identitystore::types::Name::builder()
                .given_name("Lee")
                .family_name("Ver")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .user_id;
    store
        .create_group_membership()
        .identity_store_id(&seed.store)
        .group_id(&seed.admins_group)
        .member_id(MemberId::UserId(leaver.clone()))
        .send()
        .await
        .unwrap();
    let ghost = store
        .create_group()
        .identity_store_id(&seed.store)
        .display_name("ghosts")
        .send()
        .await
        .unwrap()
        .group_id;
    for (principal, kind) in [
        (&leaver, PrincipalType::User),
        (&ghost, PrincipalType::Group),
    ] {
        admin
            .create_account_assignment()
            .instance_arn(&seed.instance_arn)
            .permission_set_arn(&seed.readonly_ps)
            .target_id(&seed.prod)
            .target_type(TargetType::AwsAccount)
            .principal_type(kind)
            .principal_id(principal)
            .send()
            .await
            .unwrap();
    }
    store
        .delete_user()
        .identity_store_id(&seed.store)
        .user_id(&leaver)
        .send()
        .await
        .unwrap();
    store
        .delete_group()
        .identity_store_id(&seed.store)
        .group_id(&ghost)
        .send()
        .await
        .unwrap();
    // What makes this a fault: Identity Center still lists what the deleted identities held.
    let left = admin
        .list_account_assignments()
        .instance_arn(&seed.instance_arn)
        .account_id(&seed.prod)
        .permission_set_arn(&seed.readonly_ps)
        .send()
        .await
        .unwrap()
        .account_assignments
        .unwrap_or_default();
    assert!(
        left.iter()
            .any(|a| a.principal_id.as_deref() == Some(leaver.as_str())),
        "moto keeps the assignment of the deleted user"
    );
    let members = store
        .list_group_memberships()
        .identity_store_id(&seed.store)
        .group_id(&seed.admins_group)
        .send()
        .await
        .unwrap();
    assert!(
        members
            .group_memberships
            .iter()
            .any(|m| matches!(&m.member_id, Some(MemberId::UserId(id)) if *id == leaver)),
        "moto keeps the membership of the deleted user"
    );

    let (_dir, s, log) = sync(&moto.endpoint(), &[], &[]);
    let stale: Vec<&String> = s
        .grants
        .iter()
        .filter(|g| g.contains(&leaver) || g.contains(&ghost))
        .collect();
    assert!(
        stale.is_empty(),
        "no grant names a deleted identity: {stale:?}"
    );
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("left out grants to principals"))
        .collect();
    assert_eq!(warnings.len(), 2, "one warning per principal type: {log}");
    // The user had a membership and an assignment (a grant on the account and
    // one on the binding); the group had an assignment.
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("\"sso_user\"") && w.contains("\"grants\":3")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("\"sso_group\"") && w.contains("\"grants\":2")),
        "{warnings:?}"
    );
    // Live identities keep what they hold.
    assert!(
        s.grants.contains(&format!(
            "grant:sso_user:{}:{}|{}",
            seed.user_arn(3),
            seed.prod,
            seed.readonly_ps
        )),
        "user 3 keeps ReadOnly on prod"
    );
    let prod_admin = format!("{}|{}", seed.prod, seed.admin_ps);
    assert!(
        s.grants
            .contains(&format!("{prod_admin}:sso_user:{}", seed.user_arn(0))),
        "user 0 keeps Admin on prod through the admins group"
    );
}

#[tokio::test]
async fn member_account_credentials_are_refreshed_when_they_expire() {
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let proxy = Proxy::start(moto.port);
    // Assumed-role credentials last one second; the sync takes longer.
    proxy.expire_assumed_credentials_after(std::time::Duration::from_secs(1));
    proxy.set_delay(std::time::Duration::from_millis(150));

    let started = std::time::Instant::now();
    let (_dir, s, log) = sync(
        &proxy.endpoint(),
        &["--global-aws-cross-account-iam-enabled"],
        &[],
    );
    assert!(
        started.elapsed() > std::time::Duration::from_secs(2),
        "the sync outlives the first credentials"
    );
    assert!(
        s.resources.contains_key(&format!(
            "iam_user:arn:aws:iam::{}:user/prod-operator",
            seed.prod
        )),
        "{log}"
    );
    assert_eq!(
        proxy.expired_calls(),
        0,
        "no call went out with expired credentials"
    );
    let prod_assumes = assumptions(&proxy, &seed.prod);
    assert!(
        prod_assumes >= 2,
        "the prod role was assumed again when its credentials ran out ({prod_assumes} assumptions)"
    );
}

#[tokio::test]
async fn assume_role_failure_fails_then_recovers() {
    let moto = Moto::start();
    let seed = seed_org(&moto.endpoint()).await;
    let proxy = Proxy::start(moto.port);
    let (_dir, out) = temp_c1z("assume.c1z");
    let mut args = vec![
        "-f",
        out.to_str().unwrap(),
        "--global-aws-cross-account-iam-enabled",
    ];
    args.extend_from_slice(ORG_FLAGS);
    let quick = [
        ("AWS_MAX_ATTEMPTS", "2"),
        ("BATON_SYNC_MAX_ATTEMPTS", "2"),
        ("BATON_SYNC_RETRY_DELAY_MS", "50"),
    ];
    assert_success(&run_baton_aws(&proxy.endpoint(), &args, &quick));
    let before = std::fs::read(&out).unwrap();

    // STS throttles every assumption of the prod role: the account cannot be
    // read, and that is not a permission problem, so the sync must not
    // publish a file without it.
    proxy.fault_when(
        "AssumeRole",
        "RoleArn",
        &format!("::{}:", seed.prod),
        400,
        "Throttling",
    );
    let failed = run_baton_aws(&proxy.endpoint(), &args, &quick);
    let log = stderr(&failed);
    assert!(!failed.status.success(), "{log}");
    assert!(
        log.contains(&seed.prod) && log.contains("run it again"),
        "{log}"
    );
    assert!(
        !log.contains("skipping the IAM of this member account"),
        "{log}"
    );
    assert!(
        std::fs::read(&out).unwrap() == before,
        "the previous c1z is kept"
    );
    let assumes = assumptions(&proxy, &seed.prod);
    assert!(
        assumes >= 4,
        "each retry of the page assumes the role again ({assumes} assumptions)"
    );

    // STS recovers: the next sync reads the account.
    proxy.rules.lock().unwrap().conditional.clear();
    let run = run_baton_aws(&proxy.endpoint(), &args, &quick);
    assert_success(&run);
    let s = read(&out);
    assert!(s.resources.contains_key(&format!(
        "iam_user:arn:aws:iam::{}:user/prod-operator",
        seed.prod
    )));
}
