//! Feeds arbitrary bytes to the c1z reader: it must return an error or a
//! readable file, never panic or run away with memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("input.c1z");
    std::fs::write(&path, data).expect("write input");
    std::env::set_var("BATON_DECODER_MAX_DECODED_SIZE_MB", "64");
    if let Ok(file) = c1z::C1zFile::open_read(&path) {
        let _ = file.syncs();
        if let Ok(run) = file.view_sync(None) {
            let _ = file.resource_types(&run.sync_id);
            let _ = file.resources(&run.sync_id);
            let _ = file.entitlements(&run.sync_id);
            let _ = file.grants(&run.sync_id);
        }
    }
});
