//! Replays the c1z reader's fuzz corpus (`fuzz/corpus/c1z_reader`, which
//! also keeps every input that once crashed the reader): each file opens
//! with an error or reads through, and never panics.

use std::path::PathBuf;

#[test]
fn c1z_reader_corpus_reads_without_panics() {
    std::env::set_var("BATON_DECODER_MAX_DECODED_SIZE_MB", "64");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/c1z_reader");
    let scratch = tempfile::tempdir().unwrap();
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let source = entry.unwrap().path();
        // The reader wants a .c1z path of its own.
        let path = scratch.path().join("input.c1z");
        std::fs::copy(&source, &path).unwrap();
        if let Ok(file) = c1z::C1zFile::open_read(&path) {
            let _ = file.syncs();
            if let Ok(run) = file.view_sync(None) {
                let _ = file.resource_types(&run.sync_id);
                let _ = file.resources(&run.sync_id);
                let _ = file.entitlements(&run.sync_id);
                let _ = file.grants(&run.sync_id);
            }
        }
        replayed += 1;
    }
    assert!(replayed > 0, "the corpus in {} is not empty", dir.display());
}
