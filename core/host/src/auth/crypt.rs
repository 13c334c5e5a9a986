//! Optional encryption of token files at rest.
//!
//! A token file is as good as a password to the account it opens, and backups,
//! shared volumes and support bundles copy files regardless of their mode. With a
//! key (`TALLY_TOKEN_KEY` or `[auth] key_file`) each file is sealed with
//! XChaCha20-Poly1305: a random 24-byte nonce per write (large enough that random
//! nonces never repeat), and the credential's name as associated data, so a file
//! copied over another credential's name fails to open instead of being used.
//! The key is 32 random bytes written as 64 hex digits (`openssl rand -hex 32`);
//! anything else is refused rather than stretched, so a weak passphrase cannot
//! pass for a key.

use super::error::AuthError;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use std::path::{Path, PathBuf};

/// The environment variable holding the key; it wins over `[auth] key_file`.
pub const TOKEN_KEY_ENV: &str = "TALLY_TOKEN_KEY";

/// A 256-bit key for token files. `Debug` never shows it.
#[derive(Clone)]
pub struct TokenKey(Key);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

impl TokenKey {
    /// Parses 64 hex digits (surrounding whitespace ignored); `origin` names where
    /// they came from in the error.
    pub fn parse(text: &str, origin: &str) -> Result<TokenKey, AuthError> {
        let text = text.trim();
        let bytes = decode_hex(text)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                AuthError::Config(format!(
                    "{origin} must be 64 hex digits (32 random bytes); generate one with `openssl rand -hex 32`"
                ))
            })?;
        Ok(TokenKey(*Key::from_slice(&bytes)))
    }

    /// The key from the environment variable's value, else from the key file,
    /// else none (token files are then written in plain JSON, mode 0600).
    pub fn from_sources(
        env_value: Option<String>,
        key_file: Option<&Path>,
    ) -> Result<Option<TokenKey>, AuthError> {
        if let Some(value) = env_value.filter(|v| !v.trim().is_empty()) {
            return TokenKey::parse(&value, TOKEN_KEY_ENV).map(Some);
        }
        let Some(file) = key_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file).map_err(|e| AuthError::Store {
            path: file.to_path_buf(),
            message: format!(
                "cannot read the token key file: {e}; create it with `openssl rand -hex 32 > {}` or fix [auth] key_file",
                file.display()
            ),
        })?;
        TokenKey::parse(&text, &format!("the token key file {}", file.display())).map(Some)
    }

    /// Encrypts `plain`, bound to `credential`; returns (nonce, ciphertext).
    pub(crate) fn seal(
        &self,
        credential: &str,
        plain: &[u8],
        path: &Path,
    ) -> Result<(Vec<u8>, Vec<u8>), AuthError> {
        let cipher = XChaCha20Poly1305::new(&self.0);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: credential.as_bytes(),
                },
            )
            .map_err(|_| store_error(path, "encryption failed"))?;
        Ok((nonce.to_vec(), sealed))
    }

    /// Decrypts what [`TokenKey::seal`] wrote for `credential`.
    pub(crate) fn open(
        &self,
        credential: &str,
        nonce: &[u8],
        sealed: &[u8],
        path: &Path,
    ) -> Result<Vec<u8>, AuthError> {
        if nonce.len() != 24 {
            return Err(store_error(
                path,
                "the nonce is not 24 bytes; the file is damaged, run `tally auth login` again",
            ));
        }
        XChaCha20Poly1305::new(&self.0)
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: credential.as_bytes(),
                },
            )
            .map_err(|_| {
                store_error(
                    path,
                    "cannot decrypt it: the token key differs from the one it was written with, or the file was altered or renamed; set the right TALLY_TOKEN_KEY / [auth] key_file, or run `tally auth login` again",
                )
            })
    }
}

fn store_error(path: &Path, message: &str) -> AuthError {
    AuthError::Store {
        path: PathBuf::from(path),
        message: message.to_string(),
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of a hex string, or `None` if it is not hex.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sealed_data_opens_only_with_the_same_key_and_credential() {
        let key = TokenKey::parse(KEY, "test").unwrap();
        let path = Path::new("t.json");
        let (nonce, sealed) = key.seal("a", b"secret-token", path).unwrap();
        assert!(!sealed.windows(12).any(|w| w == b"secret-token"));
        assert_eq!(
            key.open("a", &nonce, &sealed, path).unwrap(),
            b"secret-token"
        );
        let err = key.open("b", &nonce, &sealed, path).unwrap_err();
        assert!(err.to_string().contains("cannot decrypt"), "{err}");
        let other = TokenKey::parse(&KEY.replace("00", "ff"), "test").unwrap();
        assert!(other.open("a", &nonce, &sealed, path).is_err());
        // A fresh nonce per write: the same plaintext never seals the same way twice.
        let (nonce2, sealed2) = key.seal("a", b"secret-token", path).unwrap();
        assert_ne!((nonce, sealed), (nonce2, sealed2));
    }

    #[test]
    fn keys_must_be_64_hex_digits_and_are_never_printed() {
        let err = TokenKey::parse("correct horse battery staple", "TALLY_TOKEN_KEY").unwrap_err();
        assert!(err.to_string().contains("openssl rand -hex 32"), "{err}");
        assert!(TokenKey::parse(&KEY[..62], "k").is_err());
        let key = TokenKey::parse(&format!(" {KEY}\n"), "k").unwrap();
        assert_eq!(format!("{key:?}"), "TokenKey([redacted])");
    }

    #[test]
    fn the_environment_wins_over_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "not a key").unwrap();
        assert!(TokenKey::from_sources(Some(KEY.into()), Some(&file))
            .unwrap()
            .is_some());
        let err = TokenKey::from_sources(None, Some(&file)).unwrap_err();
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
        assert!(TokenKey::from_sources(None, None).unwrap().is_none());
        let missing = dir.path().join("missing");
        let err = TokenKey::from_sources(None, Some(&missing)).unwrap_err();
        assert!(err.to_string().contains("openssl rand -hex 32"), "{err}");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(encode_hex(&[0, 255, 16]), "00ff10");
        assert_eq!(decode_hex("00ff10").unwrap(), [0, 255, 16]);
        assert!(decode_hex("0g").is_none());
        assert!(decode_hex("abc").is_none());
    }
}
