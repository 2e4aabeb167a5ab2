//! Parity with the Go connector: a sync of the shared seeded organisation
//! compared row by row with the Go connector's file. Runs only when the
//! shared folder (golden files, seed script, c1z-diff) sits next to the
//! workspace, or where BATON_SHARED_DIR points.

mod support;

use std::process::Command;

use support::moto::Moto;
use support::{assert_success, run_baton_aws, shared_dir, temp_c1z};

#[test]
fn iam_sync_matches_go_golden() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: no shared folder with golden files next to the workspace");
        return;
    };
    let moto = Moto::start();
    let seed = Command::new("python3")
        .arg(shared.join("testbed/seed_org.py"))
        .args(["--endpoint", &moto.endpoint(), "--reset", "--preset", "small", "--workers", "1", "--quiet"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run seed_org.py");
    assert!(seed.status.success(), "seeding failed: {}", String::from_utf8_lossy(&seed.stderr));
    let (_dir, out) = temp_c1z("golden-iam.c1z");
    assert_success(&run_baton_aws(&moto.endpoint(), &["-f", out.to_str().unwrap()], &[]));
    let diff = Command::new(shared.join("tools/c1z-diff"))
        .arg(shared.join("golden/go-iam.c1z"))
        .arg(&out)
        .output()
        .expect("run c1z-diff");
    let report = String::from_utf8_lossy(&diff.stdout);
    assert!(diff.status.success(), "differences from the Go connector:\n{report}");
    assert!(report.contains("0 differences"), "{report}");
}
