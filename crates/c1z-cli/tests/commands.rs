//! Runs every subcommand of the `c1z` binary on files the tests write and on
//! the golden files of the Go connector (skipped when those are absent), and
//! checks the numbers against SQL queries on the database inside.

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use common::*;
use serde_json::Value;

fn fixture(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("fixture.c1z");
    write_fixture(&path, State::First);
    path
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

/// Writes the fixture to `C1Z_KEEP_FIXTURE` when set, for the screenshot script.
#[test]
fn fixture_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("C1Z_KEEP_FIXTURE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("keep.c1z"));
    write_fixture(&path, State::First);
    write_fixture(&path, State::Second);
    let run = c1z(&[
        "-f".as_ref(),
        path.as_os_str(),
        "syncs".as_ref(),
        "-o".as_ref(),
        "json".as_ref(),
    ]);
    assert_eq!(arr(&run.json()).len(), 2);
}

#[test]
fn listings_on_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(dir.path());
    let f = path.to_str().unwrap();

    let types = c1z(&["-f", f, "-o", "json", "resource-types"]).json();
    assert_eq!(arr(&types).len(), 3);
    let users = c1z(&["-f", f, "-o", "json", "resources", "-t", "iam_user"]).json();
    assert_eq!(arr(&users).len(), 3);
    let all = c1z(&["-f", f, "-o", "json", "resources"]).json();
    assert_eq!(arr(&all).len(), 7);
    let ents = c1z(&["-f", f, "-o", "json", "entitlements"]).json();
    assert_eq!(arr(&ents).len(), 4);
    let grants = c1z(&["-f", f, "-o", "json", "grants"]).json();
    assert_eq!(arr(&grants).len(), 7);

    let member = format!("group:{}:member", arn("group", "admins"));
    let on_member = c1z(&["-f", f, "-o", "json", "grants", "--entitlement", &member]).json();
    assert_eq!(arr(&on_member).len(), 2);
    let of_alice = c1z(&["-f", f, "-o", "json", "grants", "--principal", "alice"]).json();
    assert_eq!(arr(&of_alice).len(), 2);
    let expanded = arr(&of_alice)
        .iter()
        .find(|g| g["expanded"] == true)
        .expect("alice has an expanded grant");
    assert_eq!(expanded["granted"], "via Group admins (member)");

    let principals = c1z(&["-f", f, "-o", "json", "principals"]).json();
    let ids: BTreeSet<&str> = arr(&principals)
        .iter()
        .map(|p| p["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(ids, BTreeSet::from(["alice", "bob", "carol", "admins"]));

    let stats = c1z(&["-f", f, "-o", "json", "stats"]).json();
    assert_eq!(stats["resources"], 7);
    assert_eq!(stats["grants"], 7);
    assert_eq!(stats["by_resource_type"]["iam_policy"]["grants"], 5);

    let table = c1z(&["-f", f, "stats"]);
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("iam_policy"), "{}", table.stdout);
    let csv = c1z(&["-f", f, "-o", "csv", "resources"]);
    assert_eq!(
        csv.stdout.lines().next(),
        Some("resource_type,id,display_name,parent")
    );
    assert_eq!(csv.stdout.lines().count(), 8);
}

#[test]
fn access_shows_group_path_and_derived_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(dir.path());
    let f = path.to_str().unwrap();
    let access = c1z(&["-f", f, "-o", "json", "access", "alice"]).json();
    assert_eq!(access["principal"]["id"], arn("user", "alice"));
    let rows = arr(&access["entitlements"]);
    assert_eq!(rows.len(), 3, "{rows:?}");

    let member = rows.iter().find(|r| r["resource_type"] == "group").unwrap();
    assert_eq!(member["granted"], "direct");
    let admin = rows
        .iter()
        .find(|r| r["entitlement_id"] == format!("iam_policy:{ADMIN_POLICY}:attached"))
        .unwrap();
    assert_eq!(admin["granted"], "via Group admins (member)");
    assert_eq!(admin["origin"], "stored");
    let wide = rows.iter().find(|r| r["resource"] == "wide").unwrap();
    assert_eq!(wide["origin"], "derived");
    assert_eq!(wide["granted"], "via Group admins (member)");

    // The same principal by ARN and by TYPE:ID.
    let by_arn = c1z(&["-f", f, "-o", "json", "access", &arn("user", "alice")]).json();
    assert_eq!(arr(&by_arn["entitlements"]).len(), 3);
    let by_key = c1z(&[
        "-f",
        f,
        "-o",
        "json",
        "access",
        &format!("iam_user:{}", arn("user", "alice")),
    ])
    .json();
    assert_eq!(arr(&by_key["entitlements"]).len(), 3);

    let missing = c1z(&["-f", f, "access", "nobody"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("\"nobody\" not found"),
        "{}",
        missing.stderr
    );
}

#[test]
fn diff_after_adding_and_removing_grants() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.c1z");
    let new = dir.path().join("new.c1z");
    write_fixture(&old, State::First);
    write_fixture(&new, State::Second);
    let (o, n) = (old.to_str().unwrap(), new.to_str().unwrap());

    let diff = c1z(&["-o", "json", "diff", o, n]).json();
    assert_eq!(diff["summary"]["grant"]["added"], 2);
    assert_eq!(diff["summary"]["grant"]["removed"], 2);
    assert_eq!(diff["summary"]["resource"]["added"], 1);
    assert_eq!(diff["summary"]["resource"]["removed"], 0);
    assert_eq!(diff["summary"]["entitlement"]["added"], 0);
    let changes = arr(&diff["changes"]);
    let removed: BTreeSet<&str> = changes
        .iter()
        .filter(|c| c["change"] == "removed")
        .map(|c| c["principal"].as_str().unwrap())
        .collect();
    assert_eq!(
        removed,
        BTreeSet::from([format!("iam_user:{}", arn("user", "bob")).as_str()])
    );
    let added_resource = changes.iter().find(|c| c["kind"] == "resource").unwrap();
    assert_eq!(added_resource["name"], "dave");

    // Two syncs of one file give the same result, with the older sync found by default.
    let both = dir.path().join("both.c1z");
    let first = write_fixture(&both, State::First);
    let second = write_fixture(&both, State::Second);
    let b = both.to_str().unwrap();
    let same_file = c1z(&["-f", b, "-o", "json", "diff"]).json();
    assert_eq!(same_file["old"]["sync_id"], first);
    assert_eq!(same_file["new"]["sync_id"], second);
    assert_eq!(same_file["summary"], diff["summary"]);
    let explicit = c1z(&[
        "-f",
        b,
        "-o",
        "json",
        "diff",
        "--old-sync",
        &first,
        "--new-sync",
        &second,
    ])
    .json();
    assert_eq!(explicit["summary"], diff["summary"]);

    let csv = c1z(&["-o", "csv", "diff", o, n]);
    assert_eq!(
        csv.stdout.lines().next(),
        Some("change,kind,resource_type,id,name")
    );
    assert_eq!(csv.stdout.lines().count(), 6);
    let table = c1z(&["diff", o, n]);
    assert!(
        table.stdout.contains("grants: 2 added, 2 removed"),
        "{}",
        table.stdout
    );

    let single = dir.path().join("single.c1z");
    write_fixture(&single, State::First);
    let nothing = c1z(&["-f", single.to_str().unwrap(), "diff"]);
    assert_eq!(nothing.code, 1);
    assert!(
        nothing.stderr.contains("only one finished full sync"),
        "{}",
        nothing.stderr
    );
}

