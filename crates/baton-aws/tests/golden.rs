//! Parity with the Go connector: syncs of the shared seeded organisation
//! compared row by row with the Go connector's files. Runs only when the
//! shared folder (golden files, seed script, c1z-diff) sits next to the
//! workspace, or where BATON_SHARED_DIR points.

mod support;

use std::path::Path;
use std::process::Command;

use support::moto::Moto;
use support::{assert_success, run_baton_aws, shared_dir, temp_c1z};

/// Seeds a fresh moto with the shared "small" organisation, syncs it with
/// `flags` and returns the c1z-diff report against `golden` (its exit status and text).
fn sync_and_diff(
    shared: &Path,
    moto_env: &[(&str, &str)],
    flags: &[&str],
    golden: &str,
    diff_flags: &[&str],
) -> (bool, String) {
    let moto = Moto::start_with_env(moto_env);
    let seed = Command::new("python3")
        .arg(shared.join("testbed/seed_org.py"))
        .args([
            "--endpoint",
            &moto.endpoint(),
            "--reset",
            "--preset",
            "small",
            "--workers",
            "1",
            "--quiet",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run seed_org.py");
    assert!(
        seed.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let (_dir, out) = temp_c1z("golden.c1z");
    // moto has no quotas: the client-side rate limits would only slow the test down.
    let mut args = vec![
        "-f",
        out.to_str().unwrap(),
        "--rate-limit-iam",
        "0",
        "--rate-limit-identity-center",
        "0",
    ];
    args.extend_from_slice(flags);
    assert_success(&run_baton_aws(&moto.endpoint(), &args, &[]));
    let diff = Command::new(shared.join("tools/c1z-diff"))
        .arg(shared.join("golden").join(golden))
        .arg(&out)
        .args(diff_flags)
        .args(["--show", "100000"])
        .output()
        .expect("run c1z-diff");
    (
        diff.status.success(),
        String::from_utf8_lossy(&diff.stdout).into_owned(),
    )
}

#[test]
fn iam_sync_matches_go_golden() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: no shared folder with golden files next to the workspace");
        return;
    };
    let (same, report) = sync_and_diff(&shared, &[], &[], "go-iam.c1z", &[]);
    assert!(
        same && report.contains("0 differences"),
        "differences from the Go connector:\n{report}"
    );
}

#[test]
fn org_sync_matches_go_golden() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: no shared folder with golden files next to the workspace");
        return;
    };
    let flags = ["--global-aws-orgs-enabled", "--global-aws-sso-enabled"];
    let (same, report) = sync_and_diff(&shared, &[], &flags, "go-full.c1z", &[]);
    assert!(
        same && report.contains("0 differences"),
        "differences from the Go connector:\n{report}"
    );
}

/// The only deliberate difference: access keys name their owner by the
/// `iam_user` resource id (the user ARN), where the Go connector uses the
/// IAM user id, which names no resource.
#[test]
fn wide_sync_differs_from_go_only_in_access_key_owners() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: no shared folder with golden files next to the workspace");
        return;
    };
    let flags = [
        "--global-aws-orgs-enabled",
        "--global-aws-sso-enabled",
        "--global-aws-cross-account-iam-enabled",
        "--sync-secrets",
    ];
    let (_, report) = sync_and_diff(
        &shared,
        &[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")],
        &flags,
        "go-wide.c1z",
        &["--ignore-field", "12"],
    );
    let mut differing = 0;
    for line in report.lines() {
        let line = line.trim();
        if let Some(key) = line.strip_prefix("differs: ") {
            assert!(
                key.starts_with("access-key:"),
                "unexpected difference in {key}:\n{report}"
            );
            differing += 1;
        } else if line.starts_with("only in") || line.starts_with("only_in") {
            panic!("a row exists on one side only: {line}\n{report}");
        } else if line.starts_with('$') {
            assert!(
                line.contains("\" != \"arn:aws:iam::"),
                "access keys differ only in the owner id: {line}"
            );
        }
    }
    assert!(
        differing > 0,
        "expected the access-key owner difference:\n{report}"
    );
    assert!(
        report.contains("v1_grants: A=13023 B=13023 only_in_A=0 only_in_B=0 differ=0"),
        "{report}"
    );
    assert!(
        report.contains("v1_entitlements: A=1898 B=1898 only_in_A=0 only_in_B=0 differ=0"),
        "{report}"
    );
}
