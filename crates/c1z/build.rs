//! Compiles the protobuf definitions under `proto/` with `protox`, so no system
//! `protoc` is needed, and generates Rust types with `prost-build`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from("proto");
    let mut files = Vec::new();
    collect(&root, &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [&root])?;
    let mut config = prost_build::Config::new();
    // Maps must encode in key order so that two writes of the same data give the same bytes.
    config.btree_map(["."]);
    config.enable_type_names();
    config.type_name_domain(["."], "type.googleapis.com");
    config.include_file("protos.rs");
    config.compile_fds(descriptors)?;
    Ok(())
}

fn collect(dir: &PathBuf, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
