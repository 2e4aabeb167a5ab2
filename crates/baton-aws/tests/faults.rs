//! Faults that must never lose data or leak secrets: a sync killed midway,
//! fake secrets grepped from logs and files, and syncs limited to some
//! resource types whose rows must still point only at rows that exist.

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use c1z::C1zFile;
use support::moto::Moto;
use support::proxy::Proxy;
use support::seed::seed_iam;
use support::{assert_success, run_baton_aws, stderr, temp_c1z};

#[tokio::test(flavor = "multi_thread")]
async fn killed_sync_keeps_previous_file() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 20).await;
    let (_dir, out) = temp_c1z("kept.c1z");
    assert_success(&run_baton_aws(&moto.endpoint(), &["-f", out.to_str().unwrap()], &[]));
    let before = std::fs::read(&out).unwrap();

    let proxy = Proxy::start(moto.port);
    proxy.set_delay(Duration::from_millis(400));
    for wait_ms in [300u64, 1500, 3000] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton-aws"))
            .args(["-f", out.to_str().unwrap(), "--concurrency", "1"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", proxy.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
        assert!(child.try_wait().unwrap().is_none(), "the sync was still running at {wait_ms} ms");
        // SIGKILL: no chance to clean up.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(std::fs::read(&out).unwrap() == before, "the c1z is unchanged after a kill at {wait_ms} ms");
        C1zFile::open_read(&out).expect("and still readable");
    }
}

#[tokio::test]
async fn fake_secrets_never_reach_logs_or_files() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    let (dir, out) = temp_c1z("secrets.c1z");
    let secret_key = "FAKEsecretKEY0123456789abcdefFAKEsecret1";
    let external_id = "fake-external-id-0123456789abcdef-XYZ";
    let scim_token = "fake-scim-token-0123456789";
    let run = run_baton_aws(
        &moto.endpoint(),
        &[
            "-f",
            out.to_str().unwrap(),
            "--log-level",
            "debug",
            "--global-access-key-id",
            "AKIAFAKEFAKEFAKEFAKE",
            "--global-secret-access-key",
            secret_key,
            "--use-assume",
            "--role-arn",
            "arn:aws:iam::123456789012:role/DeployRole",
            "--external-id",
            external_id,
            "--sync-secrets",
        ],
        &[("BATON_SCIM_TOKEN", scim_token)],
    );
    assert_success(&run);
    let log = stderr(&run);
    assert!(log.contains("Syncing"), "the run logged at debug level");
    for secret in [secret_key, scim_token, external_id] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    // Decompress the c1z and search the raw database as well.
    let db = dir.path().join("raw.db");
    c1z::codec::decode_to(&out, &db, u64::MAX).unwrap();
    let raw = std::fs::read(&db).unwrap();
    for secret in [secret_key, scim_token, external_id] {
        assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()), "a secret reached the c1z");
    }
}

/// Every parent, grant entitlement resource and grant principal names a resource row of the sync.
fn assert_closed(path: &std::path::Path, label: &str) {
    let file = C1zFile::open_read(path).unwrap();
    let sync = file.view_sync(None).unwrap().sync_id;
    let resources: BTreeSet<(String, String)> = file
        .resources(&sync)
        .unwrap()
        .into_iter()
        .map(|r| {
            let id = r.id.unwrap();
            (id.resource_type, id.resource)
        })
        .collect();
    let has = |id: &c1z::v2::ResourceId| resources.contains(&(id.resource_type.clone(), id.resource.clone()));
    for resource in file.resources(&sync).unwrap() {
        if let Some(parent) = &resource.parent_resource_id {
            assert!(has(parent), "{label}: {:?} has absent parent {parent:?}", resource.id);
        }
    }
    for entitlement in file.entitlements(&sync).unwrap() {
        assert!(has(entitlement.resource.as_ref().unwrap().id.as_ref().unwrap()), "{label}: entitlement {} of an absent resource", entitlement.id);
    }
    for (grant, _) in file.grants(&sync).unwrap() {
        let entitlement = grant.entitlement.as_ref().unwrap().resource.as_ref().unwrap().id.as_ref().unwrap();
        let principal = grant.principal.as_ref().unwrap().id.as_ref().unwrap();
        assert!(has(entitlement), "{label}: grant {} on an absent resource", grant.id);
        assert!(has(principal), "{label}: grant {} to an absent principal", grant.id);
    }
}

#[tokio::test]
async fn limited_syncs_point_only_at_present_rows() {
    let moto = Moto::start();
    seed_iam(&moto.endpoint(), 0).await;
    for types in ["iam_user,group", "role,inline_policy", "iam_user,inline_policy", "group,iam_policy", "iam_user,role,group,iam_policy,inline_policy,access-key"] {
        let (_dir, out) = temp_c1z("limited.c1z");
        let run = run_baton_aws(&moto.endpoint(), &["-f", out.to_str().unwrap(), "--sync-secrets", "--sync-resource-types", types], &[]);
        assert_success(&run);
        assert_closed(&out, types);
    }
}
