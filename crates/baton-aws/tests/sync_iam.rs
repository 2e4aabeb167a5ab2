//! End-to-end IAM syncs: moto seeded through the AWS SDK, the `baton-aws`
//! binary run against it, the c1z read back.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use c1z::any;
use c1z::v2::{GrantImmutable, Resource, SecretTrait, UserTrait};
use c1z::C1zFile;
use support::moto::Moto;
use support::proxy::Proxy;
use support::seed::{arn, seed_iam, ACCOUNT};
use support::{assert_success, run_baton_aws, stderr, temp_c1z};

struct Synced {
    resources: BTreeMap<String, Resource>,
    entitlements: BTreeSet<String>,
    grants: BTreeMap<String, c1z::v2::Grant>,
    expansion: BTreeMap<String, c1z::v2::GrantExpandable>,
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
    let entitlements = file
        .entitlements(&sync)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut grants = BTreeMap::new();
    let mut expansion = BTreeMap::new();
    for (grant, exp) in file.grants(&sync).unwrap() {
        if let Some(exp) = exp {
            expansion.insert(grant.id.clone(), exp);
        }
        grants.insert(grant.id.clone(), grant);
    }
    let types = file
        .resource_types(&sync)
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    Synced {
        resources,
        entitlements,
        grants,
        expansion,
        types,
    }
}

fn policy(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
}

#[tokio::test]
async fn sync_covers_every_iam_kind() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (_dir, out) = temp_c1z("iam.c1z");
    let run = run_baton_aws(
        &moto.endpoint(),
        &["-f", out.to_str().unwrap(), "--sync-secrets"],
        &[],
    );
    assert_success(&run);
    let s = read(&out);

    assert_eq!(
        s.types,
        vec![
            "iam_user",
            "role",
            "group",
            "iam_policy",
            "inline_policy",
            "access-key"
        ]
    );
    let alice = arn("user", "alice");
    let bob = arn("user", "eng/bob@example.com");
    let carol = arn("user", "carol");
    let engineers = arn("group", "teams/Engineers");
    let admins = arn("group", "Admins");
    let deploy = arn("role", "DeployRole");
    let ops = arn("role", "OpsRole");

    // Resources of every type, with paths kept in the ids.
    for key in [
        format!("iam_user:{alice}"),
        format!("iam_user:{bob}"),
        format!("group:{engineers}"),
        format!("group:{}", arn("group", "Empty")),
        format!("role:{deploy}"),
        format!("iam_policy:{}", policy("ReadS3")),
        format!("inline_policy:{alice}::inline::alice-inline"),
        format!("inline_policy:{engineers}::inline::eng-inline"),
        format!("inline_policy:{deploy}::inline::deploy-inline"),
    ] {
        assert!(s.resources.contains_key(&key), "missing resource {key}");
    }
    let bob_trait: UserTrait =
        any::find(&s.resources[&format!("iam_user:{bob}")].annotations).unwrap();
    assert_eq!(
        bob_trait.emails.len(),
        1,
        "a user name that is an address becomes the primary email"
    );
    assert!(bob_trait.emails[0].is_primary);

    // Role classification from the trust policy.
    let nhi = |role: &str| -> String {
        any::find::<c1z::v2::NonHumanIdentityTrait>(
            &s.resources[&format!("role:{}", arn("role", role))].annotations,
        )
        .unwrap()
        .nhi_detail
    };
    assert_eq!(nhi("OpsRole"), "aws.role.lambda");
    assert_eq!(nhi("CrossRole"), "aws.role.cross_account");
    assert_eq!(nhi("DeployRole"), "aws.role");

    // Access keys point at their owner's iam_user resource.
    let key = s
        .resources
        .values()
        .find(|r| r.id.as_ref().unwrap().resource_type == "access-key")
        .expect("an access key");
    let secret: SecretTrait = any::find(&key.annotations).unwrap();
    assert_eq!(secret.identity_id.unwrap().resource, alice);
    assert!(key.created_at.is_some());

    // Entitlements.
    for id in [
        format!("group:{engineers}:member"),
        format!("role:{deploy}:assignment"),
        format!("iam_policy:{}:attached", policy("AdminAll")),
        format!("inline_policy:{deploy}::inline::deploy-inline:attached"),
    ] {
        assert!(s.entitlements.contains(&id), "missing entitlement {id}");
    }

    // Connector grants of every kind.
    let read_s3 = policy("ReadS3");
    for id in [
        format!("group:{engineers}:member:iam_user:{alice}"),
        format!("iam_policy:{read_s3}:attached:iam_user:{bob}"),
        format!("iam_policy:{read_s3}:attached:group:{engineers}"),
        format!("iam_policy:{read_s3}:attached:role:{deploy}"),
        format!("role:{deploy}:assignment:iam_user:{alice}"),
        format!("role:{deploy}:assignment:role:{ops}"),
        format!("inline_policy:{alice}::inline::alice-inline:attached:iam_user:{alice}"),
        format!("inline_policy:{engineers}::inline::eng-inline:attached:group:{engineers}"),
    ] {
        assert!(s.grants.contains_key(&id), "missing grant {id}");
    }
    let group_policy = &s.expansion[&format!("iam_policy:{read_s3}:attached:group:{engineers}")];
    assert!(group_policy.shallow, "group policy edges are shallow");
    assert_eq!(
        s.expansion[&format!("role:{deploy}:assignment:role:{ops}")].entitlement_ids,
        vec![format!("role:{ops}:assignment")]
    );

    // Expanded grants: group members get the group's policies, assumers get the role's.
    let expanded = |id: &str| {
        let g = s
            .grants
            .get(id)
            .unwrap_or_else(|| panic!("missing expanded grant {id}"));
        assert!(
            any::contains::<GrantImmutable>(&g.annotations),
            "{id} is not marked immutable"
        );
        g.sources.clone().unwrap()
    };
    let via = expanded(&format!(
        "iam_policy:{}:attached:iam_user:{carol}",
        policy("AdminAll")
    ));
    assert!(via.contains_key(&format!("group:{admins}:member")));
    expanded(&format!(
        "inline_policy:{engineers}::inline::eng-inline:attached:iam_user:{bob}"
    ));
    expanded(&format!(
        "inline_policy:{deploy}::inline::deploy-inline:attached:role:{ops}"
    ));
    let alice_read = s.grants[&format!("iam_policy:{read_s3}:attached:iam_user:{alice}")]
        .sources
        .clone()
        .unwrap();
    assert!(alice_read.contains_key(&format!("group:{engineers}:member")));
    assert!(alice_read.contains_key(&format!("role:{deploy}:assignment")));
    // bob holds ReadS3 directly and through Engineers: the direct grant gains both sources.
    let bob_read = s.grants[&format!("iam_policy:{read_s3}:attached:iam_user:{bob}")]
        .sources
        .clone()
        .unwrap();
    assert_eq!(bob_read.len(), 2);
}

