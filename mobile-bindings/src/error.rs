//! The one error type apps see.

use std::sync::atomic::{AtomicU8, Ordering};

use qamqor_core::Error as Core;
use qamqor_core::model::Lang;

/// Everything that can go wrong. Every variant carries `code`, stable and
/// machine-readable (documented in `docs/mobile.md`, never renamed), and
/// `user_message`, a sentence for people in the language set with
/// [`set_error_language`] (from the core's one table of messages). Messages
/// never contain personal data (names, IINs).
#[derive(Debug, Clone, thiserror::Error, uniffi::Error)]
pub enum QamqorError {
    /// Input failed validation: `field` names what was wrong.
    #[error("{user_message}")]
    Invalid {
        /// `invalid`, or `unknown_code`, `key_length`, `insecure_url`.
        code: String,
        /// The message in the app's language.
        user_message: String,
        /// The field path (`child.birth_date`).
        field: String,
        /// What is wrong (English).
        reason: String,
    },
    /// A domain rule refused the action (a mentor without a valid
    /// certificate, a second active placement, …).
    #[error("{user_message}")]
    Rule {
        /// `rule`.
        code: String,
        /// The message in the app's language.
        user_message: String,
        /// The rule, in plain words (English).
        detail: String,
    },
    /// No such record on this phone.
    #[error("{user_message}")]
    NotFound {
        /// `not_found`.
        code: String,
        /// The message in the app's language.
        user_message: String,
        /// What was not found (English).
        detail: String,
    },
    /// The key does not open the store.
    #[error("{user_message}")]
    WrongKey {
        /// `wrong_key`.
        code: String,
        /// The message in the app's language.
        user_message: String,
    },
    /// The store is already open, in this process or another one on the
    /// phone (a sync process, a widget), by whatever path.
    #[error("{user_message}")]
    AlreadyOpen {
        /// `already_open`.
        code: String,
        /// The message in the app's language.
        user_message: String,
    },
    /// The store was closed.
    #[error("{user_message}")]
    Closed {
        /// `closed`.
        code: String,
        /// The message in the app's language.
        user_message: String,
    },
    /// A newer app version wrote this record; update the app to change it.
    #[error("{user_message}")]
    UpdateRequired {
        /// `update_required`.
        code: String,
        /// The message in the app's language.
        user_message: String,
    },
    /// The server could not be reached.
    #[error("{user_message}")]
    Network {
        /// `network`.
        code: String,
        /// The message in the app's language.
        user_message: String,
        /// What failed (English).
        detail: String,
    },
    /// The device token expired: enroll again.
    #[error("{user_message}")]
    TokenExpired {
        /// `token_expired`.
        code: String,
        /// The message in the app's language.
        user_message: String,
    },
    /// The server does not accept this device (revoked or not enrolled).
    #[error("{user_message}")]
    Unauthorized {
        /// `unauthorized`.
        code: String,
        /// The message in the app's language.
        user_message: String,
        /// The server's reason.
        detail: String,
    },
    /// The server refused the request.
    #[error("{user_message}")]
    Server {
        /// `server`.
        code: String,
        /// The message in the app's language.
        user_message: String,
        /// The server's reason.
        detail: String,
    },
    /// The sync was cancelled.
    #[error("{user_message}")]
    Cancelled {
        /// `cancelled`.
        code: String,
        /// The message in the app's language.
        user_message: String,
    },
    /// Storage or another internal failure.
    #[error("{user_message}")]
    Internal {
        /// `storage`, `document`, `io`, `corrupt` or `too_many_rounds`.
        code: String,
        /// The message in the app's language.
        user_message: String,
        /// What failed (English).
        detail: String,
    },
}

static LANGUAGE: AtomicU8 = AtomicU8::new(2);

/// Sets the language of every error's `user_message` (English until set):
/// call it at start and when the user changes the app's language.
#[uniffi::export]
pub fn set_error_language(lang: Lang) {
    LANGUAGE.store(
        match lang {
            Lang::Kk => 0,
            Lang::Ru => 1,
            Lang::En => 2,
        },
        Ordering::Relaxed,
    );
}

fn language() -> Lang {
    match LANGUAGE.load(Ordering::Relaxed) {
        0 => Lang::Kk,
        1 => Lang::Ru,
        _ => Lang::En,
    }
}

impl QamqorError {
    /// An invalid input named by `field`.
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Core::invalid(field, reason).into()
    }

    /// The device cannot reach the server.
    pub(crate) fn network(detail: &str) -> Self {
        Core::Network(detail.to_owned()).into()
    }

    /// A cancelled operation.
    pub(crate) fn cancelled() -> Self {
        Core::Cancelled.into()
    }
}

impl From<Core> for QamqorError {
    fn from(e: Core) -> Self {
        let (code, user_message) = (e.code().to_owned(), e.message(language()));
        match e {
            Core::Invalid { field, reason } => QamqorError::Invalid { code, user_message, field, reason },
            Core::UnknownCode { .. } | Core::KeyLength(_) => {
                QamqorError::Invalid { code, user_message, field: "input".into(), reason: e.to_string() }
            }
            Core::InsecureUrl => {
                QamqorError::Invalid { code, user_message, field: "server_url".into(), reason: e.to_string() }
            }
            Core::Rule(detail) => QamqorError::Rule { code, user_message, detail },
            Core::NotFound { .. } => QamqorError::NotFound { code, user_message, detail: e.to_string() },
            Core::WrongKey => QamqorError::WrongKey { code, user_message },
            Core::AlreadyOpen => QamqorError::AlreadyOpen { code, user_message },
            Core::Closed => QamqorError::Closed { code, user_message },
            Core::UpdateRequired => QamqorError::UpdateRequired { code, user_message },
            Core::Network(detail) => QamqorError::Network { code, user_message, detail },
            Core::TokenExpired => QamqorError::TokenExpired { code, user_message },
            Core::Unauthorized(detail) => QamqorError::Unauthorized { code, user_message, detail },
            Core::Server { message, .. } => QamqorError::Server { code, user_message, detail: message },
            Core::Cancelled => QamqorError::Cancelled { code, user_message },
            other => QamqorError::Internal { code, user_message, detail: other.to_string() },
        }
    }
}

/// What every error carries, in one record: for code that shows any error
/// the same way (Kotlin and Swift have no property common to the variants).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ErrorInfo {
    /// The stable code (see the table in `docs/mobile.md`).
    pub code: String,
    /// The message in the language set with [`set_error_language`].
    pub user_message: String,
    /// For `Invalid`, the field to highlight.
    pub field: Option<String>,
}

/// The code, message and field of any error.
#[uniffi::export]
pub fn error_info(error: QamqorError) -> ErrorInfo {
    use QamqorError::*;
    match error {
        Invalid { code, user_message, field, .. } => ErrorInfo { code, user_message, field: Some(field) },
        Rule { code, user_message, .. }
        | NotFound { code, user_message, .. }
        | WrongKey { code, user_message }
        | AlreadyOpen { code, user_message }
        | Closed { code, user_message }
        | UpdateRequired { code, user_message }
        | Network { code, user_message, .. }
        | TokenExpired { code, user_message }
        | Unauthorized { code, user_message, .. }
        | Server { code, user_message, .. }
        | Cancelled { code, user_message }
        | Internal { code, user_message, .. } => ErrorInfo { code, user_message, field: None },
    }
}
