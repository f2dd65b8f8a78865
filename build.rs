//! Compiles `proto/tideline/v1/*.proto` with a vendored protoc, so a fresh machine needs no system package.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; set before any code reads the environment.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let include = protoc_bin_vendored::include_path()?;

    let mut protos: Vec<PathBuf> = std::fs::read_dir("proto/tideline/v1")?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    protos.sort();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("tideline_descriptor.bin"))
        .compile_protos(&protos, &[PathBuf::from("proto"), include])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
