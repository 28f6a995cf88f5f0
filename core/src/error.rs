//! The one public error type of the core.
//!
//! Messages are written for people and never contain personal data: no
//! names, no IINs, no free text from a record. Fields are named by their
//! path (`check.income.evidence.issued_on`), values are not echoed.

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input failed validation; `field` names what was wrong.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The path of the field (`child.birth_date`).
        field: String,
        /// What is wrong, in plain words.
        reason: String,
    },
    /// A code not in this version's code list.
    #[error("unknown {list} code {code:?}")]
    UnknownCode {
        /// Which list (`"region"`).
        list: &'static str,
        /// The code given (codes are not personal data).
        code: String,
    },
    /// A domain rule refused the action.
    #[error("{0}")]
    Rule(String),
    /// No record with this id in the store.
    #[error("no {kind} with id {id} in this store")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// The id (ids are random and carry no personal data).
        id: String,
    },
    /// The store's key does not open the database file.
    #[error("the key does not open this store (wrong key, or the file is not a Qamqor store)")]
    WrongKey,
    /// The key has the wrong length.
    #[error("a store key must be exactly 32 bytes (256 bits), got {0}")]
    KeyLength(usize),
    /// Another handle already has this store open.
    #[error("this store is already open (in this app or another process on the phone); close it there first")]
    AlreadyOpen,
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
    /// A document or database was written by a newer app version in a way
    /// this version cannot safely edit.
    #[error("this record was written by a newer version of the app; update the app to change it")]
    UpdateRequired,
    /// A document's bytes are damaged.
    #[error("a stored document is damaged: {0}")]
    Corrupt(String),
    /// The server could not be reached or the connection dropped.
    #[error("network: {0}")]
    Network(String),
    /// The server refused the request.
    #[error("the server refused the request ({status} {code}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code (`bad_request`, `forbidden`, …).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The device token has expired: enroll again.
    #[error("the device token has expired; enroll this device again with a new code")]
    TokenExpired,
    /// The server does not know this device (revoked or never enrolled).
    #[error("the server does not accept this device: {0}")]
    Unauthorized(String),
    /// Plain HTTP to an address other than this machine.
    #[error("refusing plain HTTP to a remote server: use https://")]
    InsecureUrl,
    /// The sync did not finish within its round limit.
    #[error("the sync did not finish within {0} rounds; it will continue next time")]
    TooManyRounds(usize),
    /// A running operation (a sync) was cancelled.
    #[error("the sync was cancelled")]
    Cancelled,
    /// SQLite failed.
    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// Automerge failed.
    #[error("document error: {0}")]
    Document(#[from] automerge::AutomergeError),
    /// A file system error.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), reason: reason.into() }
    }

    /// A [`Error::NotFound`].
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { kind, id: id.into() }
    }
}

/// A message from a parser with every quoted value replaced by `…`: serde
/// quotes the values it could not read, and those may be a name or an IIN.
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' || c == '`' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_values_are_redacted() {
        assert_eq!(
            super::redact("invalid type: string \"Иванов\", expected u32 at line 1"),
            "invalid type: string \"…\", expected u32 at line 1"
        );
        assert_eq!(super::redact("invalid value: integer `5`, expected"), "invalid value: integer `…`, expected");
        assert_eq!(super::redact("no quotes"), "no quotes");
    }
}
