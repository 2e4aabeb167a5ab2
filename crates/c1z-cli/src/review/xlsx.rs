//! The review workbook: an evidence sheet, a privileged access sheet, a
//! changes sheet when a previous review was given, and one sheet per account.

use std::path::Path;

use rust_xlsxwriter::{
    Color, DataValidation, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

use super::{Package, ReviewRow};
use crate::error::{Error, Result};

/// Columns of an account sheet: (header, width in characters).
const GRANT_COLUMNS: &[(&str, f64)] = &[
    ("Principal", 24.0),
    ("Principal type", 14.0),
    ("Principal ID", 40.0),
    ("Entitlement", 36.0),
    ("Entitlement ID", 40.0),
    ("Resource", 28.0),
    ("Resource type", 16.0),
    ("How granted", 44.0),
    ("Origin", 10.0),
    ("Privileged", 10.0),
    ("Privilege reason", 40.0),
    ("Last login", 22.0),
    ("Unused", 14.0),
    ("Grant ID", 40.0),
    ("Decision", 12.0),
    ("Reviewer", 16.0),
    ("Comment", 30.0),
];

/// Values a reviewer can pick in the Decision column.
pub const DECISIONS: &[&str] = &["Keep", "Revoke", "Modify"];

struct Styles {
    header: Format,
    cell: Format,
    privileged: Format,
    key: Format,
    title: Format,
}

fn styles() -> Styles {
    Styles {
        header: Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0x1F3864))
            .set_font_color(Color::White)
            .set_border(FormatBorder::Thin),
        cell: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        privileged: Format::new()
            .set_background_color(Color::RGB(0xF8D7DA))
            .set_text_wrap()
            .set_align(FormatAlign::Top),
        key: Format::new().set_bold(),
        title: Format::new().set_bold().set_font_size(14),
    }
}

/// Writes the workbook of a package.
pub fn write(package: &Package, path: &Path) -> Result<()> {
    build(package, path).map_err(|source| Error::Xlsx {
        path: path.to_path_buf(),
        source,
    })
}

fn build(package: &Package, path: &Path) -> std::result::Result<(), XlsxError> {
    let styles = styles();
    let mut workbook = Workbook::new();

    let evidence = workbook.add_worksheet();
    evidence.set_name("Evidence")?;
    write_evidence(evidence, package, &styles)?;

    let privileged = workbook.add_worksheet();
    privileged.set_name("Privileged")?;
    privileged.set_tab_color(Color::RGB(0xC00000));
    write_privileged(privileged, package, &styles)?;

    if let Some(changes) = &package.changes {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Changes")?;
        let headers = [
            "Change",
            "Account",
            "Principal",
            "Principal type",
            "Entitlement",
            "How granted",
            "Privileged",
            "Grant ID",
        ];
        let rows: Vec<Vec<String>> = changes
            .iter()
            .map(|c| {
                let r = &c.row;
                vec![
                    c.change.to_string(),
                    r.account.clone(),
                    r.principal.clone(),
                    r.principal_type.clone(),
                    r.entitlement.clone(),
                    r.granted.clone(),
                    r.privileged.clone(),
                    r.grant_id.clone(),
                ]
            })
            .collect();
        write_table(
            sheet,
            0,
            &headers,
            &[12.0, 28.0, 24.0, 14.0, 36.0, 44.0, 10.0, 40.0],
            &rows,
            |_| false,
            &styles,
        )?;
        sheet.set_print_fit_to_pages(1, 0);
    }

    for account in &package.sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(&account.name)?;
        write_account(sheet, &account.rows, &styles)?;
    }
    workbook.save(path)
}

fn write_evidence(
    sheet: &mut Worksheet,
    package: &Package,
    styles: &Styles,
) -> std::result::Result<(), XlsxError> {
    let e = &package.evidence;
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_column_width(0, 40)?;
    sheet.set_column_width(1, 70)?;
    sheet.set_column_width(2, 14)?;
    sheet.set_column_width(3, 14)?;
    sheet.write_string_with_format(0, 0, "Access review evidence", &styles.title)?;
    let mut facts: Vec<(&str, String)> = vec![
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
                .unwrap_or_else(|| "not finished".to_string()),
        ),
        ("Tool", format!("{} {}", e.tool, e.tool_version)),
        ("Generated at", e.generated_at.clone()),
        ("Review rows", e.review_rows.to_string()),
        (
            "Derived rows (not expanded in the file)",
            e.derived_rows.to_string(),
        ),
        ("Privileged rows", e.privileged_rows.to_string()),
        (
            "Users with console access and no MFA",
            e.users_without_mfa.to_string(),
        ),
    ];
    if let Some(p) = &e.previous {
        facts.push(("Previous review", p.source.clone()));
        facts.push(("Previous sync ID", p.sync_id.clone()));
        facts.push(("Grants added since previous", p.added.to_string()));
        facts.push(("Grants removed since previous", p.removed.to_string()));
    }
    let mut row = 2;
    for (key, value) in facts {
        sheet.write_string_with_format(row, 0, key, &styles.key)?;
        sheet.write_string(row, 1, value)?;
        row += 1;
    }

    row += 1;
    let headers = ["Resource type", "Resources", "Entitlements", "Grants"];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(row, c as u16, *h, &styles.header)?;
    }
    row += 1;
    for (t, counts) in e
        .counts
        .iter()
        .map(|(t, c)| (t.as_str(), c))
        .chain(std::iter::once(("total", &e.totals)))
    {
        sheet.write_string(row, 0, t)?;
        sheet.write_number(row, 1, counts.resources as f64)?;
        sheet.write_number(row, 2, counts.entitlements as f64)?;
        sheet.write_number(row, 3, counts.grants as f64)?;
        row += 1;
    }

    row += 1;
    for (c, h) in ["Sheet", "Account or application", "Rows", "Privileged"]
        .iter()
        .enumerate()
    {
        sheet.write_string_with_format(row, c as u16, *h, &styles.header)?;
    }
    row += 1;
    for s in &package.sheets {
        sheet.write_string(row, 0, &s.name)?;
        sheet.write_string(row, 1, &s.label)?;
        sheet.write_number(row, 2, s.rows.len() as f64)?;
        sheet.write_number(
            row,
            3,
            s.rows.iter().filter(|r| !r.privileged.is_empty()).count() as f64,
        )?;
        row += 1;
    }
    Ok(())
}

