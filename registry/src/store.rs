//! The views store: the only module that names sled trees. Every view is derived from the log
//! and the contents and can be rebuilt from them (invariant 1); stored values that fail to
//! decode are errors naming the tree, never a default.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `dedup` | SHA-256 of the signed bytes (payload type, payload, signature) of every entry that is not a department record, and of every retracted record | index (u64 BE) |
//! | `subjects` | USCC `\0` index (u64 BE) | the entry's leaf hash: the newest key of a USCC is its chain head |
//! | `identities` | index (u64 BE) | empty: every identity entry |
//! | `references` | USCC `\0` SHA-256(`creditlog/v1/reference\0` department `\0` kind `\0` document number) | the newest record under that number: its index (u64 BE), followed by the byte `r` once it is retracted |
//! | `models` | model hash (hex) | index of its publication |
//! | `grades` | USCC `\0` model hash | the current grade (JSON) |
//! | `classes` | model hash `\0` month (`YYYY-MM`) `\0` class label | firms that entered the class (+) or left it (−) by decisions as of that month, net (i64 BE): summed up to a month, the class distribution at its end |
//! | `objections` | `o` objection index (u64 BE) step index (u64 BE); `t` contested entry index (u64 BE) objection index (u64 BE) | empty: the steps of each objection (its filing first), and the objections about each entry |
//! | `repairs` | application index (u64 BE) step index (u64 BE) | empty: the steps of each credit repair (its application first) |
//! | `commitments` | index of a firm's commitment (u64 BE) | the firm's USCC |
//! | `warnings` | `r` warning index (u64 BE); `a` warning index (u64 BE) department; `q` USCC `\0` rule byte record index (u64 BE); `l` USCC `\0` rule byte | the firm's USCC; the index of that department's acknowledgement (u64 BE); the date of a live record that may make the rule hold (days, i64 BE) and its department; the newest basis entry of the rule's last warning about the firm (u64 BE) |
//! | `plans` | `p` plan index (u64 BE); `d` plan index (u64 BE); `i` draw index (u64 BE) result index (u64 BE) | the plan's department; the index of its draw (u64 BE); empty: an inspection result citing that draw |
//! | `sanctions` | USCC `\0` index of a sanction imposed on the firm (u64 BE) | empty |
//! | `regrades` | index of a re-grading order (u64 BE) | empty: an order whose run summary is not on the log yet (a run to resume) |
//! | `reads` | USCC `\0` time (u64 BE) `\0` sequence (u64 BE) | a read of the firm's class, decision or history (JSON) |
//! | `meta` | `applied`, `scoring`, `contents`, `format` | how far the views are applied, and the length of the scoring view's file then ([`crate::scoring`]); how far `contents.log` is indexed in `contents.idx`; the layout of these trees ([`VIEWS_FORMAT`]) |
//!
//! No tree holds a record's content: the document number is hashed, so a redacted record leaves
//! nothing of itself in the views database (whose files keep deleted keys until sled reuses the
//! space).

use crate::RegistryError;
use sha2::{Digest, Sha256};

/// The layout of the views. Views of another layout (or of none, written before this marker) are
/// dropped and rebuilt from the log on open: they are derived, never the record.
pub(crate) const VIEWS_FORMAT: &[u8] = b"creditlog-views/9";

/// The sled trees of the registry.
pub(crate) struct Views {
    pub(crate) models: sled::Tree,
    pub(crate) grades: sled::Tree,
    pub(crate) classes: sled::Tree,
    pub(crate) dedup: sled::Tree,
    pub(crate) subjects: sled::Tree,
    pub(crate) identities: sled::Tree,
    pub(crate) references: sled::Tree,
    pub(crate) objections: sled::Tree,
    pub(crate) repairs: sled::Tree,
    pub(crate) commitments: sled::Tree,
    pub(crate) plans: sled::Tree,
    pub(crate) warnings: sled::Tree,
    pub(crate) sanctions: sled::Tree,
    pub(crate) regrades: sled::Tree,
    pub(crate) reads: sled::Tree,
    pub(crate) meta: sled::Tree,
    /// Each firm's key in the map of chain heads (its ECVRF output under `heads.key`), kept so
    /// that a restart does not key every firm again; not derived from the log.
    pub(crate) heads_keys: sled::Tree,
}

