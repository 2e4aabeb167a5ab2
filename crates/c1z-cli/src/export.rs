//! CSV export of grants for SIEM and spreadsheet use: one row per grant with
//! account, principal, entitlement, how it was granted and privilege flags.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::privilege;
use crate::review::{self, ReviewRow};
use crate::snapshot::Snapshot;

/// The export rows of a snapshot (the same rows as the review package).
pub fn rows(snap: &Snapshot) -> Vec<ReviewRow> {
    review::rows(snap, &privilege::analyze(snap))
}

/// Writes rows as CSV with a header row (also when there are no rows).
pub fn write_csv<'a>(
    out: impl Write,
    rows: impl IntoIterator<Item = &'a ReviewRow>,
) -> std::result::Result<(), csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    writer.write_record(review::CSV_COLUMNS)?;
    for row in rows {
        writer.serialize(row)?;
    }
    writer.flush()?;
    Ok(())
}

/// Writes rows as CSV to a file.
pub fn write_csv_file<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = &'a ReviewRow>,
) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    write_csv(std::io::BufWriter::new(file), rows).map_err(|source| Error::Csv {
        path: path.to_path_buf(),
        source,
    })
}
