//! Test support: a moto server per test, a paging and fault-injecting HTTP
//! proxy in front of it, and a runner for the `baton-aws` binary.
#![allow(dead_code)]

pub mod c1_server;
pub mod moto;
pub mod proxy;
pub mod scim;
pub mod seed;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `baton-aws` binary against `endpoint` with test credentials.
pub fn run_baton_aws(endpoint: &str, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton-aws"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("BATON_LOG_FORMAT", "json");
    for (key, value) in extra_env {
        cmd.env(key, value);
    }
    cmd.output().expect("run baton-aws")
}

/// Standard error of a run, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Panics with the run's standard error unless it exited 0.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "baton-aws failed ({}):\n{}",
        output.status,
        stderr(output)
    );
}

/// A fresh temporary directory and a c1z path inside it.
pub fn temp_c1z(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    (dir, path)
}

/// Syncs `endpoint` once into a fresh c1z and returns the directory, the
/// path and the file's bytes, for tests that check a later run keeps them.
pub fn first_sync(endpoint: &str, name: &str) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let (dir, out) = temp_c1z(name);
    assert_success(&run_baton_aws(
        endpoint,
        &["-f", out.to_str().unwrap()],
        &[],
    ));
    let bytes = std::fs::read(&out).expect("read the first c1z");
    (dir, out, bytes)
}

/// The shared folder next to the workspace (golden files, seed script), if present.
pub fn shared_dir() -> Option<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidate = std::env::var_os("BATON_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("../shared"));
    candidate.join("golden").is_dir().then_some(candidate)
}
