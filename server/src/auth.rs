//! Enrollment codes, device tokens and their hashing.
//!
//! A device token is 32 random bytes (64 hex digits), stored as its
//! SHA-256: it has full entropy, so a fast hash is enough. An enrollment
//! code is short enough to read aloud (`ABCD-EFGH-JKMN-PQRS`): its first
//! group is the lookup id, the rest the secret, stored with argon2.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::{Result, ServerError};

/// Letters without look-alikes (no I, L, O, 0, 1).
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A new random device token.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// The stored hash of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new enrollment code: (code to hand to the user, lookup id, secret).
pub fn new_code() -> (String, String, String) {
    let mut rng = rand::rng();
    let mut group = || (0..4).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect::<String>();
    let id = group();
    let secret = format!("{}{}{}", group(), group(), group());
    let code = format!("{id}-{}-{}-{}", &secret[0..4], &secret[4..8], &secret[8..12]);
    (code, id, secret)
}

/// Splits a code typed by a user into lookup id and secret.
pub fn split_code(code: &str) -> Result<(String, String)> {
    let clean: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    if clean.len() != 16 {
        return Err(ServerError::BadRequest("an enrollment code has 16 letters and digits".into()));
    }
    Ok((clean[..4].to_owned(), clean[4..].to_owned()))
}

/// Hashes a secret with argon2.
pub fn hash_secret(secret: &str) -> Result<String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| ServerError::Config("could not make a salt".into()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ServerError::Config("could not hash a secret".into()))
}

/// At most this many argon2 verifications run at once (each takes about
/// 19 MiB and tens of milliseconds): parallel enrollment attempts queue
/// instead of exhausting memory.
pub const ARGON2_AT_ONCE: usize = 4;

struct Gate {
    running: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

fn gate() -> &'static Gate {
    static GATE: std::sync::OnceLock<Gate> = std::sync::OnceLock::new();
    GATE.get_or_init(|| Gate { running: std::sync::Mutex::new(0), freed: std::sync::Condvar::new() })
}

/// Checks a secret against its argon2 hash, waiting for a free place when
/// [`ARGON2_AT_ONCE`] verifications are running.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    let g = gate();
    {
        let mut running = g.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *running >= ARGON2_AT_ONCE {
            running = g.freed.wait(running).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *running += 1;
    }
    let ok = PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok());
    *g.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner) -= 1;
    g.freed.notify_one();
    ok
}

/// Spends the same work as verifying a real code, for attempts at an
/// unknown, used or expired code: the answer takes as long either way, so
/// timing does not tell a live code id from an unknown one.
pub fn verify_nothing(secret: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_secret("QAMQORDUMMY0").unwrap_or_default());
    let _ = verify_secret(secret, hash);
}

/// Whether `actor` is an actor id a store can use: 1 to 32 bytes in
/// lowercase or uppercase hex (an even number of digits).
pub fn valid_actor(actor: &str) -> bool {
    (2..=64).contains(&actor.len()) && actor.len().is_multiple_of(2) && actor.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_roundtrip_and_verify() {
        let (code, id, secret) = new_code();
        let (i, s) = split_code(&code.to_lowercase()).unwrap();
        assert_eq!((i, s.clone()), (id, secret));
        let h = hash_secret(&s).unwrap();
        assert!(verify_secret(&s, &h));
        assert!(!verify_secret("WRONGWRONGWR", &h));
        assert!(split_code("short").is_err());
        assert!(valid_actor("0a1b") && !valid_actor("0a1") && !valid_actor("") && !valid_actor("zz"));
        assert_eq!(token_hash("a").len(), 64);
        assert_ne!(new_token(), new_token());
    }
}