fn write_privileged(
    sheet: &mut Worksheet,
    package: &Package,
    styles: &Styles,
) -> std::result::Result<(), XlsxError> {
    let headers = [
        "Account",
        "Principal",
        "Principal type",
        "Entitlement",
        "How granted",
        "Privilege reason",
        "Last login",
        "Grant ID",
    ];
    let rows: Vec<Vec<String>> = package
        .privileged_rows()
        .map(|r| {
            vec![
                r.account.clone(),
                r.principal.clone(),
                r.principal_type.clone(),
                r.entitlement.clone(),
                r.granted.clone(),
                r.privilege_reason.clone(),
                r.last_login.clone(),
                r.grant_id.clone(),
            ]
        })
        .collect();
    let widths = [28.0, 24.0, 14.0, 36.0, 44.0, 50.0, 22.0, 40.0];
    write_table(sheet, 0, &headers, &widths, &rows, |_| true, styles)?;
    sheet.set_print_fit_to_pages(1, 0);
    let mut row = rows.len() as u32 + 2;
    sheet.write_string_with_format(row, 0, "Users with console access and no MFA", &styles.key)?;
    row += 1;
    if package.user_findings.is_empty() {
        sheet.write_string(row, 0, "None found. The data records MFA and console access only where the connector sets them.")?;
    }
    for (key, name, finding) in &package.user_findings {
        sheet.write_string(row, 0, name)?;
        sheet.write_string(row, 1, format!("{}:{}", key.0, key.1))?;
        sheet.write_string(row, 2, finding)?;
        row += 1;
    }
    Ok(())
}

fn write_account(
    sheet: &mut Worksheet,
    rows: &[ReviewRow],
    styles: &Styles,
) -> std::result::Result<(), XlsxError> {
    let headers: Vec<&str> = GRANT_COLUMNS.iter().map(|(h, _)| *h).collect();
    let widths: Vec<f64> = GRANT_COLUMNS.iter().map(|(_, w)| *w).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.principal.clone(),
                r.principal_type.clone(),
                r.principal_id.clone(),
                r.entitlement.clone(),
                r.entitlement_id.clone(),
                r.resource.clone(),
                r.resource_type.clone(),
                r.granted.clone(),
                r.origin.clone(),
                r.privileged.clone(),
                r.privilege_reason.clone(),
                r.last_login.clone(),
                r.unused.clone(),
                r.grant_id.clone(),
                String::new(),
                String::new(),
                String::new(),
            ]
        })
        .collect();
    write_table(
        sheet,
        0,
        &headers,
        &widths,
        &cells,
        |i| !rows[i].privileged.is_empty(),
        styles,
    )?;
    if !rows.is_empty() {
        let decision_col = headers.iter().position(|h| *h == "Decision").unwrap_or(0) as u16;
        let validation = DataValidation::new()
            .allow_list_strings(DECISIONS)?
            .set_input_title("Decision")?
            .set_input_message("Keep, Revoke or Modify")?;
        sheet.add_data_validation(
            1,
            decision_col,
            rows.len() as u32,
            decision_col,
            &validation,
        )?;
    }
    Ok(())
}

/// Writes a header row and data rows with a frozen header and an autofilter.
fn write_table(
    sheet: &mut Worksheet,
    first_row: u32,
    headers: &[&str],
    widths: &[f64],
    rows: &[Vec<String>],
    highlight: impl Fn(usize) -> bool,
    styles: &Styles,
) -> std::result::Result<(), XlsxError> {
    for (c, (h, w)) in headers.iter().zip(widths).enumerate() {
        sheet.write_string_with_format(first_row, c as u16, *h, &styles.header)?;
        sheet.set_column_width(c as u16, *w)?;
    }
    for (i, row) in rows.iter().enumerate() {
        let r = first_row + 1 + i as u32;
        // Readers do not grow rows for wrapped text on their own (LibreOffice
        // 7.4 overlaps the lines), so set the height from an estimate of the lines.
        let lines = row
            .iter()
            .zip(widths)
            .map(|(v, w)| (v.chars().count() as f64 / (w - 1.0).max(1.0)).ceil() as u32)
            .max()
            .unwrap_or(1);
        if lines > 1 {
            sheet.set_row_height(r, 15.0 * lines.min(40) as f64)?;
        }
        for (c, value) in row.iter().enumerate() {
            if highlight(i) {
                sheet.write_string_with_format(r, c as u16, value, &styles.privileged)?;
            } else if !value.is_empty() {
                sheet.write_string_with_format(r, c as u16, value, &styles.cell)?;
            }
        }
    }
    sheet.set_freeze_panes(first_row + 1, 0)?;
    // Print (and PDF export) landscape, repeating the header row on every page.
    sheet.set_landscape();
    sheet.set_repeat_rows(first_row, first_row)?;
    sheet.autofilter(
        first_row,
        0,
        first_row + rows.len().max(1) as u32,
        headers.len() as u16 - 1,
    )?;
    Ok(())
}
