//! Opens a review package in the programs people use to read it: LibreOffice
//! converts the workbook to PDF and headless Chromium renders the HTML
//! report. Each check is skipped when its program is not installed
//! (`scripts/screenshots.sh` installs them).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn installed(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: {program} is not installed");
    }
    found
}

fn package(dir: &Path) -> std::path::PathBuf {
    let input = dir.join("fixture.c1z");
    write_fixture(&input, State::First);
    let out = dir.join("package");
    let run = c1z(&[
        "-f".as_ref(),
        input.as_os_str(),
        "review".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    out
}

#[test]
fn workbook_converts_in_libreoffice() {
    if !installed("libreoffice") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = package(dir.path());
    let status = Command::new("libreoffice")
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(out.join("review.xlsx"))
        // A private profile, so a running LibreOffice of the user does not take the request.
        .arg(format!(
            "-env:UserInstallation=file://{}/lo-profile",
            dir.path().display()
        ))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let pdf = std::fs::read(dir.path().join("review.pdf")).expect("LibreOffice wrote no PDF");
    assert!(pdf.starts_with(b"%PDF"));
}

#[test]
fn html_report_renders_in_chromium() {
    if !installed("chromium") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = package(dir.path());
    let page = format!("file://{}", out.join("review.html").display());
    let run = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &page,
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let dom = String::from_utf8_lossy(&run.stdout);
    assert!(dom.contains("<h1>Access review</h1>"), "{dom}");
    assert!(dom.contains("AWS account 111122223333"));
    let shot = dir.path().join("report.png");
    let run = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1200,900",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
}
