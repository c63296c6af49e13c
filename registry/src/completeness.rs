//! The map of chain heads (完整性承诺, [`verifier::completeness`]): kept live in memory, published
//! as a signed entry at intervals and whenever a firm's whole-history bundle needs one, and
//! proved for one firm in its bundle.
//!
//! Every firm's chain head (the leaf hash of its newest entry, and its chain's length) is loaded
//! from the subjects view when the registry opens and kept by every append. Publishing takes a
//! snapshot of it with the log's size under the intake lock, keys each firm by its ECVRF output
//! under the registry's VRF key (`heads.key`, created on first use, mode 0600; the keys are kept
//! in the `heads_keys` view, so a restart does not compute them again), builds the map,
//! writes its leaves to `heads/<root hex>` durably (so a restart can still prove against it, and
//! monitors can fetch them), then appends the map entry signed by the grader.

use crate::pipeline::Prepared;
use crate::{Registry, RegistryError};
use base64::prelude::*;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use verifier::completeness::{Completeness, HeadsMap, HEADS_FORMAT, HEADS_KIND, HEADS_TYPE};
use verifier::envelope::Envelope;
use verifier::heads::{Head, Key, Map};

/// File name of the registry's VRF key in the data folder.
pub const HEADS_KEY_FILE: &str = "heads.key";
/// Folder of published maps' leaves, one file per map named by its root in hex.
pub const HEADS_DIR: &str = "heads";
/// How often `creditlog serve` publishes a map while the log grows, by default: every five
/// minutes. Bundles publish one at once when the newest map does not reach the firm's newest
/// entry, so the interval bounds only how long monitors wait to audit a change; each publication
/// rebuilds the map (about n·log n hashes, `docs/PERFORMANCE.md`).
pub const DEFAULT_HEADS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);
/// The least time between two maps that bundles ask for, by default (`creditlog serve
/// --heads-min-gap-ms`): a firm that adds an entry about itself (an objection, a commitment) and
/// asks for its bundle again and again would otherwise make the server rebuild and write the
/// whole map each time. A bundle asking sooner waits for the gap to pass.
pub const DEFAULT_HEADS_MIN_GAP: std::time::Duration = std::time::Duration::from_secs(10);
/// Bytes of one leaf in a leaves file: key, head leaf hash, chain length (big endian).
pub const LEAF_BYTES: usize = 72;

/// A published map: its entry and the tree to prove against.
#[derive(Debug)]
pub struct Published {
    /// The map entry's index.
    pub index: u64,
    /// Its payload.
    pub map: HeadsMap,
    /// The tree.
    pub tree: Map,
}

#[derive(Default)]
pub(crate) struct HeadsState {
    /// Every firm's chain as the log has it, by USCC bytes; `None` until loaded.
    live: Option<HashMap<[u8; 18], Head>>,
    /// Each firm's map key, computed once.
    keys: HashMap<[u8; 18], Key>,
    published: Option<Arc<Published>>,
    /// The log's first and newest map entries (the newest is the next map's `previous`, even when
    /// its leaves could not be loaded).
    first: Option<u64>,
    last: Option<u64>,
    /// The VRF secret, once read.
    vrf: Option<[u8; 32]>,
    /// When this process last published a map.
    published_at: Option<std::time::Instant>,
    /// The least time between two maps a bundle asks for; `None`: [`DEFAULT_HEADS_MIN_GAP`].
    min_gap: Option<std::time::Duration>,
}