#[tokio::test]
async fn paged_listings_give_the_same_file() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 9).await;
    let proxy = Proxy::start(moto.port);
    proxy.set_page_size(2);
    let (_dir, direct) = temp_c1z("direct.c1z");
    let (_dir2, paged) = temp_c1z("paged.c1z");
    assert_success(&run_baton_aws(
        &moto.endpoint(),
        &["-f", direct.to_str().unwrap()],
        &[],
    ));
    assert_success(&run_baton_aws(
        &proxy.endpoint(),
        &["-f", paged.to_str().unwrap()],
        &[],
    ));
    let (a, b) = (read(&direct), read(&paged));
    assert_eq!(
        a.resources.keys().collect::<Vec<_>>(),
        b.resources.keys().collect::<Vec<_>>()
    );
    assert_eq!(a.entitlements, b.entitlements);
    assert_eq!(
        a.grants.keys().collect::<Vec<_>>(),
        b.grants.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        a.resources
            .keys()
            .filter(|k| k.starts_with("iam_user:"))
            .count(),
        13
    );
    let paged_user_calls = proxy
        .calls()
        .iter()
        .filter(|c| c.action == "ListUsers")
        .count();
    assert!(
        paged_user_calls >= 7,
        "13 users at 2 per page need 7 pages, saw {paged_user_calls}"
    );
}

