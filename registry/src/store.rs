//! The views store: the only module that names sled trees. Every view is derived from the log
//! and the contents and can be rebuilt from them (invariant 1); stored values that fail to
//! decode are errors naming the tree, never a default.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `dedup` | SHA-256 of the signed bytes (payload type, payload, signature) of every entry that is not a department record, and of every retracted record | index (u64 BE) |
//! | `subjects` | USCC `\0` index (u64 BE) | the entry's leaf hash: the newest key of a USCC is its chain head |
//! | `identities` | index (u64 BE) | empty: every identity entry |
//! | `references` | USCC `\0` department `\0` kind `\0` document number | the newest record under that number: its index (u64 BE), followed by the byte `r` once it is retracted |
//! | `models` | model hash (hex) | index of its publication |
//! | `grades` | USCC `\0` model hash | the current grade (JSON) |
//! | `objections` | `o` objection index (u64 BE) step index (u64 BE); `t` contested entry index (u64 BE) objection index (u64 BE) | empty: the steps of each objection (its filing first), and the objections about each entry |
//! | `repairs` | application index (u64 BE) step index (u64 BE) | empty: the steps of each credit repair (its application first) |
//! | `commitments` | index of a firm's commitment (u64 BE) | the firm's USCC |
//! | `reads` | USCC `\0` time (u64 BE) `\0` sequence (u64 BE) | a read of the firm's class, decision or history (JSON) |
//! | `meta` | `applied`, `contents` | how far the views are applied; how far `contents.log` is indexed in `contents.idx` |

use crate::RegistryError;

/// The sled trees of the registry.
pub(crate) struct Views {
    pub(crate) models: sled::Tree,
    pub(crate) grades: sled::Tree,
    pub(crate) dedup: sled::Tree,
    pub(crate) subjects: sled::Tree,
    pub(crate) identities: sled::Tree,
    pub(crate) references: sled::Tree,
    pub(crate) objections: sled::Tree,
    pub(crate) repairs: sled::Tree,
    pub(crate) commitments: sled::Tree,
    pub(crate) reads: sled::Tree,
    pub(crate) meta: sled::Tree,
}

impl Views {
    pub(crate) fn open(db: &sled::Db) -> Result<Self, RegistryError> {
        Ok(Self {
            models: db.open_tree("models")?,
            grades: db.open_tree("grades")?,
            dedup: db.open_tree("dedup")?,
            subjects: db.open_tree("subjects")?,
            identities: db.open_tree("identities")?,
            references: db.open_tree("references")?,
            objections: db.open_tree("objections")?,
            repairs: db.open_tree("repairs")?,
            commitments: db.open_tree("commitments")?,
            reads: db.open_tree("reads")?,
            meta: db.open_tree("meta")?,
        })
    }

    /// The trees a rebuild must reproduce exactly, by name (the read journal is not derived
    /// from the log, so it is not among them).
    pub(crate) fn derived(&self) -> [(&'static str, &sled::Tree); 9] {
        [
            ("dedup", &self.dedup),
            ("subjects", &self.subjects),
            ("identities", &self.identities),
            ("references", &self.references),
            ("objections", &self.objections),
            ("repairs", &self.repairs),
            ("commitments", &self.commitments),
            ("models", &self.models),
            ("grades", &self.grades),
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

/// `USCC \0 department \0 kind \0 reference`: the key of the references tree.
pub(crate) fn reference_key(uscc: &str, department: &str, kind: &str, reference: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(uscc.len() + department.len() + kind.len() + reference.len() + 3);
    for (i, part) in [uscc, department, kind, reference].iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(part.as_bytes());
    }
    k
}

/// `USCC \0`: the prefix of a firm's keys in the subjects, grades and reads trees.
pub(crate) fn firm_prefix(uscc: &str) -> Vec<u8> {
    let mut k = uscc.as_bytes().to_vec();
    k.push(0);
    k
}
