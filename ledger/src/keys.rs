//! The log's signing key: an Ed25519 key in the signed-note text form
//! (`PRIVATE+KEY+<name>+<hex id>+<base64>`), created on first start in the data folder with
//! mode 0600 and never logged. The key name is the log's origin.

use signed_note::{StandardSigner, StandardVerifier};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// File name of the log key inside the data folder.
pub const KEY_FILE: &str = "log.key";

/// The log's signer and the matching public verifier key string.
#[derive(Clone)]
pub struct LogKey {
    /// Signs checkpoints.
    pub signer: StandardSigner,
    /// `name+hex id+base64(0x01 || public key)`, what clients pin.
    pub verifier_key: String,
    /// The key name, which is also the checkpoint origin.
    pub name: String,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey").field("verifier_key", &self.verifier_key).finish_non_exhaustive()
    }
}

/// Why the log key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The key file does not hold a signed-note Ed25519 private key.
    #[error("{path} does not hold a log key (PRIVATE+KEY+<name>+<id>+<base64>)")]
    Malformed {
        /// The key file.
        path: String,
    },
    /// The origin asked for differs from the existing key's name.
    #[error("this data folder holds the log {existing:?}; it cannot be reopened as {requested:?} (the origin is fixed when the log is created)")]
    OriginMismatch {
        /// Name in the key file.
        existing: String,
        /// Name asked for.
        requested: String,
    },
    /// The origin is not a valid key name.
    #[error("origin {0:?} is not a valid log name: it must be non-empty, without spaces or '+'")]
    BadOrigin(String),
}

impl LogKey {
    fn from_signer_string(text: &str, path: &Path) -> Result<Self, KeyError> {
        let malformed = || KeyError::Malformed { path: path.display().to_string() };
        let signer = StandardSigner::new(text.trim()).map_err(|_| malformed())?;
        let name = signed_note::Signer::name(&signer).to_owned();
        // Derive the verifier key from the private key rather than storing it twice.
        let parts: Vec<&str> = text.trim().splitn(5, '+').collect();
        let raw = base64_decode(parts.get(4).copied().unwrap_or_default()).ok_or_else(malformed)?;
        let seed: [u8; 32] = raw.get(1..33).and_then(|s| s.try_into().ok()).ok_or_else(malformed)?;
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let verifier_key = signed_note::new_ed25519_verifier_key(&name, &sk.verifying_key());
        StandardVerifier::new(&verifier_key).map_err(|_| malformed())?;
        Ok(Self { signer, verifier_key, name })
    }

    /// Loads the key from `dir`, or creates it there (mode 0600) named `origin`.
    ///
    /// # Errors
    ///
    /// If the file is unreadable or malformed, or `origin` differs from the existing name.
    pub fn load_or_create(dir: &Path, origin: Option<&str>, default_origin: &str) -> Result<(Self, bool), KeyError> {
        let path = dir.join(KEY_FILE);
        let ioerr = |source| KeyError::Io { path: path.display().to_string(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let key = Self::from_signer_string(&text, &path)?;
                if let Some(o) = origin {
                    if o != key.name {
                        return Err(KeyError::OriginMismatch { existing: key.name, requested: o.to_owned() });
                    }
                }
                Ok((key, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let name = origin.unwrap_or(default_origin);
                if !signed_note::is_key_name_valid(name) {
                    return Err(KeyError::BadOrigin(name.to_owned()));
                }
                std::fs::create_dir_all(dir).map_err(ioerr)?;
                let (skey, _vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, name);
                let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(ioerr)?;
                f.write_all(format!("{skey}\n").as_bytes()).map_err(ioerr)?;
                f.sync_all().map_err(ioerr)?;
                std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(ioerr)?;
                Ok((Self::from_signer_string(&skey, &path)?, true))
            }
            Err(e) => Err(ioerr(e)),
        }
    }

    /// Loads an existing key.
    ///
    /// # Errors
    ///
    /// If there is no key in `dir` or it is malformed.
    pub fn load(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(KEY_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|source| KeyError::Io { path: path.display().to_string(), source })?;
        Self::from_signer_string(&text, &path)
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::prelude::*;
    BASE64_STANDARD.decode(s).ok()
}