#[tokio::test]
async fn deleted_entity_is_skipped_with_warning() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let proxy = Proxy::start(moto.port);
    // A user that ListUsers still returns but that no longer exists for detail calls.
    proxy.inject_member(
        "ListUsers",
        &format!(
            "<member><Path>/</Path><UserName>ghost</UserName><UserId>ghostid0000000000000</UserId><Arn>{}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate></member>",
            arn("user", "ghost")
        ),
    );
    let (_dir, out) = temp_c1z("ghost.c1z");
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    assert_success(&run);
    let log = stderr(&run);
    assert!(
        log.contains("no longer exists"),
        "expected a warning about the vanished user:\n{log}"
    );
    let s = read(&out);
    assert!(
        s.grants.keys().all(|g| !g.contains("user/ghost")),
        "no grants for the vanished user"
    );
    assert!(s
        .resources
        .contains_key(&format!("iam_user:{}", arn("user", "alice"))));
}

#[tokio::test]
async fn access_denied_on_optional_call_warns_once() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 3).await;
    let proxy = Proxy::start(moto.port);
    proxy.fault("ListAccessKeys", 403, "AccessDenied", None);
    // Deny the account-wide snapshot too, so the sync falls back to per-user calls.
    proxy.fault("GetAccountAuthorizationDetails", 403, "AccessDenied", None);
    proxy.fault("GenerateCredentialReport", 403, "AccessDenied", None);
    let (_dir, out) = temp_c1z("denied.c1z");
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    assert_success(&run);
    let log = stderr(&run);
    let warnings = log
        .lines()
        .filter(|l| l.contains("access denied") && l.contains("iam:ListAccessKeys"))
        .count();
    assert_eq!(
        warnings, 1,
        "one warning for the whole kind, not one per user:\n{log}"
    );
    let summary = log
        .lines()
        .find(|l| l.contains("missing from this sync") && l.contains("iam:ListAccessKeys"))
        .expect("a summary at the end");
    assert!(
        summary.contains("\"count\":7"),
        "the summary counts every denial: {summary}"
    );
    assert!(proxy.count("ListAccessKeys") > 1);
    assert_eq!(
        read(&out)
            .resources
            .keys()
            .filter(|k| k.starts_with("iam_user:"))
            .count(),
        7
    );
}

#[tokio::test]
async fn credential_failure_fails_and_keeps_file() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (_dir, out, before) = support::first_sync(&moto.endpoint(), "keep.c1z");

    let proxy = Proxy::start(moto.port);
    proxy.fault("ListRoles", 403, "ExpiredToken", None);
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    assert!(!run.status.success(), "an expired token must fail the sync");
    let log = stderr(&run);
    assert!(log.contains("ExpiredToken"), "{log}");
    assert!(log.contains("credentials"), "{log}");
    assert!(log.contains("left unchanged"), "{log}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the earlier c1z is untouched"
    );

    let proxy = Proxy::start(moto.port);
    proxy.fault("GetCallerIdentity", 403, "InvalidClientTokenId", None);
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("could not be verified"),
        "{}",
        stderr(&run)
    );
    assert_eq!(
        proxy.count("ListUsers"),
        0,
        "nothing is listed with bad credentials"
    );
    assert_eq!(std::fs::read(&out).unwrap(), before);
}

#[tokio::test]
async fn throttled_listing_is_retried() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let proxy = Proxy::start(moto.port);
    proxy.fault("ListGroups", 400, "Throttling", Some(4));
    let (_dir, out) = temp_c1z("throttled.c1z");
    let run = run_baton_aws(
        &proxy.endpoint(),
        &["-f", out.to_str().unwrap()],
        &[("AWS_MAX_ATTEMPTS", "2")],
    );
    assert_success(&run);
    assert!(proxy.count("ListGroups") >= 5);
    assert_eq!(
        read(&out)
            .resources
            .keys()
            .filter(|k| k.starts_with("group:"))
            .count(),
        3
    );
}

#[tokio::test]
async fn resync_keeps_two_syncs() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (_dir, out) = temp_c1z("twice.c1z");
    for _ in 0..3 {
        assert_success(&run_baton_aws(
            &moto.endpoint(),
            &["-f", out.to_str().unwrap()],
            &[],
        ));
    }
    let file = C1zFile::open_read(&out).unwrap();
    let syncs = file.syncs().unwrap();
    assert_eq!(
        syncs.len(),
        2,
        "the default keeps the previous sync and the new one"
    );
    assert!(syncs
        .iter()
        .all(|s| s.ended_at.is_some() && s.supports_diff));
}

