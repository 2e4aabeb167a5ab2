//! Errors of the c1z reader and writer. Each names the file involved and says
//! what to do about it.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing a c1z file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "{path}: not a c1z file (it starts with {found}, a c1z v1 file starts with \"C1ZF\\0\")"
    )]
    NotC1z { path: PathBuf, found: String },

    #[error("{path}: this is a c1z v3 (Pebble) file, which this tool does not read; write it again with `--storage-engine sqlite` to get the v1 format")]
    V3Format { path: PathBuf },

    #[error("{path}: the compressed data is truncated or corrupt ({detail}); the file was not written completely; move or delete it, then sync again")]
    Corrupt { path: PathBuf, detail: String },

    #[error("{path}: the database inside is {size} bytes, more than the limit of {limit} bytes; raise BATON_DECODER_MAX_DECODED_SIZE_MB if the file is trusted")]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },

    #[error("{path}: the database inside is not readable SQLite: {source}")]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error("c1z database: {0}")]
    Sqlite(#[from] rusqlite::Error),

    #[error("c1z row {table}/{id} holds a protobuf blob that does not decode: {source}")]
    Decode {
        table: &'static str,
        id: String,
        source: prost::DecodeError,
    },

    #[error("{path}: no finished sync in this file")]
    NoFinishedSync { path: PathBuf },

    #[error("{path}: no sync with id {sync_id} in this file")]
    UnknownSync { path: PathBuf, sync_id: String },

    #[error("{0}")]
    Invalid(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
