//! The c1z v1 container: `C1ZF\0` followed by one zstd frame holding an
//! SQLite database image.
//!
//! Reading checks the magic, refuses the v3 (Pebble) format by name, refuses
//! a frame that declares more than the decoded-size limit before decoding
//! anything, and stops decoding as soon as the limit is passed. Writing
//! compresses to `<output>.tmp` next to the output and renames it over the
//! output, so a failure never leaves a half-written file in its place.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Magic bytes of the v1 (SQLite) format.
pub const MAGIC_V1: &[u8; 5] = b"C1ZF\0";
/// Magic bytes of the v3 (Pebble) format, recognised only to be refused.
pub const MAGIC_V3: &[u8; 5] = b"C1Z3\0";

/// Largest window a reader accepts: 2^27 bytes (128 MiB), as the Go readers.
const MAX_WINDOW_LOG: u32 = 27;
/// Default bound on the decoded database: 10 GiB, as baton-sdk v0.25.
const DEFAULT_MAX_DECODED_MB: u64 = 10 * 1024;

/// The decoded-size limit in bytes, from `BATON_DECODER_MAX_DECODED_SIZE_MB`.
pub fn max_decoded_bytes() -> u64 {
    std::env::var("BATON_DECODER_MAX_DECODED_SIZE_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&mb| mb > 0)
        .unwrap_or(DEFAULT_MAX_DECODED_MB)
        .saturating_mul(1024 * 1024)
}

/// What [`decode_to`] found at a path.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The file was empty (or absent): treat it as a new, empty database.
    Empty,
    /// The database image was written to the destination, this many bytes.
    Database(u64),
}

/// Decodes the c1z at `source` into the SQLite file `dest`.
pub fn decode_to(source: &Path, dest: &Path, limit: u64) -> Result<Decoded> {
    let file = match File::open(source) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Decoded::Empty),
        Err(e) => return Err(Error::io(source, e)),
    };
    let length = file.metadata().map_err(|e| Error::io(source, e))?.len();
    if length == 0 {
        return Ok(Decoded::Empty);
    }
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 5];
    let mut got = 0;
    while got < 5 {
        let n = reader
            .read(&mut magic[got..])
            .map_err(|e| Error::io(source, e))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    check_magic(source, &magic[..got])?;

    // Fail fast on a declared size above the limit, before decoding a byte.
    let head = reader.fill_buf_copy(18).map_err(|e| Error::io(source, e))?;
    if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(&head) {
        if size > limit {
            return Err(Error::TooLarge {
                path: source.into(),
                size,
                limit,
            });
        }
    }

    let mut decoder = zstd::stream::read::Decoder::with_buffer(reader)
        .map_err(|e| corrupt(source, e))?
        .single_frame();
    decoder
        .window_log_max(MAX_WINDOW_LOG)
        .map_err(|e| corrupt(source, e))?;
    let out = File::create(dest).map_err(|e| Error::io(dest, e))?;
    let mut out = BufWriter::new(out);
    let mut buffer = vec![0u8; 256 * 1024];
    let mut written: u64 = 0;
    loop {
        let n = match decoder.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(corrupt(source, e)),
        };
        written += n as u64;
        if written > limit {
            return Err(Error::TooLarge {
                path: source.into(),
                size: written,
                limit,
            });
        }
        out.write_all(&buffer[..n])
            .map_err(|e| Error::io(dest, e))?;
    }
    out.flush().map_err(|e| Error::io(dest, e))?;
    if written == 0 {
        return Err(Error::Corrupt {
            path: source.into(),
            detail: "the zstd frame holds no data".into(),
        });
    }
    Ok(Decoded::Database(written))
}

fn check_magic(path: &Path, magic: &[u8]) -> Result<()> {
    if magic == MAGIC_V1 {
        return Ok(());
    }
    if magic == MAGIC_V3 {
        return Err(Error::V3Format { path: path.into() });
    }
    if magic.len() < 5 && MAGIC_V1.starts_with(magic) {
        return Err(Error::Corrupt {
            path: path.into(),
            detail: format!("only {} bytes long", magic.len()),
        });
    }
    let shown: String = magic
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    Err(Error::NotC1z {
        path: path.into(),
        found: format!("\"{shown}\""),
    })
}

