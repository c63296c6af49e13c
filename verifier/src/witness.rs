//! The body of a C2SP tlog-witness `add-checkpoint` request
//! (<https://c2sp.org/tlog-witness>): what a log sends a witness and a witness reads, in one
//! place for both sides.

use crate::Hash;
use base64::prelude::*;

/// The most consistency-proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;
/// The largest request body accepted: a signed note is at most 1 MiB in Go's note package; a
/// checkpoint with its proof is a few KiB.
pub const MAX_BODY: usize = 64 * 1024;

/// A parsed `add-checkpoint` request body.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness cosigned last.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, as sent.
    pub checkpoint: Vec<u8>,
}

fn bad(detail: impl Into<String>) -> String {
    detail.into()
}

impl AddCheckpoint {
    /// Parses a request body exactly as tlog-witness writes it.
    ///
    /// # Errors
    ///
    /// What is malformed, naming the line and the rule (a witness answers 400 with it).
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        if body.len() > MAX_BODY {
            return Err(bad(format!("the body is {} bytes; at most {MAX_BODY}", body.len())));
        }
        let mut rest = body;
        let mut line = |n: usize| -> Result<&[u8], String> {
            let end = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| bad(format!("line {n} does not end in a newline")))?;
            let l = &rest[..end];
            rest = &rest[end + 1..];
            Ok(l)
        };
        let first = line(1)?;
        let size = first.strip_prefix(b"old ").ok_or_else(|| bad("the first line must be `old <size>`"))?;
        let old_size = decimal(size).ok_or_else(|| {
            bad(format!("the old size {:?} is not a decimal without leading zeroes", String::from_utf8_lossy(size)))
        })?;
        let mut proof = Vec::new();
        loop {
            let l = line(proof.len() + 2)?;
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad(format!("more than {MAX_PROOF_LINES} consistency proof lines")));
            }
            let raw =
                BASE64_STANDARD.decode(l).map_err(|_| bad(format!("proof line {} is not base64", proof.len() + 1)))?;
            let hash: [u8; 32] =
                raw.try_into().map_err(|_| bad(format!("proof line {} is not a 32-byte hash", proof.len() + 1)))?;
            proof.push(Hash(hash));
        }
        Ok(Self { old_size, proof, checkpoint: rest.to_vec() })
    }

    /// The body as a client sends it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(BASE64_STANDARD.encode(h.0).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }
}

/// An ASCII decimal with no leading zeroes (`0` itself allowed).
fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s[0] == b'0') || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}
