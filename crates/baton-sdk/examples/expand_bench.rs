//! Times grant expansion on the latest sync of a c1z whose grants are not yet
//! expanded, and prints how many grants it created.
//!
//!     cargo run --release -p baton-sdk --example expand_bench -- before-expansion.c1z

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: expand_bench FILE.c1z")?;
    let file = c1z::C1zFile::open(std::path::Path::new(&path), None)?;
    let sync_id: String = file.conn().query_row(
        "SELECT sync_id FROM v1_sync_runs ORDER BY id DESC LIMIT 1",
        [],
        |r| r.get(0),
    )?;
    let start = Instant::now();
    let report = baton_sdk::expand::expand_grants(&file, &sync_id)?;
    println!(
        "expanded in {:.2} s: {report:?}",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