#[tokio::test]
async fn assume_role_single_and_two_hop() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let proxy = Proxy::start(moto.port);
    let (_dir, out) = temp_c1z("assumed.c1z");
    let role = arn("role", "DeployRole");
    let external = "0123456789abcdef0123456789abcdef";
    let run = run_baton_aws(
        &proxy.endpoint(),
        &[
            "-f",
            out.to_str().unwrap(),
            "--use-assume",
            "--role-arn",
            &role,
            "--external-id",
            external,
        ],
        &[],
    );
    assert_success(&run);
    let assumes: Vec<_> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRole")
        .collect();
    assert!(!assumes.is_empty(), "the role was assumed");
    assert_eq!(assumes[0].params.get("RoleArn"), Some(&role));
    assert_eq!(
        assumes[0].params.get("ExternalId").map(String::as_str),
        Some(external)
    );

    let proxy = Proxy::start(moto.port);
    let binding = arn("role", "OpsRole");
    let run = run_baton_aws(
        &proxy.endpoint(),
        &[
            "-f",
            out.to_str().unwrap(),
            "--use-assume",
            "--role-arn",
            &role,
            "--external-id",
            external,
            "--global-role-arn",
            &binding,
        ],
        &[],
    );
    assert_success(&run);
    let arns: Vec<String> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRole")
        .filter_map(|c| c.params.get("RoleArn").cloned())
        .collect();
    assert!(
        arns.contains(&binding),
        "the binding role was assumed: {arns:?}"
    );
    assert!(
        arns.contains(&role),
        "the customer role was assumed: {arns:?}"
    );
}

#[tokio::test]
async fn only_attached_and_resource_type_filters() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let config = support::moto::sdk_config(&moto.endpoint()).await;
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    aws_sdk_iam::Client::new(&config)
        .create_policy()
        .policy_name("Unused")
        .policy_document(doc)
        .send()
        .await
        .unwrap();
    let (_dir, out) = temp_c1z("attached.c1z");
    let run = run_baton_aws(
        &moto.endpoint(),
        &["-f", out.to_str().unwrap(), "--sync-only-attached-policies"],
        &[],
    );
    assert_success(&run);
    let s = read(&out);
    assert!(!s
        .resources
        .contains_key(&format!("iam_policy:{}", policy("Unused"))));
    assert!(s
        .resources
        .contains_key(&format!("iam_policy:{}", policy("ReadS3"))));

    let run = run_baton_aws(
        &moto.endpoint(),
        &[
            "-f",
            out.to_str().unwrap(),
            "--sync-resource-types",
            "iam_user,group",
        ],
        &[],
    );
    assert_success(&run);
    let s = read(&out);
    assert_eq!(s.types, vec!["iam_user", "group"]);
    for grant in s.grants.values() {
        let ent = grant
            .entitlement
            .as_ref()
            .unwrap()
            .resource
            .as_ref()
            .unwrap()
            .id
            .as_ref()
            .unwrap();
        let principal = grant.principal.as_ref().unwrap().id.as_ref().unwrap();
        assert!(
            s.types.contains(&ent.resource_type),
            "{} is on a type outside the sync",
            grant.id
        );
        assert!(
            s.types.contains(&principal.resource_type),
            "{} is held by a type outside the sync",
            grant.id
        );
    }
    assert!(s
        .resources
        .keys()
        .all(|k| k.starts_with("iam_user:") || k.starts_with("group:")));
}

