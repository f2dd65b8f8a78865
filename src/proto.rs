//! The generated protobuf and gRPC code of `tideline.v1` (server and client sides), its encoded
//! descriptor set for reflection, and the conversions of the well-known types both sides share.

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("tideline.v1");

/// The encoded descriptor set, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tideline_descriptor");

/// A time as a protobuf `Timestamp`.
pub fn timestamp(micros: crate::time::Micros) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}
