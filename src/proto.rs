//! The generated protobuf and gRPC code of `tideline.v1` (server and client sides), its encoded
//! descriptor set for reflection, and the conversions of the well-known types both sides share.

#![allow(clippy::all, missing_docs)]

use crate::time::{Micros, SECOND};

tonic::include_proto!("tideline.v1");

/// The encoded descriptor set, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tideline_descriptor");

/// A time as a protobuf `Timestamp`.
pub fn timestamp(micros: Micros) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(SECOND),
        nanos: (micros.rem_euclid(SECOND) * 1000) as i32,
    }
}
