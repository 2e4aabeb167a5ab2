//! Errors of the `c1z` tool. Each message names the file or value involved
//! and what to do next.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the subcommands can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    C1z(#[from] c1z::Error),

    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{path}: failed to write the workbook: {source}")]
    Xlsx {
        path: PathBuf,
        source: rust_xlsxwriter::XlsxError,
    },

    #[error("{path}: invalid CSV: {source}")]
    Csv { path: PathBuf, source: csv::Error },

    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },

    #[error("{path}: the database inside is not readable: {source}")]
    Query {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error(
        "principal {query:?} not found in sync {sync_id}; list principals with `c1z principals`"
    )]
    PrincipalNotFound { query: String, sync_id: String },

    #[error("principal {query:?} matches {count} resources ({candidates}); give the resource id or TYPE:ID instead")]
    AmbiguousPrincipal {
        query: String,
        count: usize,
        candidates: String,
    },

    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
