//! Rendering of listings as console tables, JSON or CSV.

use std::io::Write;

use serde_json::{Map, Value};

/// Output format of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the console.
    Table,
    /// JSON for scripts: every field of every record.
    Json,
    /// CSV with a header row, the same columns as the table.
    Csv,
}

/// Records of one subcommand, with the columns a table or CSV shows.
#[derive(Debug, Default)]
pub struct Listing {
    /// Record keys shown as table and CSV columns, in order.
    pub columns: Vec<&'static str>,
    /// One JSON object per row, possibly with more keys than `columns`.
    pub records: Vec<Map<String, Value>>,
    /// The JSON document to print in place of the bare record array.
    pub json: Option<Value>,
    /// Lines printed before the table (console output only).
    pub header: Vec<String>,
    /// Lines printed after the table (console output only).
    pub footer: Vec<String>,
}

impl Listing {
    /// Starts a listing with the given columns.
    pub fn new(columns: &[&'static str]) -> Self {
        Listing {
            columns: columns.to_vec(),
            ..Default::default()
        }
    }

    /// Appends a record.
    pub fn push(&mut self, record: Map<String, Value>) {
        self.records.push(record);
    }

    /// Writes the listing in `format`.
    pub fn write(&self, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            Format::Json => {
                let doc = self.json.clone().unwrap_or_else(|| {
                    Value::Array(self.records.iter().cloned().map(Value::Object).collect())
                });
                serde_json::to_writer_pretty(&mut *out, &doc)?;
                writeln!(out)
            }
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer.write_record(&self.columns)?;
                for record in &self.records {
                    writer.write_record(self.columns.iter().map(|c| cell(record.get(*c))))?;
                }
                writer.flush()
            }
            Format::Table => {
                for line in &self.header {
                    writeln!(out, "{line}")?;
                }
                let mut table = comfy_table::Table::new();
                table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
                table.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
                if table.width().is_none() {
                    table.set_width(fallback_width());
                }
                table.set_header(
                    self.columns
                        .iter()
                        .map(|c| c.replace('_', " ").to_uppercase()),
                );
                for record in &self.records {
                    table.add_row(self.columns.iter().map(|c| cell(record.get(*c))));
                }
                writeln!(out, "{table}")?;
                for line in &self.footer {
                    writeln!(out, "{line}")?;
                }
                Ok(())
            }
        }
    }
}

/// Table width when stdout is not a terminal: `COLUMNS`, else 200 characters.
fn fallback_width() -> u16 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&w| w >= 40)
        .unwrap_or(200)
}

/// The text of one cell: strings as they are, lists joined with `; `, null empty.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| cell(Some(v)))
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    }
}

/// Builds a JSON object from key/value pairs, keeping their order.
#[macro_export]
macro_rules! record {
    ($($key:expr => $value:expr),* $(,)?) => {{
        let mut map = serde_json::Map::new();
        $( map.insert($key.to_string(), serde_json::json!($value)); )*
        map
    }};
}
