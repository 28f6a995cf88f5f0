//! The server's error type: one variant per cause, each with an HTTP
//! status, a stable code for clients and a message without personal data.

/// Result with [`ServerError`].
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// Everything that can go wrong on the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// The token has expired; enroll the device again.
    #[error("the device token has expired; enroll the device again with a new code")]
    TokenExpired,
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The body is too large.
    #[error("the request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    /// The route exists but not for this method.
    #[error("this route does not accept this method")]
    MethodNotAllowed,
    /// Too many attempts from this address.
    #[error("too many attempts from this address; wait a minute and try again")]
    TooManyRequests,
    /// A conflict with the current state (a used enrollment code).
    #[error("{0}")]
    Conflict(String),
    /// Content that is not what it says: a chunk or file whose SHA-256
    /// differs from the one given. Nothing of it was kept.
    #[error("{0}")]
    Damaged(String),
    /// A file of a type not accepted (attachments: JPEG, PNG, PDF).
    #[error("{0}")]
    UnsupportedType(String),
    /// Another server this one relies on cannot be reached (the national
    /// server, for a region's report).
    #[error("{0}")]
    Unavailable(String),
    /// Configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A core error.
    #[error(transparent)]
    Core(#[from] qamqor_core::Error),
    /// The database failed (whichever backend: its driver's errors are
    /// converted where they arise).
    #[error("storage: {message}")]
    Storage {
        /// What kind of failure.
        failure: StorageFailure,
        /// The backend's description (no personal data: statements and
        /// codes, never values).
        message: String,
    },
    /// An I/O error.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Kinds of storage failure the server acts on, the same for every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFailure {
    /// Another writer holds the database, or the transaction lost a race
    /// with one: running it again may succeed.
    Busy,
    /// The disk is full: nothing was stored.
    DiskFull,
    /// The database is damaged, not a Qamqor database, or its key does not
    /// open it.
    Damaged,
    /// Anything else.
    Other,
}

impl ServerError {
    /// A storage failure of `failure` kind.
    pub fn storage(failure: StorageFailure, message: impl std::fmt::Display) -> Self {
        ServerError::Storage { failure, message: message.to_string() }
    }

    /// Whether the storage ran out of disk space.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, ServerError::Storage { failure: StorageFailure::DiskFull, .. })
            || matches!(self, ServerError::Io(e) if e.raw_os_error() == Some(28))
    }

    /// Whether the storage was busy (the operation may be run again).
    pub fn is_busy(&self) -> bool {
        matches!(self, ServerError::Storage { failure: StorageFailure::Busy, .. })
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        if self.is_disk_full() {
            return 507;
        }
        match self {
            ServerError::BadRequest(_) => 400,
            ServerError::Core(qamqor_core::Error::Invalid { .. } | qamqor_core::Error::UnknownCode { .. }) => 400,
            ServerError::Unauthorized(_) | ServerError::TokenExpired => 401,
            ServerError::Forbidden(_) => 403,
            ServerError::NotFound(_) => 404,
            ServerError::Conflict(_) => 409,
            ServerError::TooLarge(_) => 413,
            ServerError::UnsupportedType(_) => 415,
            ServerError::Damaged(_) => 422,
            ServerError::MethodNotAllowed => 405,
            ServerError::TooManyRequests => 429,
            ServerError::Unavailable(_) => 503,
            _ => 500,
        }
    }

    /// The stable error code in the JSON body.
    pub fn code(&self) -> &'static str {
        if self.is_disk_full() {
            return "disk_full";
        }
        match self {
            ServerError::BadRequest(_) => "bad_request",
            ServerError::Core(qamqor_core::Error::Invalid { .. } | qamqor_core::Error::UnknownCode { .. }) => {
                "bad_request"
            }
            ServerError::Unauthorized(_) => "unauthorized",
            ServerError::TokenExpired => "token_expired",
            ServerError::Forbidden(_) => "forbidden",
            ServerError::NotFound(_) => "not_found",
            ServerError::Conflict(_) => "conflict",
            ServerError::TooLarge(_) => "payload_too_large",
            ServerError::UnsupportedType(_) => "unsupported_type",
            ServerError::Damaged(_) => "damaged",
            ServerError::MethodNotAllowed => "method_not_allowed",
            ServerError::TooManyRequests => "too_many_requests",
            ServerError::Unavailable(_) => "unavailable",
            _ => "internal",
        }
    }

    /// The message shown to the client: internal details stay in the log.
    pub fn public_message(&self) -> String {
        if self.is_disk_full() {
            return "the server's disk is full; nothing was stored, your changes are safe on the phone: try again later"
                .into();
        }
        if self.status() == 500 { "internal server error".into() } else { self.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_named_not_internal() {
        let full = ServerError::storage(StorageFailure::DiskFull, "database or disk is full");
        assert_eq!((full.status(), full.code()), (507, "disk_full"));
        assert!(full.public_message().contains("disk is full"));
        let other = ServerError::storage(StorageFailure::Other, "disk I/O error");
        assert_eq!((other.status(), other.code()), (500, "internal"));
    }
}