/// Reads the sheet names of an XLSX workbook.
fn sheet_names(path: &Path) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    archive
        .by_name("xl/workbook.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml.split("<sheet name=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .collect()
}

fn read_csv(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn review_package_on_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.c1z");
    let new = dir.path().join("new.c1z");
    write_fixture(&old, State::First);
    let new_sync = write_fixture(&new, State::Second);
    let first_out = dir.path().join("first");
    let second_out = dir.path().join("second");

    let run = c1z(&[
        "-f".as_ref(),
        old.as_os_str(),
        "review".as_ref(),
        "--out".as_ref(),
        first_out.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = c1z(&[
        "-f".as_ref(),
        new.as_os_str(),
        "review".as_ref(),
        "--out".as_ref(),
        second_out.as_os_str(),
        "--previous".as_ref(),
        first_out.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);

    let names = sheet_names(&second_out.join("review.xlsx"));
    assert_eq!(
        names,
        vec![
            "Evidence",
            "Privileged",
            "Changes",
            "AWS account 111122223333"
        ]
    );

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(second_out.join("manifest.json")).unwrap())
            .unwrap();
    let bytes = std::fs::read(&new).unwrap();
    let expected_sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(manifest["input_sha256"], expected_sha);
    assert_eq!(manifest["sync_id"], new_sync);
    assert!(manifest["sync_started_at"].as_str().unwrap().ends_with('Z'));
    assert!(manifest["sync_ended_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(manifest["counts"]["iam_user"]["resources"], 4);
    assert_eq!(manifest["tool_version"], env!("CARGO_PKG_VERSION"));
    // 7 stored grants plus the derived `wide` policy of alice and carol.
    assert_eq!(manifest["review_rows"], 9);
    assert_eq!(manifest["derived_rows"], 2);
    assert_eq!(manifest["users_without_mfa"], 1);
    assert_eq!(manifest["previous"]["added"], 3);
    assert_eq!(manifest["previous"]["removed"], 3);
    for file in ["review.xlsx", "review.html", "grants.csv"] {
        let sha = manifest["files"][file]["sha256"].as_str().unwrap();
        assert_eq!(sha.len(), 64, "{file}");
    }

    let rows = read_csv(&second_out.join("grants.csv"));
    assert_eq!(rows.len(), 9);
    let header = csv::Reader::from_path(second_out.join("grants.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for row in &rows {
        assert_eq!(&row[col("account_id")], ACCOUNT);
        let privileged = &row[col("privileged")] == "yes";
        let on_safe_policy = row[col("entitlement_id")].contains("s3-read");
        assert_eq!(privileged, !on_safe_policy, "{row:?}");
    }
    let alice_login = rows
        .iter()
        .find(|r| &r[col("principal")] == "alice")
        .unwrap();
    assert_eq!(&alice_login[col("last_login")], "2026-01-01 00:00:00 UTC");

    let html = std::fs::read_to_string(second_out.join("review.html")).unwrap();
    assert!(html.contains("Changes since the previous review"));
    assert!(html.contains("console access without MFA"));
    assert!(html.contains(&expected_sha));
}

#[test]
fn export_writes_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(dir.path());
    let out = dir.path().join("grants.csv");
    let run = c1z(&[
        "-f".as_ref(),
        path.as_os_str(),
        "export".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(read_csv(&out).len(), 9);
    let stdout = c1z(&["-f".as_ref(), path.as_os_str(), "export".as_ref()]);
    assert_eq!(stdout.stdout, std::fs::read_to_string(&out).unwrap());
}

#[test]
fn bad_files_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture(dir.path());
    let bytes = std::fs::read(&good).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not.c1z",
            b"PK\x03\x04 this is a zip".to_vec(),
            "not a c1z file",
        ),
        (
            "truncated.c1z",
            bytes[..bytes.len() / 2].to_vec(),
            "truncated",
        ),
        ("empty.c1z", Vec::new(), "empty"),
        ("v3.c1z", b"C1Z3\0\0\0\0\x10manifest".to_vec(), "v3"),
    ];
    for (name, content, problem) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        for command in [
            &["stats"][..],
            &["grants"],
            &["review", "--out", dir.path().join("out").to_str().unwrap()],
        ] {
            let mut args = vec!["-f", path.to_str().unwrap()];
            args.extend_from_slice(command);
            let run = c1z(&args);
            assert_ne!(run.code, 0, "{name} {command:?}");
            assert_eq!(run.stderr.lines().count(), 1, "{name}: {}", run.stderr);
            assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
            assert!(run.stderr.contains(problem), "{name}: {}", run.stderr);
        }
    }
    let missing = c1z(&[
        "-f",
        dir.path().join("absent.c1z").to_str().unwrap(),
        "stats",
    ]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );
}

// ---- golden files of the Go connector ----

const GOLDEN_COUNTS: &[(&str, i64, i64, i64, i64)] = &[
    ("go-iam.c1z", 5, 302, 102, 1111),
    ("go-full.c1z", 12, 722, 258, 10324),
    ("go-wide.c1z", 14, 2450, 1898, 13023),
];

#[test]
fn golden_counts_match_database() {
    for &(name, types, resources, entitlements, grants) in GOLDEN_COUNTS {
        let Some(path) = golden(name) else { continue };
        let f = path.to_str().unwrap();
        let stats = c1z(&["-f", f, "-o", "json", "stats"]).json();
        assert_eq!(stats["resource_types"], types, "{name}");
        assert_eq!(stats["resources"], resources, "{name}");
        assert_eq!(stats["entitlements"], entitlements, "{name}");
        assert_eq!(stats["grants"], grants, "{name}");

        assert_eq!(
            arr(&c1z(&["-f", f, "-o", "json", "resource-types"]).json()).len() as i64,
            types,
            "{name}"
        );
        assert_eq!(
            arr(&c1z(&["-f", f, "-o", "json", "resources"]).json()).len() as i64,
            resources,
            "{name}"
        );
        assert_eq!(
            arr(&c1z(&["-f", f, "-o", "json", "entitlements"]).json()).len() as i64,
            entitlements,
            "{name}"
        );
        assert_eq!(
            arr(&c1z(&["-f", f, "-o", "json", "grants"]).json()).len() as i64,
            grants,
            "{name}"
        );
        let users =
            arr(&c1z(&["-f", f, "-o", "json", "resources", "-t", "iam_user"]).json()).len() as i64;
        assert_eq!(
            users,
            sql_count(
                &path,
                "SELECT count(*) FROM v1_resources WHERE resource_type_id = 'iam_user'",
                &[]
            ),
            "{name}"
        );
        let syncs = c1z(&["-f", f, "-o", "json", "syncs"]).json();
        assert_eq!(
            arr(&syncs).len() as i64,
            sql_count(&path, "SELECT count(*) FROM v1_sync_runs", &[]),
            "{name}"
        );

        let principals = c1z(&["-f", f, "-o", "json", "principals"]).json();
        let holders: i64 = sql_count(
            &path,
            "SELECT count(*) FROM (SELECT DISTINCT principal_resource_type_id, principal_resource_id FROM v1_grants)",
            &[],
        );
        let with_grants = arr(&principals)
            .iter()
            .filter(|p| p["grants"].as_i64().unwrap() > 0)
            .count() as i64;
        assert_eq!(with_grants, holders, "{name}");
        for table in [
            "resource-types",
            "resources",
            "entitlements",
            "grants",
            "principals",
            "syncs",
        ] {
            let run = c1z(&["-f", f, table]);
            assert_eq!(run.code, 0, "{name} {table}: {}", run.stderr);
        }
    }
}

#[test]
fn golden_grant_filters_match_database() {
    let Some(path) = golden("go-full.c1z") else {
        return;
    };
    let f = path.to_str().unwrap();
    let entitlement = "sso_group:arn:aws:identitystore:us-east-1::d-synvyuiruo/group/";
    let any_group: String = {
        let file = c1z::C1zFile::open_read(&path).unwrap();
        file.conn()
            .query_row("SELECT entitlement_id FROM v1_grants WHERE entitlement_id LIKE ?1 || '%' ORDER BY id LIMIT 1", [entitlement], |r| r.get(0))
            .unwrap()
    };
    let listed = arr(&c1z(&["-f", f, "-o", "json", "grants", "--entitlement", &any_group]).json())
        .len() as i64;
    assert_eq!(
        listed,
        sql_count(
            &path,
            "SELECT count(*) FROM v1_grants WHERE entitlement_id = ?1",
            &[&any_group]
        )
    );
    assert!(listed > 0);
}

#[test]
fn golden_access_of_known_users() {
    // An IAM user whose group policies the SDK expanded: every grant is stored.
    if let Some(path) = golden("go-iam.c1z") {
        let f = path.to_str().unwrap();
        let user = "arn:aws:iam::123456789012:user/quentin.castellano";
        let access = c1z(&["-f", f, "-o", "json", "access", "quentin.castellano"]).json();
        let rows = arr(&access["entitlements"]);
        let stored = sql_count(
            &path,
            "SELECT count(DISTINCT entitlement_id) FROM v1_grants WHERE principal_resource_id = ?1",
            &[user],
        );
        assert_eq!(rows.len() as i64, stored);
        assert!(rows.iter().all(|r| r["origin"] == "stored"));
        let groups = sql_count(&path, "SELECT count(*) FROM v1_grants WHERE principal_resource_id = ?1 AND resource_type_id = 'group'", &[user]);
        let via_group = rows
            .iter()
            .filter(|r| r["granted"].as_str().unwrap().contains("via Group "))
            .count() as i64;
        assert!(groups > 0, "no group memberships");
        assert!(via_group > 0, "no grant via a group");
    }
    // An SSO user: account access through SSO groups, and AWS managed policies
    // of permission sets that the SDK could not expand (no entitlement rows).
    if let Some(path) = golden("go-full.c1z") {
        let f = path.to_str().unwrap();
        let access = c1z(&["-f", f, "-o", "json", "access", "sigrid.aziz"]).json();
        let user = access["principal"]["id"].as_str().unwrap().to_string();
        let rows = arr(&access["entitlements"]);
        let stored = sql_count(
            &path,
            "SELECT count(DISTINCT entitlement_id) FROM v1_grants WHERE principal_resource_id = ?1",
            &[&user],
        );
        let stored_rows = rows.iter().filter(|r| r["origin"] == "stored").count() as i64;
        assert_eq!(stored_rows, stored);
        let derived: Vec<&Value> = rows.iter().filter(|r| r["origin"] == "derived").collect();
        assert!(!derived.is_empty());
        assert!(derived.iter().all(|r| r["entitlement_id"]
            .as_str()
            .unwrap()
            .starts_with("iam_policy:arn:aws:iam::aws:policy/")));
        let admin = derived
            .iter()
            .find(|r| r["entitlement_id"] == format!("iam_policy:{ADMIN_POLICY}:attached"))
            .expect("AdministratorAccess");
        assert!(
            admin["granted"].as_str().unwrap().contains("← SSO Group"),
            "{}",
            admin["granted"]
        );
        let via_sso = rows
            .iter()
            .filter(|r| {
                r["resource_type"] == "account"
                    && r["granted"].as_str().unwrap().contains("via SSO Group")
            })
            .count();
        assert!(via_sso > 0);
    }
}

#[test]
fn golden_diff_matches_database() {
    let (Some(iam), Some(full)) = (golden("go-iam.c1z"), golden("go-full.c1z")) else {
        return;
    };
    let diff = c1z(&[
        "-o".as_ref(),
        "json".as_ref(),
        "diff".as_ref(),
        iam.as_os_str(),
        full.as_os_str(),
    ])
    .json();
    let ids = |path: &Path, sql: &str| -> BTreeSet<String> {
        let file = c1z::C1zFile::open_read(path).unwrap();
        let mut stmt = file.conn().prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for (kind, sql) in [
        ("resource", "SELECT external_id FROM v1_resources"),
        ("entitlement", "SELECT external_id FROM v1_entitlements"),
        ("grant", "SELECT external_id FROM v1_grants"),
    ] {
        let (old, new) = (ids(&iam, sql), ids(&full, sql));
        assert_eq!(
            diff["summary"][kind]["added"],
            new.difference(&old).count(),
            "{kind}"
        );
        assert_eq!(
            diff["summary"][kind]["removed"],
            old.difference(&new).count(),
            "{kind}"
        );
    }
}

#[test]
fn golden_review_packages() {
    for (name, sheets) in [("go-iam.c1z", 1), ("go-full.c1z", 7)] {
        let Some(path) = golden(name) else { continue };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("package");
        let run = c1z(&[
            "-f".as_ref(),
            path.as_os_str(),
            "review".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        let grants = sql_count(&path, "SELECT count(*) FROM v1_grants", &[]);
        assert_eq!(manifest["totals"]["grants"], grants, "{name}");
        assert_eq!(
            manifest["review_rows"].as_i64().unwrap(),
            grants + manifest["derived_rows"].as_i64().unwrap(),
            "{name}"
        );
        let names = sheet_names(&out.join("review.xlsx"));
        assert_eq!(names.len(), 2 + sheets, "{name}: {names:?}");
        let sheet_rows: i64 = arr(&manifest["sheets"])
            .iter()
            .map(|s| s["rows"].as_i64().unwrap())
            .sum();
        assert_eq!(sheet_rows, manifest["review_rows"].as_i64().unwrap());
        if name == "go-iam.c1z" {
            // IAM only: one sheet for the account in the ARNs.
            assert_eq!(names[2], "AWS account 123456789012");
            assert_eq!(manifest["derived_rows"], 0);
        } else {
            assert!(
                names.iter().any(|n| n == "IAM Identity Center"),
                "{names:?}"
            );
            assert!(manifest["privileged_rows"].as_i64().unwrap() > 0);
        }
        assert_eq!(
            read_csv(&out.join("grants.csv")).len() as i64,
            manifest["review_rows"].as_i64().unwrap()
        );
    }
}

#[test]
fn review_flags_unused_access() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("usage.c1z");
    write_fixture(&file, State::First);
    let unused_rows = |days: &str, name: &str| -> usize {
        let out = dir.path().join(name);
        let run = c1z(&[
            "-f".as_ref(),
            file.as_os_str(),
            "review".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--unused-days".as_ref(),
            days.as_ref(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut reader = csv::Reader::from_path(out.join("grants.csv")).unwrap();
        let headers = reader.headers().unwrap().clone();
        let column = headers
            .iter()
            .position(|h| h == "unused")
            .expect("an unused column");
        reader
            .records()
            .filter(|r| r.as_ref().unwrap()[column].starts_with("yes ("))
            .count()
    };
    // The fixture's users last logged in on 2026-01-01, long before the sync.
    assert!(
        unused_rows("30", "short") > 0,
        "rows of users idle for longer than 30 days are flagged"
    );
    assert_eq!(
        unused_rows("100000", "long"),
        0,
        "nothing is idle for 100000 days"
    );
}