impl Views {
    pub(crate) fn open(db: &sled::Db) -> Result<Self, RegistryError> {
        Ok(Self {
            models: db.open_tree("models")?,
            grades: db.open_tree("grades")?,
            classes: db.open_tree("classes")?,
            dedup: db.open_tree("dedup")?,
            subjects: db.open_tree("subjects")?,
            identities: db.open_tree("identities")?,
            references: db.open_tree("references")?,
            objections: db.open_tree("objections")?,
            repairs: db.open_tree("repairs")?,
            commitments: db.open_tree("commitments")?,
            plans: db.open_tree("plans")?,
            warnings: db.open_tree("warnings")?,
            sanctions: db.open_tree("sanctions")?,
            regrades: db.open_tree("regrades")?,
            reads: db.open_tree("reads")?,
            meta: db.open_tree("meta")?,
            heads_keys: db.open_tree("heads_keys")?,
        })
    }

    /// How far the views are applied: the log size they reflect.
    pub(crate) fn applied(&self) -> Result<u64, RegistryError> {
        match self.meta.get(b"applied")? {
            Some(v) => be_u64(&v, "meta"),
            None => Ok(0),
        }
    }

    /// Drops views of another layout than [`VIEWS_FORMAT`] (they are rebuilt from the log by the
    /// catch-up that follows) and marks the views as of this one. True if they were dropped.
    pub(crate) fn check_format(&self) -> Result<bool, RegistryError> {
        let format = self.meta.get(b"format")?;
        if format.as_deref() == Some(VIEWS_FORMAT) {
            return Ok(false);
        }
        let stale = self.meta.get(b"applied")?.is_some();
        if stale {
            for (_, tree) in self.derived() {
                tree.clear()?;
            }
            self.meta.remove(b"applied")?;
        }
        self.meta.insert(b"format", VIEWS_FORMAT)?;
        Ok(stale)
    }

    /// The trees a rebuild must reproduce exactly, by name (the read journal is not derived
    /// from the log, so it is not among them).
    pub(crate) fn derived(&self) -> [(&'static str, &sled::Tree); 14] {
        [
            ("dedup", &self.dedup),
            ("subjects", &self.subjects),
            ("identities", &self.identities),
            ("references", &self.references),
            ("objections", &self.objections),
            ("repairs", &self.repairs),
            ("commitments", &self.commitments),
            ("plans", &self.plans),
            ("warnings", &self.warnings),
            ("models", &self.models),
            ("grades", &self.grades),
            ("classes", &self.classes),
            ("sanctions", &self.sanctions),
            ("regrades", &self.regrades),
        ]
    }
}

/// Decodes a stored big-endian u64, failing loudly (naming the tree) if it is not 8 bytes.
pub(crate) fn be_u64(bytes: &[u8], tree: &'static str) -> Result<u64, RegistryError> {
    let b: [u8; 8] = bytes.try_into().map_err(|_| RegistryError::Corrupt {
        tree,
        problem: format!("a stored number is {} bytes, not 8", bytes.len()),
    })?;
    Ok(u64::from_be_bytes(b))
}

/// `USCC \0 index`: the key of the subjects tree.
pub(crate) fn subject_key(uscc: &str, index: u64) -> Vec<u8> {
    let mut k = uscc.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// What the references view knows of a document number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reference {
    /// No record has ever been logged under it.
    Unused,
    /// The live record under it.
    Live(u64),
    /// The newest record under it was retracted; the number is free for a correction.
    Retracted(u64),
}

impl Reference {
    pub(crate) fn decode(value: Option<&[u8]>) -> Result<Self, RegistryError> {
        match value {
            None => Ok(Self::Unused),
            Some(v) if v.len() == 9 && v[8] == b'r' => Ok(Self::Retracted(be_u64(&v[..8], "references")?)),
            Some(v) => Ok(Self::Live(be_u64(v, "references")?)),
        }
    }

    pub(crate) fn retracted_value(index: u64) -> [u8; 9] {
        let mut v = [b'r'; 9];
        v[..8].copy_from_slice(&index.to_be_bytes());
        v
    }
}

/// `USCC \0 SHA-256("creditlog/v1/reference\0" department \0 kind \0 reference)`: the key of
/// the references tree (the document number, part of a record's content, is not stored).
pub(crate) fn reference_key(uscc: &str, department: &str, kind: &str, reference: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"creditlog/v1/reference\0");
    for (i, part) in [department, kind, reference].iter().enumerate() {
        if i > 0 {
            h.update([0]);
        }
        h.update(part.as_bytes());
    }
    let mut k = Vec::with_capacity(uscc.len() + 33);
    k.extend_from_slice(uscc.as_bytes());
    k.push(0);
    k.extend_from_slice(&h.finalize());
    k
}

/// `USCC \0`: the prefix of a firm's keys in the subjects, grades and reads trees.
pub(crate) fn firm_prefix(uscc: &str) -> Vec<u8> {
    let mut k = uscc.as_bytes().to_vec();
    k.push(0);
    k
}