#[tokio::test]
async fn credential_facts_are_opt_in() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let config = support::moto::sdk_config(&moto.endpoint()).await;
    aws_sdk_iam::Client::new(&config)
        .create_login_profile()
        .user_name("alice")
        .password("Passw0rd!Passw0rd")
        .send()
        .await
        .unwrap();
    let (_dir, out) = temp_c1z("facts.c1z");
    let console = |s: &Synced, name: &str| -> Option<bool> {
        let user = &s.resources[&format!("iam_user:{}", arn("user", name))];
        match user
            .profile
            .as_ref()
            .unwrap()
            .fields
            .get("console_access")
            .and_then(|v| v.kind.clone())
        {
            Some(prost_types::value::Kind::BoolValue(b)) => Some(b),
            _ => None,
        }
    };

    assert_success(&run_baton_aws(
        &moto.endpoint(),
        &["-f", out.to_str().unwrap()],
        &[],
    ));
    let plain = read(&out);
    assert_eq!(
        console(&plain, "alice"),
        None,
        "without the flag the rows match the Go connector's"
    );

    assert_success(&run_baton_aws(
        &moto.endpoint(),
        &["-f", out.to_str().unwrap(), "--sync-credential-facts"],
        &[],
    ));
    let s = read(&out);
    assert_eq!(
        console(&s, "alice"),
        Some(true),
        "alice has a login profile"
    );
    assert_eq!(console(&s, "carol"), Some(false));
    let alice: UserTrait =
        any::find(&s.resources[&format!("iam_user:{}", arn("user", "alice"))].annotations).unwrap();
    assert_eq!(alice.mfa_status.map(|m| m.mfa_enabled), Some(false));
}

#[tokio::test]
async fn iam_last_login_is_latest_of_password_and_keys() {
    use base64::Engine;
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let proxy = Proxy::start(moto.port);
    let (password, key) = ("2026-11-01T10:00:00Z", "2026-11-20T08:30:00Z");
    let alice = arn("user", "alice");
    let carol = arn("user", "carol");
    let report = format!(
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
         alice,{alice},2026-01-01T00:00:00Z,true,{password},N/A,N/A,false,true,N/A,{key},us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
         carol,{carol},2026-01-01T00:00:00Z,true,{password},N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(report);
    let (alice_arn, carol_arn) = (alice.clone(), carol.clone());
    proxy.rewrite(std::sync::Arc::new(
        move |action: &str, _: &std::collections::HashMap<String, String>, body: String| {
            match action {
                "GetCredentialReport" => match (body.find("<Content>"), body.find("</Content>")) {
                    (Some(a), Some(b)) => format!(
                        "{}<Content>{encoded}</Content>{}",
                        &body[..a],
                        &body[b + "</Content>".len()..]
                    ),
                    _ => body,
                },
                // ListUsers and the snapshot both report when the password was last used.
                "ListUsers" | "GetAccountAuthorizationDetails" => {
                    let mut out = body;
                    for arn in [&alice_arn, &carol_arn] {
                        out = out.replace(
                            &format!("<Arn>{arn}</Arn>"),
                            &format!(
                                "<Arn>{arn}</Arn><PasswordLastUsed>{password}</PasswordLastUsed>"
                            ),
                        );
                    }
                    out
                }
                _ => body,
            }
        },
    ));
    let (_dir, out) = temp_c1z("logins.c1z");
    assert_success(&run_baton_aws(
        &proxy.endpoint(),
        &["-f", out.to_str().unwrap()],
        &[],
    ));
    let s = read(&out);
    let last = |arn: &str| {
        any::find::<UserTrait>(&s.resources[&format!("iam_user:{arn}")].annotations)
            .unwrap()
            .last_login
            .map(|t| t.seconds)
    };
    let at = |text: &str| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
    };
    assert_eq!(
        last(&alice),
        Some(at(key)),
        "the key was used after the password"
    );
    assert_eq!(
        last(&carol),
        Some(at(password)),
        "with no key use, the password's last use counts"
    );
    assert_eq!(
        last(&arn("user", "service/svc-deploy")),
        None,
        "no use at all: no last login"
    );
}

