//! Opening a signed checkpoint: a C2SP tlog-checkpoint body (<https://c2sp.org/tlog-checkpoint>)
//! in a C2SP signed note (<https://c2sp.org/signed-note>) signed with the log's Ed25519 key.
//!
//! The note text is three lines, `<origin>\n<tree size>\n<base64 root hash>\n`, followed by a
//! blank line and one signature line per signer: `— <key name> base64(key id || signature)`,
//! where the key id is the first four bytes of `SHA-256(<key name> || "\n" || 0x01 || public
//! key)` and the Ed25519 signature covers the note text exactly.

use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::{Checkpoint, Hash};

/// A checkpoint whose signature has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedCheckpoint {
    /// The log's origin line.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// Root hash of the tree of that size.
    pub root: Hash,
}

/// Why a checkpoint was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The verifier key string is not `name+hex id+base64 key`.
    #[error("the log's verifier key is malformed: {0}")]
    VerifierKey(String),
    /// The note is not a well-formed signed note.
    #[error("the checkpoint is not a well-formed signed note: {0}")]
    Note(String),
    /// The note carries no valid signature by the log's key.
    #[error("the checkpoint is not signed by the log's key {key}: {reason}")]
    Signature {
        /// The expected key name.
        key: String,
        /// What the note package reported.
        reason: String,
    },
    /// The signed text is not a C2SP checkpoint.
    #[error("the signed text is not a checkpoint (origin line, tree size, base64 root hash)")]
    Body,
    /// The origin line differs from the key name.
    #[error("the checkpoint's origin {origin:?} is not the log's name {key_name:?}")]
    Origin {
        /// Origin line of the checkpoint.
        origin: String,
        /// Name of the log's key.
        key_name: String,
    },
}

/// Checks a signed checkpoint against the log's verifier key and returns its contents.
///
/// The key name must equal the origin line, as C2SP tlog-checkpoint requires.
///
/// # Errors
///
/// A [`CheckpointError`] saying which of the checks failed.
pub fn open_checkpoint(note: &[u8], verifier_key: &str) -> Result<OpenedCheckpoint, CheckpointError> {
    let verifier = StandardVerifier::new(verifier_key).map_err(|e| CheckpointError::VerifierKey(e.to_string()))?;
    let key_name = signed_note::Verifier::name(&verifier).to_owned();
    let note = Note::from_bytes(note).map_err(|e| CheckpointError::Note(e.to_string()))?;
    note.verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| CheckpointError::Signature { key: key_name.clone(), reason: e.to_string() })?;
    let body = Checkpoint::from_bytes(note.text()).map_err(|_| CheckpointError::Body)?;
    if body.origin() != key_name {
        return Err(CheckpointError::Origin { origin: body.origin().to_owned(), key_name });
    }
    Ok(OpenedCheckpoint { origin: body.origin().to_owned(), size: body.size(), root: *body.hash() })
}