fn corrupt(path: &Path, e: std::io::Error) -> Error {
    Error::Corrupt {
        path: path.into(),
        detail: e.to_string(),
    }
}

/// Compresses the SQLite file `database` into a c1z at `output`, through
/// `<output>.tmp` and a rename. Returns the size of the written file.
pub fn encode_from(database: &Path, output: &Path) -> Result<u64> {
    let input = File::open(database).map_err(|e| Error::io(database, e))?;
    let size = input.metadata().map_err(|e| Error::io(database, e))?.len();
    let tmp = temp_path(output);
    let result = (|| -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        let mut writer = BufWriter::new(file);
        writer.write_all(MAGIC_V1)?;
        let mut encoder = zstd::stream::write::Encoder::new(writer, 3)?;
        encoder.include_checksum(true)?;
        encoder.include_contentsize(true)?;
        encoder.set_pledged_src_size(Some(size))?;
        std::io::copy(&mut BufReader::new(input), &mut encoder)?;
        let mut writer = encoder.finish()?;
        writer.flush()?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(output, e));
    }
    set_mode(&tmp);
    std::fs::rename(&tmp, output).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(output, e)
    })?;
    Ok(std::fs::metadata(output).map(|m| m.len()).unwrap_or(0))
}

/// The temporary path a c1z is written to before it is renamed into place.
pub fn temp_path(output: &Path) -> PathBuf {
    let mut name = output
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    output.with_file_name(name)
}

#[cfg(unix)]
fn set_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
}

#[cfg(not(unix))]
fn set_mode(_path: &Path) {}

trait FillBufCopy {
    fn fill_buf_copy(&mut self, want: usize) -> std::io::Result<Vec<u8>>;
}

impl<R: Read> FillBufCopy for BufReader<R> {
    /// The next `want` buffered bytes without consuming them (fewer at end of file).
    fn fill_buf_copy(&mut self, want: usize) -> std::io::Result<Vec<u8>> {
        use std::io::BufRead;
        let buf = self.fill_buf()?;
        Ok(buf[..buf.len().min(want)].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn round_trip_keeps_bytes_and_writes_content_size_and_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let db = write(dir.path(), "db", &data);
        let out = dir.path().join("out.c1z");
        encode_from(&db, &out).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..5], MAGIC_V1);
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&bytes[5..]).unwrap(),
            Some(data.len() as u64)
        );
        // Frame_Header_Descriptor bit 2 is the content checksum flag.
        assert_ne!(bytes[9] & 0x04, 0);
        let back = dir.path().join("back");
        assert_eq!(
            decode_to(&out, &back, u64::MAX).unwrap(),
            Decoded::Database(data.len() as u64)
        );
        assert_eq!(std::fs::read(back).unwrap(), data);
        assert!(!temp_path(&out).exists());
    }

    #[test]
    fn rejects_bad_magic_v3_truncation_and_oversize() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("db");
        let not = write(dir.path(), "x.c1z", b"PK\x03\x04 zip file");
        assert!(matches!(
            decode_to(&not, &dest, u64::MAX),
            Err(Error::NotC1z { .. })
        ));
        let v3 = write(dir.path(), "v3.c1z", b"C1Z3\0\0\0\0\x10");
        let err = decode_to(&v3, &dest, u64::MAX).unwrap_err();
        assert!(err.to_string().contains("v3 (Pebble)"), "{err}");

        let db = write(dir.path(), "db.src", &vec![7u8; 200_000]);
        let good = dir.path().join("good.c1z");
        encode_from(&db, &good).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let cut = write(dir.path(), "cut.c1z", &bytes[..bytes.len() - 6]);
        assert!(matches!(
            decode_to(&cut, &dest, u64::MAX),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            decode_to(&good, &dest, 1000),
            Err(Error::TooLarge { .. })
        ));
        let short = write(dir.path(), "short.c1z", b"C1Z");
        assert!(matches!(
            decode_to(&short, &dest, u64::MAX),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn empty_or_missing_file_is_a_new_database() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(dir.path(), "empty.c1z", b"");
        assert_eq!(
            decode_to(&empty, &dir.path().join("db"), 10).unwrap(),
            Decoded::Empty
        );
        assert_eq!(
            decode_to(&dir.path().join("absent.c1z"), &dir.path().join("db"), 10).unwrap(),
            Decoded::Empty
        );
    }
}
