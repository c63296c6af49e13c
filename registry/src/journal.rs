//! The journal of reads (DOMAIN §8: "every access to a class is itself worth recording"): each
//! read of a firm's class, decision, history or evidence bundle by anyone but the firm itself
//! is recorded with who, when and what, and the firm and auditors can read the journal.
//!
//! The journal is kept in the views database, not on the log: a read changes no state, and
//! logging every look-up would let the log grow with traffic rather than with decisions. It is
//! therefore not rebuilt by `creditlog rebuild` and not covered by the log's proofs; a read
//! recorded is kept, a crash may lose the last two seconds of reads. On a cluster the journal is
//! kept in PostgreSQL instead (`creditlog_reads`), so that every node records and shows the same
//! reads.

use crate::store::{be_u64, firm_prefix};
use crate::{Registry, RegistryError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use verifier::identity::Principal;

/// One read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    /// Seconds since the epoch.
    pub time: u64,
    /// Who read.
    pub reader: Principal,
    /// In words: the reader, e.g. `department zibo-tax`.
    pub who: String,
    /// What was read: `grade`, `decision`, `history`, `bundle`.
    pub what: String,
}

impl Registry {
    /// Records that `reader` read `what` of `uscc` (nothing is recorded for the firm itself).
    ///
    /// # Errors
    ///
    /// Views database failures.
    pub fn journal_read(&self, uscc: &str, reader: &Principal, what: &str) -> Result<(), RegistryError> {
        if matches!(reader, Principal::Enterprise(u) if u == uscc) {
            return Ok(());
        }
        let time = crate::now();
        if let Some(coord) = &self.inner.shared_journal {
            let read = Read { time, reader: reader.clone(), who: reader.to_string(), what: what.to_owned() };
            coord.journal_read(uscc, serde_json::to_vec(&read).expect("serialises"))?;
            return Ok(());
        }
        let seq = self.inner.reads_seq.fetch_add(1, Ordering::Relaxed);
        let mut key = firm_prefix(uscc);
        key.extend_from_slice(&time.to_be_bytes());
        key.extend_from_slice(&seq.to_be_bytes());
        let read = Read { time, reader: reader.clone(), who: reader.to_string(), what: what.to_owned() };
        self.inner.views.reads.insert(key, serde_json::to_vec(&read).expect("serialises"))?;
        Ok(())
    }

    /// The whole journal of reads, as `(USCC, read as stored)`: by firm, oldest first, in the
    /// data folder; oldest first on a cluster. For `creditlog migrate` and `creditlog backup`,
    /// which carry it over (it is not derived from the log: a rebuild cannot recreate it).
    ///
    /// # Errors
    ///
    /// Storage failures.
    pub fn journal(&self) -> Result<Vec<(String, Vec<u8>)>, RegistryError> {
        if let Some(coord) = &self.inner.shared_journal {
            return Ok(coord.all_reads()?);
        }
        let mut out = Vec::new();
        for item in self.inner.views.reads.iter() {
            let (k, v) = item?;
            let end = k
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| RegistryError::Corrupt { tree: "reads", problem: "a key has no USCC".into() })?;
            let uscc = String::from_utf8(k[..end].to_vec())
                .map_err(|_| RegistryError::Corrupt { tree: "reads", problem: "a USCC is not UTF-8".into() })?;
            out.push((uscc, v.to_vec()));
        }
        Ok(out)
    }

    /// Adds reads exported by [`Registry::journal`] of another copy of this log, in order; each
    /// must decode as a read.
    ///
    /// # Errors
    ///
    /// A read that does not decode (nothing after it is added); storage failures.
    pub fn import_journal(&self, reads: &[(String, Vec<u8>)]) -> Result<(), RegistryError> {
        for (uscc, bytes) in reads {
            let read: Read = serde_json::from_slice(bytes)
                .map_err(|e| RegistryError::Corrupt { tree: "reads (imported)", problem: e.to_string() })?;
            if let Some(coord) = &self.inner.shared_journal {
                coord.journal_read(uscc, bytes.clone())?;
                continue;
            }
            let seq = self.inner.reads_seq.fetch_add(1, Ordering::Relaxed);
            let mut key = firm_prefix(uscc);
            key.extend_from_slice(&read.time.to_be_bytes());
            key.extend_from_slice(&seq.to_be_bytes());
            self.inner.views.reads.insert(key, bytes)?;
        }
        Ok(())
    }

    /// The reads of `uscc`'s class, decisions and history, oldest first.
    ///
    /// # Errors
    ///
    /// Views database failures, or a stored read that does not decode.
    pub fn reads(&self, uscc: &str) -> Result<Vec<Read>, RegistryError> {
        if let Some(coord) = &self.inner.shared_journal {
            let rows = coord.reads(uscc)?;
            return rows
                .iter()
                .map(|v| {
                    serde_json::from_slice(v)
                        .map_err(|e| RegistryError::Corrupt { tree: "reads (PostgreSQL)", problem: e.to_string() })
                })
                .collect();
        }
        let prefix = firm_prefix(uscc);
        let mut out = Vec::new();
        for item in self.inner.views.reads.scan_prefix(&prefix) {
            let (k, v) = item?;
            be_u64(k.get(prefix.len()..prefix.len() + 8).unwrap_or_default(), "reads")?;
            out.push(
                serde_json::from_slice(&v)
                    .map_err(|e| RegistryError::Corrupt { tree: "reads", problem: e.to_string() })?,
            );
        }
        Ok(out)
    }
}
