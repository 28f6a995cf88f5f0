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

/// Checks a secret against its argon2 hash.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
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
        assert_eq!(token_hash("a").len(), 64);
        assert_ne!(new_token(), new_token());
    }
}
