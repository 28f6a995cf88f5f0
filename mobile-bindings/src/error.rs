//! The one error type apps see.

use qamqor_core::Error as Core;

/// Everything that can go wrong, with a message for people. Messages never
/// contain personal data (names, IINs).
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum QamqorError {
    /// Input failed validation: `field` names what was wrong.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field path (`child.birth_date`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A domain rule refused the action (a mentor without a valid
    /// certificate, a second active placement, …).
    #[error("{detail}")]
    Rule {
        /// The rule, in plain words.
        detail: String,
    },
    /// No such record on this phone.
    #[error("{detail}")]
    NotFound {
        /// What was not found.
        detail: String,
    },
    /// The key does not open the store.
    #[error("the key does not open this store (wrong key, or the file is not a Qamqor store)")]
    WrongKey,
    /// The store is already open, in this process or another one on the
    /// phone (a sync process, a widget), by whatever path.
    #[error("this store is already open (in this app or another process on the phone); close it there first")]
    AlreadyOpen,
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
    /// A newer app version wrote this record; update the app to change it.
    #[error("this record was written by a newer version of the app; update the app to change it")]
    UpdateRequired,
    /// The server could not be reached.
    #[error("network: {detail}")]
    Network {
        /// What failed.
        detail: String,
    },
    /// The device token expired: enroll again.
    #[error("the device token has expired; enroll this device again with a new code")]
    TokenExpired,
    /// The server does not accept this device (revoked or not enrolled).
    #[error("the server does not accept this device: {detail}")]
    Unauthorized {
        /// The server's reason.
        detail: String,
    },
    /// The server refused the request.
    #[error("the server refused the request: {detail}")]
    Server {
        /// The server's reason.
        detail: String,
    },
    /// The sync was cancelled.
    #[error("the sync was cancelled")]
    Cancelled,
    /// Storage or another internal failure.
    #[error("{detail}")]
    Internal {
        /// What failed.
        detail: String,
    },
}

impl From<Core> for QamqorError {
    fn from(e: Core) -> Self {
        match e {
            Core::Invalid { field, reason } => QamqorError::Invalid { field, reason },
            Core::UnknownCode { .. } | Core::KeyLength(_) => {
                QamqorError::Invalid { field: "input".into(), reason: e.to_string() }
            }
            Core::Rule(message) => QamqorError::Rule { detail: message },
            Core::NotFound { .. } => QamqorError::NotFound { detail: e.to_string() },
            Core::WrongKey => QamqorError::WrongKey,
            Core::AlreadyOpen => QamqorError::AlreadyOpen,
            Core::Closed => QamqorError::Closed,
            Core::UpdateRequired => QamqorError::UpdateRequired,
            Core::Network(message) => QamqorError::Network { detail: message },
            Core::TokenExpired => QamqorError::TokenExpired,
            Core::Unauthorized(message) => QamqorError::Unauthorized { detail: message },
            Core::Server { message, .. } => QamqorError::Server { detail: message },
            Core::InsecureUrl => QamqorError::Invalid { field: "server_url".into(), reason: e.to_string() },
            other => QamqorError::Internal { detail: other.to_string() },
        }
    }
}
