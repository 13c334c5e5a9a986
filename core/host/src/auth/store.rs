//! The token store: one file per credential under the tokens directory.
//!
//! Files rather than the SQLite store, because tokens are secrets with their own
//! life: they must be readable by `tally auth status` and writable by `tally auth
//! login` while a daemon runs, excluded from database backups and exports, and
//! removable by deleting one file. Each write goes to a temporary file created
//! with mode 0600 in the same directory (itself 0700), is flushed to disk, and is
//! renamed over the old file, so a reader sees the old token or the new one,
//! never half of each, and a crash mid-write loses nothing. Files are read at
//! each use, so a token renewed by another process is picked up.

use super::crypt::{decode_hex, encode_hex, TokenKey};
use super::error::AuthError;
use super::token::StoredToken;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The cipher named in encrypted files.
const CIPHER: &str = "xchacha20poly1305";

/// The layout of an encrypted token file.
#[derive(Serialize, Deserialize)]
struct Sealed {
    version: u32,
    cipher: String,
    credential: String,
    nonce: String,
    ciphertext: String,
}

/// Token files in one directory, optionally encrypted.
#[derive(Debug, Clone)]
pub struct TokenStore {
    dir: PathBuf,
    key: Option<TokenKey>,
}

impl TokenStore {
    /// A store in `dir` (created on the first write); with `key`, files are encrypted.
    pub fn new(dir: impl Into<PathBuf>, key: Option<TokenKey>) -> TokenStore {
        TokenStore {
            dir: dir.into(),
            key,
        }
    }