#[tokio::test]
async fn names_with_every_allowed_character_and_paths() {
    let moto = Moto::start();
    let config = support::moto::sdk_config(&moto.endpoint()).await;
    let iam = aws_sdk_iam::Client::new(&config);
    // IAM names allow letters, digits and `+=,.@_-`; paths allow more.
    let (user, group, role, pol, inline) = (
        "a+b=c,d.e@f-g_h",
        "ops+=,.@-_",
        "svc+=,.@-_",
        "pol+=,.@-_",
        "inl+=,.@-_",
    );
    iam.create_user()
        .user_name(user)
        .path("/dept.a/team-1/")
        .send()
        .await
        .unwrap();
    iam.create_group()
        .group_name(group)
        .path("/x.y/")
        .send()
        .await
        .unwrap();
    iam.add_user_to_group()
        .group_name(group)
        .user_name(user)
        .send()
        .await
        .unwrap();
    let user_arn = arn("user", &format!("dept.a/team-1/{user}"));
    let group_arn = arn("group", &format!("x.y/{group}"));
    let role_arn = arn("role", &format!("svc-roles/{role}"));
    let policy_arn = arn("policy", &format!("p.q/{pol}"));
    // A trust policy with a single statement object and a string principal.
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{user_arn}"}},"Action":"sts:AssumeRole"}}}}"#
    );
    iam.create_role()
        .role_name(role)
        .path("/svc-roles/")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a+b/*"}]}"#;
    iam.create_policy()
        .policy_name(pol)
        .path("/p.q/")
        .policy_document(document)
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name(group)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name(user)
        .policy_name(inline)
        .policy_document(document)
        .send()
        .await
        .unwrap();

    let (_dir, out) = temp_c1z("names.c1z");
    assert_success(&run_baton_aws(
        &moto.endpoint(),
        &["-f", out.to_str().unwrap()],
        &[],
    ));
    let s = read(&out);
    for (key, display) in [
        (format!("iam_user:{user_arn}"), user),
        (format!("group:{group_arn}"), group),
        (format!("role:{role_arn}"), role),
        (format!("iam_policy:{policy_arn}"), pol),
    ] {
        let resource = s
            .resources
            .get(&key)
            .unwrap_or_else(|| panic!("{key} is synced; have {:?}", s.resources.keys()));
        assert_eq!(resource.display_name, display, "{key}");
    }
    assert!(s
        .resources
        .contains_key(&format!("inline_policy:{user_arn}::inline::{inline}")));
    for grant in [
        format!("group:{group_arn}:member:iam_user:{user_arn}"),
        format!("role:{role_arn}:assignment:iam_user:{user_arn}"),
        format!("iam_policy:{policy_arn}:attached:group:{group_arn}"),
        format!("inline_policy:{user_arn}::inline::{inline}:attached:iam_user:{user_arn}"),
        // Expanded through the group.
        format!("iam_policy:{policy_arn}:attached:iam_user:{user_arn}"),
    ] {
        assert!(
            s.grants.contains_key(&grant),
            "{grant} in {:#?}",
            s.grants.keys().collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn denied_required_listing_fails() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (_dir, out, before) = support::first_sync(&moto.endpoint(), "required.c1z");

    // Roles cannot be listed at all: the sync must not publish a file without them.
    let proxy = Proxy::start(moto.port);
    proxy.fault("ListRoles", 403, "AccessDenied", None);
    let run = run_baton_aws(&proxy.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    let log = stderr(&run);
    assert!(
        !run.status.success(),
        "a denied required listing fails the sync: {log}"
    );
    assert!(
        log.contains("iam:ListRoles"),
        "the message names the permission: {log}"
    );
    assert!(
        log.contains("grant this permission"),
        "and says what to do: {log}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the earlier c1z is untouched"
    );
}

#[tokio::test]
async fn unreadable_trust_parts_are_warned_once() {
    let moto = Moto::start();
    let config = support::moto::sdk_config(&moto.endpoint()).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let user_arn = arn("user", "reader");
    iam.create_user().user_name("reader").send().await.unwrap();
    // Two roles whose trust policies have parts the parser cannot read, and
    // one readable statement each that still gives its grant.
    for (role, odd) in [
        (
            "not-principal",
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/x"},"Action":"sts:AssumeRole"}"#,
        ),
        (
            "canonical",
            r#"{"Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"sts:AssumeRole"}"#,
        ),
    ] {
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{odd},{{"Effect":"Allow","Principal":{{"AWS":"{user_arn}"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        iam.create_role()
            .role_name(role)
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
    }

    let (_dir, out) = temp_c1z("trust.c1z");
    let run = run_baton_aws(&moto.endpoint(), &["-f", out.to_str().unwrap()], &[]);
    assert_success(&run);
    let log = stderr(&run);
    let warnings = log
        .matches("part of its trust policy was not understood")
        .count();
    assert_eq!(
        warnings, 1,
        "one warning for the first role, debug lines after: {log}"
    );
    let s = read(&out);
    for role in ["not-principal", "canonical"] {
        let grant = format!("role:{}:assignment:iam_user:{user_arn}", arn("role", role));
        assert!(
            s.grants.contains_key(&grant),
            "the readable statement of {role} still gives {grant}"
        );
    }
}
