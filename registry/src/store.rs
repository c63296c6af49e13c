//! The views store: the only module that names the view trees (in sled, or in a cluster's
//! PostgreSQL: [`ViewStore`]). Every view is derived from the log
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
use sled::IVec;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// The layout of the views. Views of another layout (or of none, written before this marker) are
/// dropped and rebuilt from the log on open: they are derived, never the record.
pub(crate) const VIEWS_FORMAT: &[u8] = b"creditlog-views/9";

/// A pair read from a view, or the failure to read it.
pub(crate) type Item = Result<(IVec, IVec), RegistryError>;

/// Pairs of a view in key order.
pub(crate) type Iter<'a> = Box<dyn Iterator<Item = Item> + Send + 'a>;

/// A store of one view tree: ordered keys (compared bytewise) to values. Two implementations:
/// a sled tree in the data folder (the embedded default) and rows of `creditlog_views` in a
/// cluster's PostgreSQL ([`cluster::PgViews`]), shared by every node.
pub(crate) trait ViewStore: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, RegistryError>;
    /// Writes `ops` at once (`None` removes a key).
    fn apply(&self, ops: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), RegistryError>;
    /// Pairs between the bounds in key order.
    fn range(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Iter<'_>;
    /// The last pair between the bounds.
    fn last(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Result<Option<(IVec, IVec)>, RegistryError>;
    fn clear(&self) -> Result<(), RegistryError>;
}

/// One view tree, whichever store holds it; the methods registry code calls.
#[derive(Clone)]
pub(crate) struct Tree(Arc<dyn ViewStore>);

impl Tree {
    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, RegistryError> {
        self.0.get(key.as_ref())
    }

    pub(crate) fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), RegistryError> {
        self.0.apply(vec![(key.as_ref().to_vec(), Some(value.as_ref().to_vec()))])
    }

    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> Result<(), RegistryError> {
        self.0.apply(vec![(key.as_ref().to_vec(), None)])
    }

    pub(crate) fn apply_batch(&self, batch: Batch) -> Result<(), RegistryError> {
        self.0.apply(batch.0)
    }

    pub(crate) fn iter(&self) -> Iter<'_> {
        self.0.range(Bound::Unbounded, Bound::Unbounded)
    }

    pub(crate) fn range<K: AsRef<[u8]>>(&self, r: impl RangeBounds<K>) -> Iter<'_> {
        let own = |b: Bound<&K>| b.map(|k| k.as_ref().to_vec());
        self.0.range(own(r.start_bound()), own(r.end_bound()))
    }

    pub(crate) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter<'_> {
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        self.0.range(lower, upper)
    }

    /// The last pair whose key starts with `prefix`.
    pub(crate) fn last_with_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Option<(IVec, IVec)>, RegistryError> {
        let (lower, upper) = prefix_bounds(prefix.as_ref());
        self.0.last(lower, upper)
    }

    pub(crate) fn clear(&self) -> Result<(), RegistryError> {
        self.0.clear()
    }
}

/// The keys that start with `prefix`: from it, up to (not including) the next prefix of its
/// length; unbounded above if it is all `0xff`.
fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}

/// Writes to one tree, applied at once by [`Tree::apply_batch`].
#[derive(Default)]
pub(crate) struct Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>);

impl Batch {
    pub(crate) fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.0.push((key.as_ref().to_vec(), Some(value.as_ref().to_vec())));
    }

    pub(crate) fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.0.push((key.as_ref().to_vec(), None));
    }
}

/// A view tree in sled.
struct SledStore(sled::Tree);

