//! The review as one self-contained HTML page (inline CSS, no scripts, no
//! external resources), with the same content as the workbook.

use std::fmt::Write;

use super::{Package, ReviewRow};

const STYLE: &str = "
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:24px;color:#1b1b1b;font-size:13px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:2px solid #1f3864;padding-bottom:3px}
table{border-collapse:collapse;margin:6px 0 12px} th,td{border:1px solid #c9ced6;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#1f3864;color:#fff;position:sticky;top:0} td.num{text-align:right}
tr.priv td{background:#f8d7da} .muted{color:#5a6270} code{font-size:12px;word-break:break-all} td.nowrap{white-space:nowrap}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 16px} dl.facts dt{font-weight:bold} dl.facts dd{margin:0;font-family:monospace}
.badge{display:inline-block;background:#c00000;color:#fff;border-radius:3px;padding:0 5px;font-size:11px}
";

/// Renders the package as an HTML page.
pub fn render(package: &Package) -> String {
    let e = &package.evidence;
    let mut page = String::with_capacity(1 << 20);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access review {}</title><style>{STYLE}</style></head><body>\n",
        esc(&e.sync_id)
    );
    let _ = write!(
        page,
        "<h1>Access review</h1><p class=\"muted\">Sync {} of {}, generated {} by {} {}</p>",
        esc(&e.sync_id),
        esc(&e.input_file),
        esc(&e.generated_at),
        e.tool,
        e.tool_version
    );

    page.push_str("<h2 id=\"evidence\">Evidence</h2><dl class=\"facts\">");
    let mut facts = vec![
        ("Input file", e.input_file.clone()),
        ("Input SHA-256", e.input_sha256.clone()),
        ("Input size (bytes)", e.input_size_bytes.to_string()),
        ("Sync ID", e.sync_id.clone()),
        ("Sync type", e.sync_type.clone()),
        ("Sync started", e.sync_started_at.clone()),
        (
            "Sync ended",
            e.sync_ended_at
                .clone()
                .unwrap_or_else(|| "not finished".into()),
        ),
        ("Review rows", e.review_rows.to_string()),
        ("Derived rows", e.derived_rows.to_string()),
        ("Privileged rows", e.privileged_rows.to_string()),
        (
            "Users with console access and no MFA",
            e.users_without_mfa.to_string(),
        ),
    ];
    if let Some(p) = &e.previous {
        facts.push(("Previous review", p.source.clone()));
        facts.push(("Previous sync ID", p.sync_id.clone()));
        facts.push((
            "Grants added / removed",
            format!("{} / {}", p.added, p.removed),
        ));
    }
    for (k, v) in facts {
        let _ = write!(page, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    page.push_str("</dl>\n<table><tr><th>Resource type</th><th>Resources</th><th>Entitlements</th><th>Grants</th></tr>");
    for (t, c) in e
        .counts
        .iter()
        .map(|(t, c)| (t.as_str(), c))
        .chain(std::iter::once(("total", &e.totals)))
    {
        let _ = write!(page, "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>", esc(t), c.resources, c.entitlements, c.grants);
    }
    page.push_str(
        "</table>\n<table><tr><th>Account or application</th><th>Rows</th><th>Privileged</th></tr>",
    );
    for (i, s) in package.sheets.iter().enumerate() {
        let privileged = s.rows.iter().filter(|r| !r.privileged.is_empty()).count();
        let _ = write!(page, "<tr><td><a href=\"#sheet-{i}\">{}</a></td><td class=\"num\">{}</td><td class=\"num\">{privileged}</td></tr>", esc(&s.label), s.rows.len());
    }
    page.push_str("</table>\n");

    page.push_str("<h2 id=\"privileged\">Privileged access</h2>");
    let privileged: Vec<&ReviewRow> = package.privileged_rows().collect();
    if privileged.is_empty() {
        page.push_str("<p>No privileged grants found.</p>");
    } else {
        page.push_str("<table><tr><th>Account</th><th>Principal</th><th>Type</th><th>Entitlement</th><th>How granted</th><th>Reason</th><th>Last login</th></tr>");
        for r in privileged {
            let _ = write!(
                page,
                "<tr class=\"priv\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.account), esc(&r.principal), esc(&r.principal_type), esc(&r.entitlement), esc(&r.granted), esc(&r.privilege_reason), esc(&r.last_login)
            );
        }
        page.push_str("</table>");
    }
    page.push_str("<h3>Users with console access and no MFA</h3>");
    if package.user_findings.is_empty() {
        page.push_str("<p class=\"muted\">None found. The data records MFA and console access only where the connector sets them.</p>");
    } else {
        page.push_str("<table><tr><th>User</th><th>ID</th><th>Finding</th></tr>");
        for (key, name, finding) in &package.user_findings {
            let _ = write!(
                page,
                "<tr class=\"priv\"><td>{}</td><td><code>{}:{}</code></td><td>{}</td></tr>",
                esc(name),
                esc(&key.0),
                esc(&key.1),
                esc(finding)
            );
        }
        page.push_str("</table>");
    }

    if let Some(changes) = &package.changes {
        page.push_str("<h2 id=\"changes\">Changes since the previous review</h2>");
        if changes.is_empty() {
            page.push_str("<p>No grants added or removed.</p>");
        } else {
            page.push_str("<table><tr><th>Change</th><th>Account</th><th>Principal</th><th>Entitlement</th><th>How granted</th><th>Grant ID</th></tr>");
            for c in changes {
                let r = &c.row;
                let _ = write!(
                    page,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                    c.change, esc(&r.account), esc(&r.principal), esc(&r.entitlement), esc(&r.granted), esc(&r.grant_id)
                );
            }
            page.push_str("</table>");
        }
    }

    for (i, s) in package.sheets.iter().enumerate() {
        let _ = write!(
            page,
            "<h2 id=\"sheet-{i}\">{} <span class=\"muted\">({} grants)</span></h2>",
            esc(&s.label),
            s.rows.len()
        );
        page.push_str("<table><tr><th>Principal</th><th>Type</th><th>Entitlement</th><th>Resource</th><th>How granted</th><th>Origin</th><th>Privileged</th><th>Last login</th><th>Unused</th><th>Grant ID</th></tr>");
        for r in &s.rows {
            let class = if r.privileged.is_empty() {
                ""
            } else {
                " class=\"priv\""
            };
            let badge = if r.privileged.is_empty() {
                String::new()
            } else {
                format!(
                    "<span class=\"badge\" title=\"{}\">privileged</span>",
                    esc(&r.privilege_reason)
                )
            };
            let _ = write!(
                page,
                "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{badge}</td><td class=\"nowrap\">{}</td><td class=\"nowrap\">{}</td><td><code>{}</code></td></tr>",
                esc(&r.principal), esc(&r.principal_type), esc(&r.entitlement), esc(&r.resource), esc(&r.granted), esc(&r.origin), esc(&r.last_login), esc(&r.unused), esc(&r.grant_id)
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</body></html>\n");
    page
}

/// Escapes text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
