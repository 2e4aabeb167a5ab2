//! Shared helpers of the integration tests: running the binary, locating the
//! golden files, and writing small c1z fixtures.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use c1z::any::pack;
use c1z::v2::{
    Entitlement, Grant, GrantExpandable, GrantImmutable, GrantSources, GroupTrait, Resource,
    ResourceId, ResourceType, UserTrait,
};
use c1z::C1zFile;

/// Output of one run of the `c1z` binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Parses stdout as JSON, failing the test with the output when it is not.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "c1z failed: {}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Runs `c1z` with the given arguments.
pub fn c1z<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_c1z"))
        .args(args)
        .env_remove("C1Z_FILE")
        .output()
        .expect("run c1z");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The directory of the golden c1z files written by the Go connector:
/// `C1Z_GOLDEN_DIR`, else `shared/golden` beside the workspace. `None` (and
/// a note on stderr) when it is absent, so that tests skip.
pub fn golden(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("C1Z_GOLDEN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/golden"));
    let path = dir.join(name);
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: golden file {} not found (set C1Z_GOLDEN_DIR)",
            path.display()
        );
        None
    }
}

/// Runs a SQL count against the database inside a c1z.
pub fn sql_count(path: &Path, sql: &str, params: &[&str]) -> i64 {
    let file = C1zFile::open_read(path).unwrap();
    file.conn()
        .query_row(sql, rusqlite::params_from_iter(params.iter()), |r| r.get(0))
        .unwrap()
}

pub const ACCOUNT: &str = "111122223333";

pub fn arn(kind: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:{kind}/{name}")
}

pub const ADMIN_POLICY: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

fn rid(t: &str, id: &str) -> Option<ResourceId> {
    Some(ResourceId {
        resource_type: t.into(),
        resource: id.into(),
        baton_resource: false,
    })
}

fn struct_of(fields: &[(&str, prost_types::Value)]) -> prost_types::Struct {
    prost_types::Struct {
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

fn string_value(s: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(s.into())),
    }
}

fn bool_value(b: bool) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::BoolValue(b)),
    }
}

pub fn user(name: &str, console_without_mfa: bool) -> Resource {
    let mut trait_ = UserTrait {
        last_login: Some(prost_types::Timestamp {
            seconds: 1_767_225_600,
            nanos: 0,
        }),
        ..Default::default()
    };
    let mut profile = vec![("aws_arn", string_value(&arn("user", name)))];
    if console_without_mfa {
        trait_.mfa_status = Some(c1z::v2::user_trait::MfaStatus { mfa_enabled: false });
        profile.push(("console_access", bool_value(true)));
    }
    Resource {
        id: rid("iam_user", &arn("user", name)),
        display_name: name.into(),
        annotations: vec![pack(&trait_)],
        profile: Some(struct_of(&profile)),
        ..Default::default()
    }
}

pub fn group(name: &str) -> Resource {
    Resource {
        id: rid("group", &arn("group", name)),
        display_name: name.into(),
        annotations: vec![pack(&GroupTrait::default())],
        ..Default::default()
    }
}

pub fn policy(arn: &str, name: &str, document: Option<&str>) -> Resource {
    let profile = document.map(|d| struct_of(&[("policy_document", string_value(d))]));
    Resource {
        id: rid("iam_policy", arn),
        display_name: name.into(),
        profile,
        ..Default::default()
    }
}

pub fn entitlement(resource: &Resource, slug: &str, display: &str) -> Entitlement {
    let id = resource.id.as_ref().unwrap();
    Entitlement {
        resource: Some(resource.clone()),
        id: format!("{}:{}:{}", id.resource_type, id.resource, slug),
        display_name: display.into(),
        slug: slug.into(),
        ..Default::default()
    }
}