impl ViewStore for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, RegistryError> {
        Ok(self.0.get(key)?)
    }

    fn apply(&self, ops: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), RegistryError> {
        if let [(k, v)] = &ops[..] {
            match v {
                Some(v) => self.0.insert(&k[..], &v[..])?,
                None => self.0.remove(&k[..])?,
            };
            return Ok(());
        }
        let mut b = sled::Batch::default();
        for (k, v) in ops {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        Ok(self.0.apply_batch(b)?)
    }

    fn range(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Iter<'_> {
        Box::new(self.0.range((lower, upper)).map(|i| i.map_err(RegistryError::from)))
    }

    fn last(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Result<Option<(IVec, IVec)>, RegistryError> {
        Ok(self.0.range((lower, upper)).next_back().transpose()?)
    }

    fn clear(&self) -> Result<(), RegistryError> {
        Ok(self.0.clear()?)
    }
}

/// A view tree in the cluster's PostgreSQL.
struct PgStore {
    views: Arc<cluster::PgViews>,
    tree: &'static str,
}

/// Rows read from PostgreSQL per query while iterating a view.
const PG_PAGE: usize = 512;

impl ViewStore for PgStore {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, RegistryError> {
        Ok(self.views.get(self.tree, key)?.map(IVec::from))
    }

    fn apply(&self, ops: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), RegistryError> {
        Ok(self.views.apply(self.tree, ops)?)
    }

    fn range(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Iter<'_> {
        // Page by page, each page starting after the last key of the one before.
        let mut lower = Some(lower);
        let mut page = std::collections::VecDeque::new();
        Box::new(std::iter::from_fn(move || {
            if page.is_empty() {
                let from = lower.take()?;
                match self.views.scan(self.tree, from, upper.clone(), PG_PAGE, false) {
                    Ok(rows) => {
                        if rows.len() == PG_PAGE {
                            lower = rows.last().map(|(k, _)| Bound::Excluded(k.clone()));
                        }
                        page.extend(rows);
                    }
                    Err(e) => return Some(Err(e.into())),
                }
            }
            page.pop_front().map(|(k, v)| Ok((IVec::from(k), IVec::from(v))))
        }))
    }

    fn last(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Result<Option<(IVec, IVec)>, RegistryError> {
        let rows = self.views.scan(self.tree, lower, upper, 1, true)?;
        Ok(rows.into_iter().next().map(|(k, v)| (IVec::from(k), IVec::from(v))))
    }

    fn clear(&self) -> Result<(), RegistryError> {
        Ok(self.views.clear(self.tree)?)
    }
}

/// The view trees of the registry.
pub(crate) struct Views {
    pub(crate) models: Tree,
    pub(crate) grades: Tree,
    pub(crate) classes: Tree,
    pub(crate) dedup: Tree,
    pub(crate) subjects: Tree,
    pub(crate) identities: Tree,
    pub(crate) references: Tree,
    pub(crate) objections: Tree,
    pub(crate) repairs: Tree,
    pub(crate) commitments: Tree,
    pub(crate) plans: Tree,
    pub(crate) warnings: Tree,
    pub(crate) sanctions: Tree,
    pub(crate) regrades: Tree,
    pub(crate) reads: Tree,
    pub(crate) meta: Tree,
    /// Each firm's key in the map of chain heads (its ECVRF output under `heads.key`), kept so
    /// that a restart does not key every firm again; not derived from the log.
    pub(crate) heads_keys: Tree,
    /// The cluster's PostgreSQL, when the views are there.
    pg: Option<Arc<cluster::PgViews>>,
}

/// The names of the trees, in the order of [`Views`]' fields.
const TREES: [&str; 17] = [
    "models",
    "grades",
    "classes",
    "dedup",
    "subjects",
    "identities",
    "references",
    "objections",
    "repairs",
    "commitments",
    "plans",
    "warnings",
    "sanctions",
    "regrades",
    "reads",
    "meta",
    "heads_keys",
];

impl Views {
    /// The views in a sled database (the embedded default).
    pub(crate) fn open(db: &sled::Db) -> Result<Self, RegistryError> {
        let mut trees = Vec::with_capacity(TREES.len());
        for name in TREES {
            trees.push(Tree(Arc::new(SledStore(db.open_tree(name)?))));
        }
        Ok(Self::of(trees, None))
    }

    /// The views in a cluster's PostgreSQL.
    pub(crate) fn open_pg(views: Arc<cluster::PgViews>) -> Self {
        let trees = TREES.iter().map(|&tree| Tree(Arc::new(PgStore { views: views.clone(), tree }))).collect();
        Self::of(trees, Some(views))
    }

    fn of(trees: Vec<Tree>, pg: Option<Arc<cluster::PgViews>>) -> Self {
        let mut t = trees.into_iter();
        let mut next = || t.next().expect("one store per tree");
        Self {
            models: next(),
            grades: next(),
            classes: next(),
            dedup: next(),
            subjects: next(),
            identities: next(),
            references: next(),
            objections: next(),
            repairs: next(),
            commitments: next(),
            plans: next(),
            warnings: next(),
            sanctions: next(),
            regrades: next(),
            reads: next(),
            meta: next(),
            heads_keys: next(),
            pg,
        }
    }

    /// Whether this node may write the views: always in sled; in PostgreSQL, only the
    /// sequencer holding the lease.
    pub(crate) fn writable(&self) -> bool {
        self.pg.as_ref().is_none_or(|p| p.writes())
    }

    /// Whether the views are the cluster's, in PostgreSQL.
    pub(crate) fn shared(&self) -> bool {
        self.pg.is_some()
    }

    /// Runs `f` as one transaction of the views: in PostgreSQL, committed whole if it succeeds
    /// (and this node's lease still holds), rolled back otherwise; in sled, as it goes.
    pub(crate) fn transaction<T>(&self, f: impl FnOnce() -> Result<T, RegistryError>) -> Result<T, RegistryError> {
        let Some(pg) = &self.pg else { return f() };
        pg.begin()?;
        // Rolled back if `f` fails or panics: the thread never keeps a transaction open.
        struct Open<'a>(Option<&'a cluster::PgViews>);
        impl Drop for Open<'_> {
            fn drop(&mut self) {
                if let Some(pg) = self.0 {
                    pg.rollback();
                }
            }
        }
        let mut open = Open(Some(pg));
        let v = f()?;
        open.0 = None;
        pg.commit()?;
        Ok(v)
    }

    /// How far the views are applied: the log size they reflect.
    pub(crate) fn applied(&self) -> Result<u64, RegistryError> {
        match self.meta.get(b"applied")? {
            Some(v) => be_u64(&v, "meta"),
            None => Ok(0),
        }
    }

    /// Drops views of another layout than [`VIEWS_FORMAT`] (they are rebuilt from the log by the
    /// catch-up that follows) and marks the views as of this one. True if they were dropped. A
    /// node that only reads the shared views leaves them to the sequencer.
    pub(crate) fn check_format(&self) -> Result<bool, RegistryError> {
        let format = self.meta.get(b"format")?;
        if format.as_deref() == Some(VIEWS_FORMAT) || !self.writable() {
            return Ok(false);
        }
        let stale = self.meta.get(b"applied")?.is_some();
        self.transaction(|| {
            if stale {
                for (_, tree) in self.derived() {
                    tree.clear()?;
                }
                self.meta.remove(b"applied")?;
            }
            self.meta.insert(b"format", VIEWS_FORMAT)
        })?;
        Ok(stale)
    }

    /// Drops every derived view (for `creditlog rebuild`), in one transaction.
    pub(crate) fn clear_derived(&self) -> Result<(), RegistryError> {
        self.transaction(|| {
            for (_, tree) in self.derived() {
                tree.clear()?;
            }
            self.meta.remove(b"applied")?;
            self.meta.remove(b"scoring")
        })
    }

    /// The trees a rebuild must reproduce exactly, by name (the read journal is not derived
    /// from the log, so it is not among them).
    pub(crate) fn derived(&self) -> [(&'static str, &Tree); 14] {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_covers_exactly_the_keys_that_start_with_it() {
        let keys: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x00],
            vec![0x01],
            vec![0x01, 0x00],
            vec![0x01, 0xff],
            vec![0x02],
            vec![0xff],
            vec![0xff, 0x00],
        ];
        for prefix in [&[][..], &[0x01], &[0x01, 0xff], &[0xff], &[0x03]] {
            let (lower, upper) = prefix_bounds(prefix);
            let inside: Vec<&Vec<u8>> = keys.iter().filter(|k| (lower.clone(), upper.clone()).contains(*k)).collect();
            let expected: Vec<&Vec<u8>> = keys.iter().filter(|k| k.starts_with(prefix)).collect();
            assert_eq!(inside, expected, "prefix {prefix:?}");
        }
    }
}
