//! Office staff sign in with a password and a second factor (TOTP, RFC
//! 6238): accounts, attempts and lockout, sessions. The seam for a
//! national digital signature later is [`Credentials`]: another way to
//! prove who is signing in ends in the same [`open_session`].

use totp_rs::{Builder, Secret};

use crate::auth;
use crate::error::{Result, ServerError};
use crate::model::{ConsoleAccount, ConsoleSession, Role};
use crate::service::Service;

/// Failed sign-ins before the account is locked.
pub const MAX_FAILURES: u32 = 5;
/// How long a lock lasts.
pub const LOCK_SECS: i64 = 15 * 60;
/// How long a session lasts without signing in again.
pub const SESSION_SECS: i64 = 8 * 3600;

/// What a person presents to sign in.
pub struct Credentials<'a> {
    /// The user id.
    pub user: &'a str,
    /// The password.
    pub password: &'a str,
    /// The 6-digit code of their authenticator app.
    pub code: &'a str,
}

/// A new console sign-in for `user_id`: its password and TOTP secret, to
/// hand to the person once (the server keeps only the password's hash).
pub struct NewAccount {
    /// The password.
    pub password: String,
    /// The TOTP secret (base32), for an authenticator app.
    pub totp_secret: String,
    /// The `otpauth://` URI (shown as a QR code to scan).
    pub otpauth_uri: String,
}

fn totp(secret: &str) -> Result<totp_rs::Totp> {
    let secret =
        Secret::try_from_base32(secret).map_err(|_| ServerError::Config("a stored TOTP secret is damaged".into()))?;
    Builder::new()
        .with_secret(secret)
        .build()
        .map_err(|_| ServerError::Config("a stored TOTP secret is damaged".into()))
}

/// The TOTP code of `secret` at `time` (Unix seconds): for tests and for
/// the command line's self-check.
pub fn code_at(secret: &str, time: u64) -> Result<String> {
    Ok(totp(secret)?.generate(time).to_string())
}

/// Sets (or resets) the console sign-in of an administrator or analyst;
/// their sessions end.
pub fn create_account(service: &Service, user_id: &str) -> Result<NewAccount> {
    let user = service.storage().user(user_id)?.ok_or_else(|| ServerError::NotFound("no such user".into()))?;
    if !matches!(user.role, Role::Admin | Role::Analyst) {
        return Err(ServerError::BadRequest("the console is for administrators and analysts".into()));
    }
    let bytes: [u8; 20] = rand::random();
    let totp_secret = Secret::from(bytes).to_base32();
    let password: String = {
        use rand::Rng;
        const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::rng();
        (0..16).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
    };
    service.storage().set_console_account(&ConsoleAccount {
        user_id: user_id.to_owned(),
        password_hash: auth::hash_secret(&password)?,
        totp_secret: totp_secret.clone(),
        last_totp_step: 0,
        failures: 0,
        locked_until: 0,
        lang: "ru".into(),
    })?;
    let otpauth_uri = format!("otpauth://totp/Qamqor:{user_id}?secret={totp_secret}&issuer=Qamqor&digits=6&period=30");
    Ok(NewAccount { password, totp_secret, otpauth_uri })
}

/// Why a sign-in failed: the person sees one message for all of them.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Wrong user, password or code (not told apart).
    Wrong,
    /// Locked after repeated failures; try again later.
    Locked,
}

/// Checks credentials at `now`; on success returns the user's id. Every
/// attempt costs one argon2 verification, known user or not.
pub fn check(service: &Service, c: &Credentials<'_>, now: i64) -> Result<std::result::Result<String, Refused>> {
    let storage = service.storage();
    let account = storage.console_account(c.user)?;
    let Some(account) = account else {
        auth::verify_nothing(c.password);
        return Ok(Err(Refused::Wrong));
    };
    if account.locked_until > now {
        auth::verify_nothing(c.password);
        return Ok(Err(Refused::Locked));
    }
    let password_ok = auth::verify_secret(c.password, &account.password_hash);
    let step = totp(&account.totp_secret)?.check(c.code.trim(), now.max(0) as u64).map(|s| s as i64);
    // A code is accepted once: its step must be newer than the last used.
    let step = step.filter(|s| *s > account.last_totp_step);
    let role_ok = storage.user(c.user)?.is_some_and(|u| matches!(u.role, Role::Admin | Role::Analyst));
    match (password_ok && role_ok, step) {
        (true, Some(step)) => {
            storage.console_attempt(c.user, Some(step), now, MAX_FAILURES, LOCK_SECS)?;
            Ok(Ok(c.user.to_owned()))
        }
        _ => {
            storage.console_attempt(c.user, None, now, MAX_FAILURES, LOCK_SECS)?;
            let locked = storage.console_account(c.user)?.is_some_and(|a| a.locked_until > now);
            Ok(Err(if locked { Refused::Locked } else { Refused::Wrong }))
        }
    }
}

/// Opens a session for a signed-in user: returns the cookie's token (only
/// its hash is stored) and the session.
pub fn open_session(service: &Service, user_id: &str, now: i64) -> Result<(String, ConsoleSession)> {
    let token = auth::new_token();
    let session =
        ConsoleSession { user_id: user_id.to_owned(), csrf: auth::new_token(), expires_at: now + SESSION_SECS };
    service.storage().create_session(&auth::token_hash(&token), &session)?;
    Ok((token, session))
}