pub fn grant(ent: &Entitlement, principal: &Resource) -> Grant {
    let pid = principal.id.clone().unwrap();
    Grant {
        id: format!("{}:{}:{}", ent.id, pid.resource_type, pid.resource),
        entitlement: Some(ent.clone()),
        principal: Some(Resource {
            id: Some(pid),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A grant as SDK grant expansion writes it: `GrantImmutable` and a `sources` map.
pub fn expanded(ent: &Entitlement, principal: &Resource, source: &str) -> Grant {
    let mut g = grant(ent, principal);
    g.annotations.push(pack(&GrantImmutable::default()));
    let mut sources = GrantSources::default();
    sources.insert(
        source,
        c1z::v2::grant_sources::GrantSource { is_direct: true },
    );
    g.sources = Some(sources);
    g
}

/// Which state of the fixture to write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// alice and bob in group admins; carol holds the read-only policy.
    First,
    /// bob left admins, carol joined it, and a new user dave holds nothing.
    Second,
}

/// Appends one finished full sync of the fixture to `path` and returns its id.
///
/// Group `admins` holds `AdministratorAccess`, expanded by hand to its
/// members as the SDK does. It also holds the customer policy `wide`, whose
/// document allows `*` on `*`, and that edge is left unexpanded, so `wide` is derived access.
pub fn write_fixture(path: &Path, state: State) -> String {
    let file = C1zFile::open(path, None).unwrap();
    let sync = file.start_sync("full", "").unwrap();
    let types: Vec<ResourceType> = [
        ("iam_user", "IAM User", 1),
        ("group", "Group", 2),
        ("iam_policy", "IAM Managed Policy", 3),
    ]
    .iter()
    .map(|(id, name, t)| ResourceType {
        id: id.to_string(),
        display_name: name.to_string(),
        traits: vec![*t],
        ..Default::default()
    })
    .collect();
    file.put_resource_types(&sync, &types).unwrap();

    let alice = user("alice", true);
    let bob = user("bob", false);
    let carol = user("carol", false);
    let dave = user("dave", false);
    let admins = group("admins");
    let admin_policy = policy(ADMIN_POLICY, "AdministratorAccess", None);
    let wide_arn = arn("policy", "wide");
    let wide = policy(
        &wide_arn,
        "wide",
        Some(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        ),
    );
    let read_arn = arn("policy", "s3-read");
    let read = policy(
        &read_arn,
        "s3-read",
        Some(r#"{"Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}"#),
    );
    let mut resources = vec![
        alice.clone(),
        bob.clone(),
        carol.clone(),
        admins.clone(),
        admin_policy.clone(),
        wide.clone(),
        read.clone(),
    ];
    if state == State::Second {
        resources.push(dave.clone());
    }
    file.put_resources(&sync, &resources).unwrap();

    let member = entitlement(&admins, "member", "admins Group Member");
    let admin_attached = entitlement(
        &admin_policy,
        "attached",
        "AdministratorAccess Managed Policy",
    );
    let wide_attached = entitlement(&wide, "attached", "wide Managed Policy");
    let read_attached = entitlement(&read, "attached", "s3-read Managed Policy");
    file.put_entitlements(
        &sync,
        &[
            member.clone(),
            admin_attached.clone(),
            wide_attached.clone(),
            read_attached.clone(),
        ],
    )
    .unwrap();

    let edge = |ent: &Entitlement| {
        let mut g = grant(ent, &admins);
        g.annotations.push(pack(&GrantExpandable {
            entitlement_ids: vec![member.id.clone()],
            shallow: true,
            ..Default::default()
        }));
        g
    };
    let members: Vec<&Resource> = match state {
        State::First => vec![&alice, &bob],
        State::Second => vec![&alice, &carol],
    };
    let mut grants: Vec<Grant> = members.iter().map(|m| grant(&member, m)).collect();
    grants.push(edge(&admin_attached));
    grants.push(edge(&wide_attached));
    grants.push(grant(&read_attached, &carol));
    file.put_grants(&sync, &grants).unwrap();
    let expanded_grants: Vec<Grant> = members
        .iter()
        .map(|m| expanded(&admin_attached, m, &member.id))
        .collect();
    file.put_expanded_grants(&sync, &expanded_grants).unwrap();
    file.set_supports_diff(&sync).unwrap();
    file.end_sync(&sync, "{\"version\":1}", true).unwrap();
    file.save().unwrap();
    sync
}