    /// The tokens directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether files are written encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// The file of a credential. Names are config ids, but they become file
    /// names, so anything that could leave the directory is refused.
    pub fn path_for(&self, credential: &str) -> Result<PathBuf, AuthError> {
        let valid = !credential.is_empty()
            && !credential.starts_with('.')
            && credential
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(AuthError::Config(format!(
                "credential name `{credential}` cannot name a token file: use letters, digits, `-`, `_` and `.` (not first)"
            )));
        }
        Ok(self.dir.join(format!("{credential}.json")))
    }

    /// The stored record of `credential`, or `None` if there is no file yet.
    pub fn load(&self, credential: &str) -> Result<Option<StoredToken>, AuthError> {
        let path = self.path_for(credential)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(store_error(&path, format!("cannot read it: {e}"))),
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            store_error(
                &path,
                format!(
                    "it is not JSON ({}); delete it and run `tally auth login` again",
                    where_(&e)
                ),
            )
        })?;
        let plain = if value.get("cipher").is_some() {
            self.open(credential, value, &path)?
        } else {
            value
        };
        let token: StoredToken = serde_json::from_value(plain).map_err(|e| {
            store_error(
                &path,
                format!(
                    "it is not a token record ({}); delete it and run `tally auth login` again",
                    where_(&e)
                ),
            )
        })?;
        if token.credential != credential {
            return Err(store_error(
                &path,
                format!(
                    "it holds credential `{}`, not `{credential}`; it was copied or renamed, delete it and run `tally auth login` again",
                    token.credential
                ),
            ));
        }
        Ok(Some(token))
    }

    /// Waits for, then holds, the exclusive right to renew `credential` until the
    /// returned guard drops. In-process callers already queue on one lock; this
    /// one is an advisory lock on `<credential>.lock` beside the token file, so a
    /// daemon and a manual `tally pull` (or two daemons on one tokens directory)
    /// never spend the same refresh token twice. Blocks the calling thread.
    pub fn lock_renewal(&self, credential: &str) -> Result<RenewalLock, AuthError> {
        let path = self.path_for(credential)?.with_extension("lock");
        create_private_dir(&self.dir)?;
        let file = lock_file(&path)
            .and_then(|file| file.lock().map(|()| file))
            .map_err(|e| {
                store_error(
                    &path,
                    format!(
                        "cannot lock it to renew the token: {e}; check that {} is writable",
                        self.dir.display()
                    ),
                )
            })?;
        Ok(RenewalLock { _file: file })
    }

    /// Writes `token` atomically, mode 0600, encrypted when the store has a key.
    pub fn save(&self, token: &StoredToken) -> Result<(), AuthError> {
        let path = self.path_for(&token.credential)?;
        let plain = serde_json::to_vec_pretty(token)
            .map_err(|e| store_error(&path, format!("cannot encode it: {e}")))?;
        let bytes = match &self.key {
            None => plain,
            Some(key) => {
                let (nonce, ciphertext) = key.seal(&token.credential, &plain, &path)?;
                let sealed = Sealed {
                    version: token.version,
                    cipher: CIPHER.into(),
                    credential: token.credential.clone(),
                    nonce: encode_hex(&nonce),
                    ciphertext: encode_hex(&ciphertext),
                };
                serde_json::to_vec_pretty(&sealed)
                    .map_err(|e| store_error(&path, format!("cannot encode it: {e}")))?
            }
        };
        self.write_atomically(&path, &bytes)
    }

    fn open(
        &self,
        credential: &str,
        value: serde_json::Value,
        path: &Path,
    ) -> Result<serde_json::Value, AuthError> {
        let Some(key) = &self.key else {
            return Err(store_error(
                path,
                "it is encrypted and no key is set; set TALLY_TOKEN_KEY or [auth] key_file to the key it was written with".into(),
            ));
        };
        let sealed: Sealed = serde_json::from_value(value).map_err(|e| {
            store_error(
                path,
                format!("it is not an encrypted token file ({})", where_(&e)),
            )
        })?;
        if sealed.cipher != CIPHER {
            return Err(store_error(
                path,
                format!(
                    "it uses cipher `{}`, this tally knows only {CIPHER}",
                    sealed.cipher
                ),
            ));
        }
        let damaged = || {
            store_error(
                path,
                "its hex is damaged; delete it and run `tally auth login` again".into(),
            )
        };
        let nonce = decode_hex(&sealed.nonce).ok_or_else(damaged)?;
        let ciphertext = decode_hex(&sealed.ciphertext).ok_or_else(damaged)?;
        let plain = key.open(credential, &nonce, &ciphertext, path)?;
        serde_json::from_slice(&plain)
            .map_err(|e| store_error(path, format!("its content is not JSON ({})", where_(&e))))
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
        create_private_dir(&self.dir)?;
        let tmp = self.dir.join(format!(
            ".{}.{}.{:016x}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("token"),
            std::process::id(),
            rand::random::<u64>()
        ));
        let written = (|| {
            let mut file = private_file(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(store_error(
                path,
                format!(
                    "cannot write it: {e}; check that {} is writable",
                    self.dir.display()
                ),
            ));
        }
        // Make the rename itself durable; failing that only risks the old token.
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// The right to renew one credential, across processes; released on drop
/// (closing the file releases its lock).
#[derive(Debug)]
pub struct RenewalLock {
    _file: std::fs::File,
}

/// Where a JSON error is, without serde's message: that may quote a value,
/// and values in these files are tokens.
fn where_(e: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    )
    .to_lowercase()
}

fn store_error(path: &Path, message: String) -> AuthError {
    AuthError::Store {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Opens (creating, mode 0600) a credential's lock file; its content is unused.
#[cfg(unix)]
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| AuthError::Store {
        path: dir.to_path_buf(),
        message: format!(
            "cannot create the tokens directory: {e}; set [auth] tokens_dir to a writable place"
        ),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth::token::tests::sample;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_saved_token_loads_back_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path().join("tokens"), None);
        assert_eq!(store.load("a").unwrap(), None);
        let token = sample("a");
        store.save(&token).unwrap();
        assert_eq!(store.load("a").unwrap(), Some(token.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&store.path_for("a").unwrap()), 0o600);
            assert_eq!(mode(store.dir()), 0o700);
        }
        // Overwriting leaves exactly one file, no temporary ones behind.
        store.save(&token).unwrap();
        let names: Vec<String> = std::fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.json"]);
    }

    #[test]
    fn encrypted_files_hold_no_token_and_need_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = TokenKey::parse(KEY, "k").unwrap();
        let store = TokenStore::new(dir.path(), Some(key));
        let token = sample("a");
        store.save(&token).unwrap();
        let text = std::fs::read_to_string(store.path_for("a").unwrap()).unwrap();
        assert!(
            !text.contains("access-1") && !text.contains("refresh-1"),
            "{text}"
        );
        assert_eq!(store.load("a").unwrap(), Some(token));
        let keyless = TokenStore::new(dir.path(), None);
        let err = keyless.load("a").unwrap_err().to_string();
        assert!(
            err.contains("TALLY_TOKEN_KEY") && err.contains("a.json"),
            "{err}"
        );
        // Renamed to another credential, the file does not open.
        std::fs::copy(store.path_for("a").unwrap(), store.path_for("b").unwrap()).unwrap();
        let err = store.load("b").unwrap_err().to_string();
        assert!(err.contains("cannot decrypt"), "{err}");
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        let store = TokenStore::new("/tmp/x", None);
        for bad in ["", "../a", ".hidden", "a/b", "a b"] {
            assert!(store.path_for(bad).is_err(), "{bad}");
        }
        assert!(store.path_for("bakery-youtube.main_1").is_ok());
    }

    #[test]
    fn a_damaged_or_misplaced_file_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path(), None);
        std::fs::write(store.path_for("a").unwrap(), "{not json").unwrap();
        let err = store.load("a").unwrap_err().to_string();
        assert!(
            err.contains("a.json") && err.contains("tally auth login"),
            "{err}"
        );
        store.save(&sample("a")).unwrap();
        std::fs::copy(store.path_for("a").unwrap(), store.path_for("b").unwrap()).unwrap();
        let err = store.load("b").unwrap_err().to_string();
        assert!(err.contains("holds credential `a`"), "{err}");
    }
}
