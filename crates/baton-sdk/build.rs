//! Generates the gRPC client and server of `c1.connectorapi.baton.v1.BatonService`
//! (ConductorOne's task service) with tonic. The messages are the prost
//! types of the `c1z` crate, so only the service code is generated here.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = "../c1z/proto";
    let file = "c1/connectorapi/baton/v1/baton.proto";
    println!("cargo:rerun-if-changed={root}/{file}");
    let descriptors = protox::compile([file], [root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .extern_path(".c1", "::c1z::pb::c1")
        .extern_path(".google.rpc", "::c1z::pb::google::rpc")
        .compile_fds(descriptors)?;
    Ok(())
}
