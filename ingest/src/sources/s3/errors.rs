//! S3 errors to [`SourceError`], decided in one place: what is worth a retry,
//! and what a user must fix (credentials, bucket name) said plainly.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::sources::{SourceError, error_chain};

/// Classifies an SDK error for `location`.
pub(super) fn classify<E>(location: &str, error: SdkError<E, HttpResponse>) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = error.code().map(str::to_owned);
    let status = error.raw_response().map(|r| r.status().as_u16());
    let (message, retryable) = match (&error, code.as_deref()) {
        (_, Some("NoSuchBucket")) => ("the bucket does not exist".to_owned(), false),
        (
            _,
            Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken"),
        ) => (
            format!(
                "the credentials were rejected ({}); check AWS_PROFILE / AWS_ACCESS_KEY_ID",
                code.as_deref().unwrap_or_default()
            ),
            false,
        ),
        (_, Some("AccessDenied")) => (
            "access denied: the credentials may not read this".to_owned(),
            false,
        ),
        (_, Some("NoSuchKey")) => ("the object no longer exists".to_owned(), false),
        (
            _,
            Some(
                "SlowDown"
                | "Throttling"
                | "ThrottlingException"
                | "RequestTimeout"
                | "InternalError"
                | "ServiceUnavailable",
            ),
        ) => (
            format!(
                "{}: {}",
                code.as_deref().unwrap_or_default(),
                error.message().unwrap_or("")
            ),
            true,
        ),
        (
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_),
            _,
        ) => (format!("could not reach S3: {}", error_chain(&error)), true),
        (SdkError::ServiceError(_), _) => {
            let server_error = status.is_some_and(|s| s >= 500 || s == 429);
            (
                format!(
                    "{}: {}",
                    code.as_deref().unwrap_or("error"),
                    error.message().unwrap_or("no message")
                ),
                server_error,
            )
        }
        _ => (error_chain(&error), false),
    };
    SourceError::Remote {
        location: location.to_owned(),
        message,
        retryable,
    }
}
