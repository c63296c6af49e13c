//! Key files: an Ed25519 key as JSON, written with mode 0600.
//!
//! ```json
//! {"type": "creditlog.key/v1", "key_id": "<hex>", "public_key": "<base64>", "private_key": "<base64 seed>"}
//! ```

use base64::prelude::*;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use verifier::envelope::key_id;

#[derive(Serialize, Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    key_id: String,
    public_key: String,
    private_key: String,
}

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Not a key file.
    #[error("{path} is not a creditlog key file ({reason})")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A new random key.
pub fn generate() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// The base64 public key of a signing key, as identity statements carry it.
pub fn public_b64(key: &SigningKey) -> String {
    BASE64_STANDARD.encode(key.verifying_key().as_bytes())
}

/// Writes `key` to a new file `path` with mode 0600; refuses to overwrite.
///
/// # Errors
///
/// If the file exists or cannot be written.
pub fn write(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io { path: path.display().to_string(), source };
    let body = KeyFile {
        kind: "creditlog.key/v1".into(),
        key_id: key_id(&key.verifying_key()),
        public_key: public_b64(key),
        private_key: BASE64_STANDARD.encode(key.to_bytes()),
    };
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io)?;
    f.write_all(&serde_json::to_vec_pretty(&body).expect("serialises")).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads a key file.
///
/// # Errors
///
/// If it cannot be read, is not a key file, or its key id does not match its key.
pub fn read(path: &Path) -> Result<SigningKey, KeyFileError> {
    let bad = |reason: &str| KeyFileError::Malformed { path: path.display().to_string(), reason: reason.to_owned() };
    let text = std::fs::read(path).map_err(|source| KeyFileError::Io { path: path.display().to_string(), source })?;
    let f: KeyFile = serde_json::from_slice(&text).map_err(|e| bad(&e.to_string()))?;
    if f.kind != "creditlog.key/v1" {
        return Err(bad("type is not creditlog.key/v1"));
    }
    let seed: [u8; 32] = BASE64_STANDARD
        .decode(&f.private_key)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("private_key is not 32 bytes of base64"))?;
    let key = SigningKey::from_bytes(&seed);
    if key_id(&key.verifying_key()) != f.key_id || public_b64(&key) != f.public_key {
        return Err(bad("key_id or public_key does not belong to private_key"));
    }
    Ok(key)
}
