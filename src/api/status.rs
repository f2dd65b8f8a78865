//! The one place errors become gRPC statuses.

use tonic::{Code, Status};

use crate::error::Error;
use crate::index::IndexError;
use crate::model::ValidationError;
use crate::proto;
use crate::store::StoreError;

/// The longest status message sent: gRPC carries it in a header, and metadata has a size limit
/// (a larger one would reach the client as RESOURCE_EXHAUSTED instead of the error).
const MAX_STATUS_MESSAGE_BYTES: usize = 1024;

/// The header gRPC clients read as "retry after this many milliseconds".
pub const RETRY_PUSHBACK_HEADER: &str = "grpc-retry-pushback-ms";

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        let status = status_of(err);
        let message = status.message();
        if message.len() <= MAX_STATUS_MESSAGE_BYTES {
            return status;
        }
        let mut end = MAX_STATUS_MESSAGE_BYTES - 40;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let shortened = format!(
            "{}… (message of {} bytes cut)",
            &message[..end],
            message.len()
        );
        let mut bounded = Status::new(status.code(), shortened);
        *bounded.metadata_mut() = status.metadata().clone();
        bounded
    }
}

/// The status of an error, before its message is bounded.
fn status_of(err: Error) -> Status {
    match err {
        Error::Validation(e) => Status::invalid_argument(e.to_string()),
        Error::Index(IndexError::Query(message)) => {
            Status::invalid_argument(format!("query: {message}"))
        }
        e @ Error::LimitExceeded { .. } => Status::resource_exhausted(e.to_string()),
        e @ Error::Store(StoreError::ReadOnly(_)) => Status::resource_exhausted(e.to_string()),
        e @ Error::NotFound { .. } => Status::not_found(e.to_string()),
        Error::FailedPrecondition(message) => Status::failed_precondition(message),
        e @ Error::Timeout(_) => Status::deadline_exceeded(e.to_string()),
        Error::Unauthenticated(message) => Status::unauthenticated(message),
        Error::PermissionDenied(message) => Status::permission_denied(message),
        e @ Error::RateLimited { retry_after, .. } => {
            let mut status = Status::resource_exhausted(e.to_string());
            // gRPC's retry pushback: clients with a retry policy wait this long.
            let millis = retry_after.as_millis().max(1).to_string();
            if let Ok(value) = millis.parse() {
                status.metadata_mut().insert(RETRY_PUSHBACK_HEADER, value);
            }
            status
        }
        other => {
            tracing::error!(error = %other, "request failed");
            Status::internal(other.to_string())
        }
    }
}

impl From<ValidationError> for Status {
    fn from(err: ValidationError) -> Status {
        Error::from(err).into()
    }
}

/// A per-item error inside a batch or stream response.
pub fn item_error(index: u64, code: Code, field: &str, message: String) -> proto::ItemError {
    proto::ItemError {
        index,
        field: field.to_string(),
        code: code_name(code).to_string(),
        message,
    }
}

/// A per-item validation error.
pub fn item_validation_error(index: u64, err: ValidationError) -> proto::ItemError {
    item_error(index, Code::InvalidArgument, &err.field, err.to_string())
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::NotFound => "NOT_FOUND",
        Code::Internal => "INTERNAL",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::Unauthenticated => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// A status tonic produced while taking a request in (before or between handler steps), in the
/// terms of this API: an oversized message becomes RESOURCE_EXHAUSTED naming
/// `limits.max_message_bytes`; a body that does not decode as the request message (garbage,
/// truncated, invalid UTF-8 in a string field) becomes INVALID_ARGUMENT. Others pass unchanged.
pub fn name_transport_error(status: Status, max_message_bytes: usize) -> Status {
    let message = status.message();
    match status.code() {
        Code::OutOfRange if message.contains("message length too large") => {
            Status::resource_exhausted(message_limit_text(message, max_message_bytes))
        }
        Code::Internal if message.starts_with("failed to decode Protobuf message") => {
            Status::invalid_argument(format!(
                "request body is not a valid protobuf message of this method: {}",
                message.trim_start_matches("failed to decode Protobuf message: ")
            ))
        }
        _ => status,
    }
}

/// The message used when a request exceeds `limits.max_message_bytes`.
fn message_limit_text(detail: &str, max_message_bytes: usize) -> String {
    let found = detail
        .split("found ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("?");
    format!(
        "request message of {found} bytes exceeds the limit limits.max_message_bytes={max_message_bytes}"
    )
}
