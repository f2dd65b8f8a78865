//! The one place errors become gRPC statuses.

use tonic::{Code, Status};

use crate::error::Error;
use crate::index::IndexError;
use crate::model::ValidationError;
use crate::proto;

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        match err {
            Error::Validation(e) => Status::invalid_argument(e.to_string()),
            Error::Index(IndexError::Query(message)) => {
                Status::invalid_argument(format!("query: {message}"))
            }
            e @ Error::LimitExceeded { .. } => Status::resource_exhausted(e.to_string()),
            e @ Error::NotFound { .. } => Status::not_found(e.to_string()),
            Error::FailedPrecondition(message) => Status::failed_precondition(message),
            e @ Error::Timeout(_) => Status::deadline_exceeded(e.to_string()),
            other => {
                tracing::error!(error = %other, "request failed");
                Status::internal(other.to_string())
            }
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
        _ => "UNKNOWN",
    }
}

/// tonic reports an oversized message as OUT_OF_RANGE with its own wording; this names our limit
/// and uses RESOURCE_EXHAUSTED, like other gRPC implementations.
pub fn name_message_limit(status: Status, max_message_bytes: usize) -> Status {
    if status.code() == Code::OutOfRange && status.message().contains("message length too large") {
        Status::resource_exhausted(message_limit_text(status.message(), max_message_bytes))
    } else {
        status
    }
}

/// The message used when a request exceeds `limits.max_message_bytes`.
pub fn message_limit_text(detail: &str, max_message_bytes: usize) -> String {
    let found = detail
        .split("found ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("?");
    format!(
        "request message of {found} bytes exceeds the limit limits.max_message_bytes={max_message_bytes}"
    )
}