/// Serialises leaves as a leaves file holds them.
pub fn encode_leaves(leaves: &[(Key, Head)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(leaves.len() * LEAF_BYTES);
    for (k, h) in leaves {
        out.extend_from_slice(k);
        out.extend_from_slice(&h.leaf);
        out.extend_from_slice(&h.length.to_be_bytes());
    }
    out
}

/// Parses a leaves file.
///
/// # Errors
///
/// If its length is not a multiple of [`LEAF_BYTES`].
pub fn decode_leaves(bytes: &[u8]) -> Result<Vec<(Key, Head)>, String> {
    if !bytes.len().is_multiple_of(LEAF_BYTES) {
        return Err(format!("{} bytes is not a whole number of {LEAF_BYTES}-byte leaves", bytes.len()));
    }
    Ok(bytes
        .chunks_exact(LEAF_BYTES)
        .map(|c| {
            let key: Key = c[..32].try_into().expect("32 bytes");
            let leaf: [u8; 32] = c[32..64].try_into().expect("32 bytes");
            let length = u64::from_be_bytes(c[64..72].try_into().expect("8 bytes"));
            (key, Head { leaf, length })
        })
        .collect())
}

fn uscc_bytes(uscc: &str) -> Option<[u8; 18]> {
    <[u8; 18]>::try_from(uscc.as_bytes()).ok()
}

impl Registry {
    /// The VRF secret, read from (or created in) `heads.key` once per process.
    fn vrf_secret(&self) -> Result<[u8; 32], RegistryError> {
        if let Some(k) = self.inner.heads_map.lock().expect("lock").vrf {
            return Ok(k);
        }
        let path = self.inner.data.join(HEADS_KEY_FILE);
        let k = if path.exists() {
            crate::keyfile::read(&path)?
        } else {
            let k = crate::keyfile::generate();
            crate::keyfile::write(&path, &k)?;
            k
        };
        self.inner.heads_map.lock().expect("lock").vrf = Some(k.to_bytes());
        Ok(k.to_bytes())
    }

    /// Loads every firm's chain head from the subjects view and the newest published map.
    /// Called when the registry opens, after the views caught up with the log.
    pub(crate) fn load_heads(&self) -> Result<(), RegistryError> {
        let mut live: HashMap<[u8; 18], Head> = HashMap::new();
        for item in self.inner.views.subjects.iter() {
            let (k, v) = item?;
            let Some(u) = k.get(..18).and_then(|b| <[u8; 18]>::try_from(b).ok()) else { continue };
            let leaf: [u8; 32] = v.as_ref().try_into().map_err(|_| RegistryError::Corrupt {
                tree: "subjects",
                problem: "a value is not a 32-byte leaf hash".into(),
            })?;
            let h = live.entry(u).or_insert(Head { leaf, length: 0 });
            h.leaf = leaf;
            h.length += 1;
        }
        let meta = &self.inner.views.meta;
        let first = meta.get(b"heads_first")?.map(|v| crate::store::be_u64(&v, "meta")).transpose()?;
        let last = meta.get(b"heads_last")?.map(|v| crate::store::be_u64(&v, "meta")).transpose()?;
        let mut published = None;
        if let Some(index) = last {
            if let Some(map) = self.heads_map_at(index)? {
                let leaves = self.stored_leaves(&hex::encode(map.root_bytes().unwrap_or_default()))?;
                match leaves.and_then(|b| decode_leaves(&b).ok()).and_then(|l| Map::build(l).ok()) {
                    Some(tree) if tree.root() == map.root_bytes().unwrap_or_default() => {
                        published = Some(Arc::new(Published { index, map, tree }));
                    }
                    _ => tracing::warn!(index, "the leaves of the newest map of chain heads are missing or damaged: the next bundle publishes a new map"),
                }
            }
        }
        let mut st = self.inner.heads_map.lock().expect("lock");
        st.live = Some(live);
        st.first = first;
        st.last = last;
        st.published = published;
        Ok(())
    }

    fn heads_map_at(&self, index: u64) -> Result<Option<HeadsMap>, RegistryError> {
        let Some((header, content)) = self.read_entry(index)? else { return Ok(None) };
        if header.kind != HEADS_KIND {
            return Ok(None);
        }
        let (payload, _) = content
            .envelope
            .decode(HEADS_TYPE)
            .map_err(|e| RegistryError::Inconsistent { index, problem: e.to_string() })?;
        HeadsMap::parse(&payload).map(Some).map_err(|problem| RegistryError::Inconsistent { index, problem })
    }

    /// Records a map entry in the views (the first and the newest).
    pub(crate) fn apply_heads(&self, index: u64) -> Result<(), RegistryError> {
        let meta = &self.inner.views.meta;
        if meta.get(b"heads_first")?.is_none() {
            meta.insert(b"heads_first", index.to_be_bytes())?;
        }
        meta.insert(b"heads_last", index.to_be_bytes())?;
        let mut st = self.inner.heads_map.lock().expect("lock");
        st.first.get_or_insert(index);
        st.last = Some(index);
        Ok(())
    }

    /// Keeps the live chain heads after an append: `appended` holds, in log order, the USCC and
    /// leaf hash of every appended entry about a firm. On a failed append the live heads are
    /// dropped and reloaded from the views at the next publication.
    pub(crate) fn keep_heads(&self, appended: Option<&[(String, [u8; 32])]>) {
        let mut st = self.inner.heads_map.lock().expect("lock");
        match (appended, st.live.as_mut()) {
            (Some(items), Some(live)) => {
                for (u, leaf) in items {
                    if let Some(k) = uscc_bytes(u) {
                        let h = live.entry(k).or_insert(Head { leaf: *leaf, length: 0 });
                        h.leaf = *leaf;
                        h.length += 1;
                    }
                }
            }
            (None, _) => st.live = None,
            (Some(_), None) => {}
        }
    }

    /// Sets the least time between two maps that bundles ask for ([`DEFAULT_HEADS_MIN_GAP`]).
    pub fn set_heads_min_gap(&self, gap: std::time::Duration) {
        self.inner.heads_map.lock().expect("lock").min_gap = Some(gap);
    }

    /// The newest published map, if any.
    pub fn published_heads(&self) -> Option<Arc<Published>> {
        self.inner.heads_map.lock().expect("lock").published.clone()
    }

    /// Publishes a map of every firm's chain head as it stands now, unless the newest map already
    /// covers every entry but itself. Returns the newest map.
    ///
    /// # Errors
    ///
    /// No grader key; storage failures.
    pub async fn publish_heads(&self) -> Result<Arc<Published>, RegistryError> {
        let _one = self.inner.heads_publishing.lock().await;
        let vrf = self.vrf_secret()?;
        let vrf_public = verifier::vrf::public_key(&vrf);
        let grader = self.grader()?;
        let (size, snapshot, previous) = {
            let _intake = self.inner.intake.lock().await;
            let size = self.inner.log.committed_size();
            let needs_load = self.inner.heads_map.lock().expect("lock").live.is_none();
            if needs_load {
                self.load_heads()?;
            }
            let st = self.inner.heads_map.lock().expect("lock");
            if let Some(p) = &st.published {
                if p.index + 1 >= size {
                    return Ok(p.clone());
                }
            }
            let live = st.live.as_ref().expect("loaded above");
            let snapshot: Vec<([u8; 18], Head)> = live.iter().map(|(k, v)| (*k, *v)).collect();
            (size, snapshot, st.last)
        };
        // Keys of firms not keyed in memory: from the keys view if kept there (under this VRF
        // key), else an ECVRF evaluation each, outside every lock.
        let kept = &self.inner.views.heads_keys;
        if self.inner.views.meta.get(b"heads_keys_vrf")?.as_deref() != Some(&vrf_public[..]) {
            kept.clear()?;
            self.inner.views.meta.insert(b"heads_keys_vrf", &vrf_public[..])?;
        }
        let mut missing: Vec<[u8; 18]> = Vec::new();
        {
            let absent: Vec<[u8; 18]> = {
                let st = self.inner.heads_map.lock().expect("lock");
                snapshot.iter().map(|(u, _)| *u).filter(|u| !st.keys.contains_key(u)).collect()
            };
            let mut found = Vec::new();
            for u in absent {
                match kept.get(u)?.and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok()) {
                    Some(k) => found.push((u, k)),
                    None => missing.push(u),
                }
            }
            self.inner.heads_map.lock().expect("lock").keys.extend(found);
        }
        let computed = tokio::task::spawn_blocking(move || {
            missing
                .into_iter()
                .map(|u| {
                    let pi = verifier::vrf::prove(&vrf, &u);
                    let beta = verifier::vrf::proof_to_hash(&pi).expect("a proof just made is well-formed");
                    (u, verifier::heads::map_key(&beta))
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| RegistryError::Inconsistent { index: size, problem: format!("keying the map failed: {e}") })?;
        let mut batch = crate::store::Batch::default();
        for (u, k) in &computed {
            batch.insert(&u[..], &k[..]);
        }
        kept.apply_batch(batch)?;
        let leaves: Vec<(Key, Head)> = {
            let mut st = self.inner.heads_map.lock().expect("lock");
            st.keys.extend(computed);
            snapshot.iter().map(|(u, h)| (st.keys[u], *h)).collect()
        };
        let entries: u64 = leaves.iter().map(|(_, h)| h.length).sum();
        let firms = leaves.len() as u64;
        let tree = tokio::task::spawn_blocking(move || Map::build(leaves))
            .await
            .map_err(|e| RegistryError::Inconsistent { index: size, problem: format!("building the map failed: {e}") })?
            .map_err(|e| RegistryError::Inconsistent { index: size, problem: e.to_string() })?;
        let root = tree.root();
        self.write_leaves(&root, tree.leaves())?;
        let map = HeadsMap {
            kind: HEADS_FORMAT.into(),
            size,
            root: BASE64_STANDARD.encode(root),
            firms,
            entries,
            vrf_key: BASE64_STANDARD.encode(vrf_public),
            previous,
        };
        let envelope = Envelope::sign(HEADS_TYPE, &serde_json::to_vec(&map).expect("serialises"), &grader);
        let index = {
            let _intake = self.inner.intake.lock().await;
            self.append_prepared(vec![Prepared::new(envelope, HEADS_KIND.into(), None)]).await?[0]
        };
        let p = Arc::new(Published { index, map, tree });
        {
            let mut st = self.inner.heads_map.lock().expect("lock");
            st.published = Some(p.clone());
            st.published_at = Some(std::time::Instant::now());
        }
        tracing::info!(index, size, firms, "published a map of chain heads");
        Ok(p)
    }

    /// Writes a map's leaves durably to `heads/<root hex>` (temporary file, fsync, rename,
    /// directory fsync), keeping the two newest files.
    fn write_leaves(&self, root: &[u8; 32], leaves: &[(Key, Head)]) -> Result<(), RegistryError> {
        if let crate::content::Contents::Objects(o) = &self.inner.contents {
            // On a cluster, in the bucket: the newest map's and the one before (from the views).
            let mut keep = Vec::new();
            if let Some(v) = self.inner.views.meta.get(b"heads_last")? {
                if let Some(map) = self.heads_map_at(crate::store::be_u64(&v, "meta")?)? {
                    keep.push(hex::encode(map.root_bytes().unwrap_or_default()));
                }
            }
            o.put_map_leaves(&hex::encode(root), encode_leaves(leaves), &keep)
                .map_err(|e| RegistryError::Corrupt { tree: "heads (bucket)", problem: e.to_string() })?;
            return Ok(());
        }
        let dir = self.inner.data.join(HEADS_DIR);
        let io = |e: std::io::Error| RegistryError::Corrupt { tree: "heads", problem: e.to_string() };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let name = hex::encode(root);
        let tmp = dir.join(format!("{name}.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&encode_leaves(leaves)).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, dir.join(&name)).map_err(io)?;
        std::fs::File::open(&dir).and_then(|d| d.sync_all()).map_err(io)?;
        // Older files: keep the newest other one (a monitor may still be reading it).
        let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(&dir)
            .map_err(io)?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().len() == 64)
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort();
        for (_, old) in files.iter().rev().skip(2) {
            let _ = std::fs::remove_file(old);
        }
        Ok(())
    }

    /// The leaves of the published map whose root is `root_hex`, as a leaves file holds them.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NotFound`] if this server no longer keeps them.
    pub fn heads_leaves(&self, index: u64) -> Result<Vec<u8>, RegistryError> {
        let map = self
            .heads_map_at(index)?
            .ok_or_else(|| RegistryError::NotFound(format!("entry {index} is not a map of chain heads")))?;
        self.stored_leaves(&hex::encode(map.root_bytes().unwrap_or_default()))?.ok_or_else(|| {
            RegistryError::NotFound(format!(
                "this server keeps the leaves of its two newest maps of chain heads only; entry {index} is older"
            ))
        })
    }

    /// The leaves file of the map whose root is `root_hex`: in the data folder, or on a cluster
    /// in the bucket; `None` if it is not kept.
    fn stored_leaves(&self, root_hex: &str) -> Result<Option<Vec<u8>>, RegistryError> {
        match &self.inner.contents {
            crate::content::Contents::Objects(o) => o
                .map_leaves(root_hex)
                .map_err(|e| RegistryError::Corrupt { tree: "heads (bucket)", problem: e.to_string() }),
            crate::content::Contents::File(_) => Ok(std::fs::read(self.inner.data.join(HEADS_DIR).join(root_hex)).ok()),
        }
    }

    /// The completeness proof for `uscc`'s whole history: publishes a map first if none covers
    /// the firm's newest entry (`newest`). Returns the proof and the map entries it names.
    pub(crate) async fn completeness_for(
        &self,
        uscc: &str,
        newest: Option<u64>,
    ) -> Result<Option<Completeness>, RegistryError> {
        let covered = |p: &Published| newest.is_none_or(|n| n < p.map.size);
        // At most one map per gap for bundles: a bundle asking sooner waits for the gap.
        let wait = {
            let st = self.inner.heads_map.lock().expect("lock");
            let gap = st.min_gap.unwrap_or(DEFAULT_HEADS_MIN_GAP);
            match (&st.published, st.published_at) {
                (Some(p), _) if covered(p) => None,
                (_, Some(at)) => gap.checked_sub(at.elapsed()),
                _ => None,
            }
        };
        if let Some(w) = wait {
            tokio::time::sleep(w).await;
        }
        let published = match self.published_heads() {
            Some(p) if covered(&p) => p,
            _ => match self.publish_heads().await {
                Ok(p) => p,
                Err(RegistryError::NoGrader(why)) => {
                    tracing::warn!(%why, "no map of chain heads: bundles cannot prove they are complete");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            },
        };
        let first = self.inner.heads_map.lock().expect("lock").first.unwrap_or(published.index);
        let vrf = self.vrf_secret()?;
        if BASE64_STANDARD.encode(verifier::vrf::public_key(&vrf)) != published.map.vrf_key {
            return Err(RegistryError::Inconsistent {
                index: published.index,
                problem: format!("the VRF key in {} is not the one the map was keyed with", HEADS_KEY_FILE),
            });
        }
        let pi = verifier::vrf::prove(&vrf, uscc.as_bytes());
        let beta = verifier::vrf::proof_to_hash(&pi).expect("a proof just made is well-formed");
        let proof = published.tree.prove(&verifier::heads::map_key(&beta));
        Ok(Some(Completeness {
            map_index: published.index,
            first_map_index: first,
            vrf_proof: BASE64_STANDARD.encode(pi),
            proof: (&proof).into(),
        }))
    }

    /// Publishes a map every `interval` while the log grows (besides the ones bundles ask for),
    /// so that monitors can audit every firm's chain and no firm's end of history waits long.
    pub fn spawn_heads_publisher(&self, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let registry = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let grew = match registry.published_heads() {
                    Some(p) => registry.inner.log.committed_size() > p.index + 1,
                    None => registry.inner.log.committed_size() > 0,
                };
                if grew {
                    if let Err(e) = registry.publish_heads().await {
                        tracing::warn!(error = %e, "publishing the map of chain heads failed; retrying at the next interval");
                    }
                }
            }
        })
    }
}
