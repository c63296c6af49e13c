//! Beyond one machine: `creditlog cluster init` and `creditlog serve --cluster FILE`
//! (README, "Deploying beyond one machine").

use crate::{Failure, ServeArgs};
use anyhow::{Context, Result};
use base64::prelude::*;
use clap::Subcommand;
use cluster::{ClusterConfig, Coordinator, LeaseKeeper, ObjectContents, ObjectLog, PgViews, Role};
use ledger::keys::LogKey;
use ledger::storage::{Commit, LogStorage, TileAppend, TileBatch};
use ledger::{Log, LogConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use verifier::{TileKind, TilePath, TILE_WIDTH};

/// `creditlog cluster ...`.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Create the keys of a new clustered log in a folder: the log key, the operator key and the
    /// grader key. Copy `log.key` and `grader.key` to every sequencer candidate's data folder and
    /// `log.key` to every API node's; keep `operator.key` offline.
    Init {
        /// The folder to create them in.
        #[arg(long)]
        data: PathBuf,
        /// The log's origin (name), e.g. "creditlog.example/zibo".
        #[arg(long)]
        origin: String,
    },
}

pub fn run(command: ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Init { data, origin } => {
            std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
            anyhow::ensure!(
                !data.join(ledger::keys::KEY_FILE).exists(),
                "{} already holds a log key: a cluster's keys are created once",
                data.display()
            );
            let (key, _) = LogKey::load_or_create(&data, Some(&origin), crate::DEFAULT_ORIGIN)?;
            for file in [registry::OPERATOR_KEY_FILE, registry::GRADER_KEY_FILE] {
                registry::keyfile::write(&data.join(file), &registry::keyfile::generate())?;
            }
            println!("log: {}", key.name);
            println!("verifier key: {}", key.verifier_key);
            println!(
                "created {0}/{1}, {0}/{2} and {0}/{3} (mode 0600)",
                data.display(),
                ledger::keys::KEY_FILE,
                registry::OPERATOR_KEY_FILE,
                registry::GRADER_KEY_FILE
            );
            println!(
                "copy {} and {} to every sequencer candidate's data folder, {} to every API node's; keep {} offline",
                ledger::keys::KEY_FILE,
                registry::GRADER_KEY_FILE,
                ledger::keys::KEY_FILE,
                registry::OPERATOR_KEY_FILE
            );
            Ok(())
        }
    }
}

/// How often an API node reads the newest checkpoint from PostgreSQL.
const FOLLOW_POLL: Duration = Duration::from_millis(50);

/// `creditlog serve --cluster FILE`.
pub async fn serve(args: ServeArgs, path: &Path) -> Result<()> {
    anyhow::ensure!(!args.raw_append, "--raw-append is for the embedded log only, not a cluster");
    anyhow::ensure!(
        args.federation.is_none(),
        "a provincial log (--federation) runs on one machine for now, not a cluster"
    );
    let config = ClusterConfig::load(path).map_err(|e| Failure(e.to_string()))?;
    let data = &args.log.data;
    let key = LogKey::load(data).with_context(|| {
        format!(
            "a cluster node needs the log key in {}: create the keys once with `creditlog cluster init` and copy them to each node",
            data.display()
        )
    })?;
    let lease = config.lease();
    // Every call to PostgreSQL or the bucket fails after a quarter of the lease: a partitioned
    // sequencer learns it well before a standby may take over.
    let timeout = lease / 4;
    let (url, origin) = (config.postgres.url.clone(), key.name.clone());
    let coord = tokio::task::spawn_blocking(move || Coordinator::connect(&url, &origin, timeout))
        .await?
        .map_err(|e| Failure(e.to_string()))?;
    let coord = Arc::new(coord);
    let bucket = cluster::objects::bucket(&config.s3, timeout).map_err(|e| Failure(e.to_string()))?;
    let contents = ObjectContents::new(bucket.clone(), timeout);
    let node = config.node.clone();
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;

    let (log, keeper) = match node.role {
        Role::Sequencer => {
            println!("sequencer candidate {}: asking for the lease of {}", node.name, key.name);
            let (c, name, url) = (coord.clone(), node.name.clone(), node.url.clone());
            let keeper = tokio::task::spawn_blocking(move || {
                LeaseKeeper::acquire(
                    c,
                    &name,
                    &url,
                    lease,
                    |l| println!("standby: {} holds the lease (token {}) at {}; waiting for it to expire", l.holder, l.token, l.url),
                    |why| {
                        eprintln!("creditlog: {why}; this sequencer stops now and writes nothing more (restart it to stand by)");
                        std::process::exit(3);
                    },
                )
            })
            .await?;
            println!("sequencer: holding the lease (token {})", keeper.token());
            let k = keeper.clone();
            let storage = tokio::task::spawn_blocking(move || ObjectLog::open_writer(bucket, k, timeout))
                .await?
                .map_err(|e| Failure(e.to_string()))?;
            let log_config = LogConfig {
                checkpoint_interval: Duration::from_millis(args.log.checkpoint_interval_ms),
                witnessing: args.log.witnessing(&key)?,
                ..LogConfig::default()
            };
            let log = tokio::task::spawn_blocking(move || Log::start(Arc::new(storage), key, log_config))
                .await?
                .context("starting the sequencer over the bucket")?;
            (log, Some(keeper))
        }
        Role::Api => {
            let (c, b) = (coord.clone(), bucket.clone());
            let log = tokio::task::spawn_blocking(move || -> Result<Log> {
                let storage = ObjectLog::open_reader(b, c, timeout).map_err(|e| Failure(e.to_string()))?;
                Ok(Log::follow(Arc::new(storage), key, FOLLOW_POLL)?)
            })
            .await??;
            (log, None)
        }
    };
    // The shared views: the sequencer writes them under its lease, an API node only reads.
    let (url, origin, token) =
        (config.postgres.url.clone(), log.origin().to_owned(), keeper.as_ref().map(|k| k.token()));
    let views = tokio::task::spawn_blocking(move || PgViews::connect(&url, &origin, timeout, token))
        .await?
        .map_err(|e| Failure(e.to_string()))?;
    let registry = registry::Registry::open_cluster(data, log.clone(), contents, coord.clone(), Arc::new(views))
        .await
        .context("opening the registry")?;
    let mut state = api::AppState::new(log.clone(), Some(registry.clone()), false, data)
        .with_context(|| format!("opening the firm directory in {}", data.display()))?
        .with_shared_nonces(coord.clone());
    match node.role {
        Role::Sequencer => {
            registry.set_storage_reserve(args.storage_reserve_mb << 20);
            registry.set_heads_min_gap(Duration::from_millis(args.heads_min_gap_ms));
            if args.heads_interval_secs > 0 {
                registry.spawn_heads_publisher(Duration::from_secs(args.heads_interval_secs));
            }
            for order in registry.resume_regrades()? {
                println!("resuming the re-grade of order {order} (its run summary is not on the log)");
            }
            // A storage failure stops the log until a restart; holding the lease meanwhile would
            // keep every standby out, so the sequencer exits and a standby (or this one, started
            // again) replays the last batch and goes on.
            let watched = log.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if let Some(why) = watched.failure() {
                        eprintln!("creditlog: the log stopped after a storage failure ({why}); this sequencer exits so that a standby takes over");
                        std::process::exit(4);
                    }
                }
            });
        }
        Role::Api => {
            registry.spawn_follower();
            state = state.with_forward(Arc::new(api::cluster::Forward::new(coord.clone())));
            println!("API node {}: reads from the bucket and PostgreSQL, passes writes to the sequencer", node.name);
        }
    }
    println!("log: {}", log.origin());
    println!("size: {}", log.latest().size);
    println!("verifier key: {}", log.verifier_key());
    println!("listening on http://{addr}");
    api::serve(listener, api::app(state), Duration::from_secs(args.idle_timeout_secs), crate::shutdown_signal())
        .await
        .context("serving HTTP")?;
    drop(registry);
    drop(log);
    if let Some(k) = keeper {
        // Dropping the log above published what was committed; a standby may now take over at
        // once instead of waiting for the lease to expire.
        tokio::task::spawn_blocking(move || k.release()).await?;
        println!("released the lease");
    }
    Ok(())
}

/// Every tile of a tree of `size` entries: the full ones and the partial one at its right edge,
/// for each level and the entry bundles.
fn tiles_of(size: u64) -> Vec<TilePath> {
    let mut out = Vec::new();
    let mut edge = |kind: TileKind, n: u64| {
        out.extend((0..n / TILE_WIDTH).map(|index| TilePath { kind, index, partial: None }));
        if !n.is_multiple_of(TILE_WIDTH) {
            let w = u8::try_from(n % TILE_WIDTH).expect("under 256");
            out.push(TilePath { kind, index: n / TILE_WIDTH, partial: Some(w) });
        }
    };
    edge(TileKind::Entries, size);
    let (mut level, mut n) = (0u8, size);
    while n > 0 {
        edge(TileKind::Hash(level), n);
        n /= TILE_WIDTH;
        level += 1;
    }
    out
}

/// The cluster's lease for an offline operation (`creditlog migrate`, `creditlog rebuild
/// --cluster`), kept for its whole length and lost within 30 s if it dies: no sequencer may
/// start meanwhile. Refused while a sequencer holds it.
fn hold_lease(coord: &Arc<Coordinator>, what: &'static str) -> Result<Arc<LeaseKeeper>> {
    if let Some(l) = coord.leader().map_err(|e| Failure(e.to_string()))?.filter(|l| l.live) {
        return Err(Failure(format!(
            "{} holds the cluster's lease (it is sequencing): stop the cluster's sequencers, then {what}",
            l.holder
        ))
        .into());
    }
    Ok(LeaseKeeper::acquire(
        coord.clone(),
        &format!("creditlog {what}"),
        "-",
        Duration::from_secs(30),
        |_| {},
        move |why| {
            eprintln!("creditlog: {why}; {what} stops (run it again: it starts over)");
            std::process::exit(3);
        },
    ))
}

/// `creditlog rebuild --data DIR --cluster CLUSTER.toml`: drops the cluster's shared views in
/// PostgreSQL and builds them again from the log in the bucket, under the lease; the result must
/// have the digest the views had before.
pub fn rebuild(data: &Path, file: &Path) -> Result<()> {
    let config = ClusterConfig::load(file).map_err(|e| Failure(e.to_string()))?;
    let rt = crate::runtime()?;
    let key = LogKey::load(data).with_context(|| format!("reading the log key in {}", data.display()))?;
    let timeout = Duration::from_secs(30);
    let coord =
        Arc::new(Coordinator::connect(&config.postgres.url, &key.name, timeout).map_err(|e| Failure(e.to_string()))?);
    let keeper = hold_lease(&coord, "rebuild")?;
    let result = (|| -> Result<()> {
        let bucket = cluster::objects::bucket(&config.s3, timeout).map_err(|e| Failure(e.to_string()))?;
        let views = Arc::new(
            PgViews::connect(&config.postgres.url, &key.name, timeout, Some(keeper.token()))
                .map_err(|e| Failure(e.to_string()))?,
        );
        let open = |scratch: &Path| -> Result<registry::Registry> {
            let storage =
                ObjectLog::open_reader(bucket.clone(), coord.clone(), timeout).map_err(|e| Failure(e.to_string()))?;
            let log = Log::follow(Arc::new(storage), key.clone(), Duration::from_secs(3600))?;
            let contents = ObjectContents::new(bucket.clone(), timeout);
            Ok(rt.block_on(registry::Registry::open_cluster(scratch, log, contents, coord.clone(), views.clone()))?)
        };
        // Each opening's own scoring view in a scratch folder: a rebuild derives everything.
        let (first, second) = (tempfile::tempdir()?, tempfile::tempdir()?);
        let r = open(first.path()).context("opening the cluster's views")?;
        let size = r.log().latest().size;
        let before = r.views_digest()?;
        r.clear_views()?;
        drop(r);
        let r = open(second.path()).context("rebuilding the views from the log")?;
        let after = r.views_digest()?;
        println!("rebuilt the cluster's shared views from {size} log entries: digest {after}");
        anyhow::ensure!(
            before == after,
            "the rebuilt views differ from the ones before the rebuild (digest {before}): the views in PostgreSQL were not what the log says"
        );
        println!("identical to the views before the rebuild");
        Ok(())
    })();
    keeper.release();
    result
}

/// The batch that takes a copy of the log from `s0` to `s1` entries with root `root`: for every
/// tile the step touches (entry bundles and each level of hashes), the entries or hashes it gains,
/// read from `src` at its width at `s1`.
fn tile_batch(src: &dyn LogStorage, s0: u64, s1: u64, root: verifier::Hash) -> Result<TileBatch> {
    let mut appends = Vec::new();
    let mut kinds = vec![(TileKind::Entries, s0, s1)];
    let (mut level, mut a, mut b) = (0u8, s0, s1);
    while b > 0 {
        kinds.push((TileKind::Hash(level), a, b));
        (a, b, level) = (a / TILE_WIDTH, b / TILE_WIDTH, level + 1);
    }
    for (kind, a, b) in kinds {
        if b <= a {
            continue;
        }
        for index in a / TILE_WIDTH..=(b - 1) / TILE_WIDTH {
            let base = index * TILE_WIDTH;
            let (start, end) = (a.max(base) - base, b.min(base + TILE_WIDTH) - base);
            if end <= start {
                continue;
            }
            let at =
                TilePath { kind, index, partial: (end < TILE_WIDTH).then(|| u8::try_from(end).expect("under 256")) };
            let bytes =
                src.read_tile(at)?.ok_or_else(|| Failure(format!("{} is missing from the bucket", at.to_path())))?;
            let data = match kind {
                TileKind::Hash(_) => bytes
                    .get(32 * start as usize..32 * end as usize)
                    .ok_or_else(|| Failure(format!("{} is shorter than its width", at.to_path())))?
                    .to_vec(),
                TileKind::Entries => {
                    let entries =
                        verifier::parse_bundle(&bytes).map_err(|e| Failure(format!("{}: {e}", at.to_path())))?;
                    let mut out = Vec::new();
                    for e in entries.get(start as usize..end as usize).unwrap_or_default() {
                        out.extend_from_slice(&u16::try_from(e.len()).expect("an entry is under 64 KiB").to_be_bytes());
                        out.extend_from_slice(e);
                    }
                    out
                }
            };
            appends.push(TileAppend {
                tile: TilePath { kind, index, partial: None },
                start_width: start,
                end_width: end,
                data,
            });
        }
    }
    Ok(TileBatch { appends, commit: Commit { size: s1, root } })
}

/// Entries per step of a backup (each step one durable batch of the copy).
const BACKUP_STEP: u64 = 1 << 16;

/// `creditlog backup --cluster CLUSTER.toml --data NODE --to DIR`: copies a running cluster's log
/// as of its newest checkpoint into a new data folder: the tiles (one batch per 65,536 entries),
/// every checkpoint recorded up to it, word for word, each entry's content, and the journal of
/// reads; the views are derived there from the copy. The copy is proved identical (the root of
/// the copied tree is the checkpoint's) and is itself a data folder: `creditlog fsck` checks it,
/// `creditlog serve` serves it, and `creditlog migrate` restores it into an empty cluster.
pub fn backup(data: &Path, file: &Path, to: &Path) -> Result<()> {
    let config = ClusterConfig::load(file).map_err(|e| Failure(e.to_string()))?;
    let rt = crate::runtime()?;
    let key = LogKey::load(data).with_context(|| format!("reading the log key in {}", data.display()))?;
    anyhow::ensure!(
        !to.exists() || std::fs::read_dir(to)?.next().is_none(),
        "{} is not empty: a backup goes into a new folder",
        to.display()
    );
    let timeout = Duration::from_secs(30);
    let coord =
        Arc::new(Coordinator::connect(&config.postgres.url, &key.name, timeout).map_err(|e| Failure(e.to_string()))?);
    let bucket = cluster::objects::bucket(&config.s3, timeout).map_err(|e| Failure(e.to_string()))?;
    let src: Arc<dyn LogStorage> =
        Arc::new(ObjectLog::open_reader(bucket.clone(), coord.clone(), timeout).map_err(|e| Failure(e.to_string()))?);
    // As of the newest checkpoint: every tile and content it covers is in the bucket.
    let (size, _) = coord
        .latest_checkpoint()
        .map_err(|e| Failure(e.to_string()))?
        .ok_or_else(|| Failure("the cluster's log has no checkpoint yet: nothing to back up".into()))?;
    let reader = ledger::tree::TileHashReader::new(src.clone(), 1024);
    let root = tlog_tiles::tree_hash(size, &reader).map_err(|e| Failure(format!("hashing the cluster's tree: {e}")))?;
    let checkpoints: Vec<(u64, Vec<u8>)> =
        coord.checkpoints().map_err(|e| Failure(e.to_string()))?.into_iter().filter(|(s, _)| *s <= size).collect();

    std::fs::create_dir_all(to)?;
    std::fs::copy(data.join(ledger::keys::KEY_FILE), to.join(ledger::keys::KEY_FILE))
        .context("copying the log key into the backup")?;
    // 1. The tree, step by step, then the checkpoints as recorded.
    {
        let (dst, _) = ledger::fs::FileStorage::open(&to.join("log"), ledger::fs::OpenMode::Repair)?;
        let mut at = 0;
        while at < size {
            let next = size.min(at + BACKUP_STEP);
            let r = if next == size {
                root
            } else {
                tlog_tiles::tree_hash(next, &reader).map_err(|e| Failure(format!("hashing the cluster's tree: {e}")))?
            };
            dst.commit(&tile_batch(&*src, at, next, r)?)?;
            at = next;
        }
        for (s, n) in &checkpoints {
            dst.publish_checkpoint(*s, n)?;
        }
        let copied: Arc<dyn LogStorage> = Arc::new(dst);
        let back = tlog_tiles::tree_hash(size, &ledger::tree::TileHashReader::new(copied, 1024))
            .map_err(|e| Failure(format!("hashing the copied tree: {e}")))?;
        anyhow::ensure!(back == root, "the copied tree has another root than the cluster's checkpoint");
    }
    // 2. The contents, in log order.
    let contents = ObjectContents::new(bucket, timeout);
    let (log, _) = crate::open_log(&crate::LogArgs::at(to))?;
    {
        let store = registry::content::ContentStore::open_in_folder(to)?;
        let mut batch = Vec::new();
        for index in 0..size {
            let leaf = verifier::leaf_hash(&log.entry(index)?).0;
            let c = contents
                .get(index, &leaf)
                .map_err(|e| Failure(e.to_string()))?
                .ok_or_else(|| Failure(format!("the content of entry {index} is missing from the bucket")))?;
            batch.push((leaf, c));
            if batch.len() == 256 || index + 1 == size {
                store.append(index + 1 - batch.len() as u64, &std::mem::take(&mut batch))?;
            }
        }
        store.flush()?;
    }
    // 3. The views, derived from the copy; the journal of reads, carried over.
    let copy = rt.block_on(registry::Registry::open(to, log.clone())).context("deriving the views of the backup")?;
    let journal = coord.all_reads().map_err(|e| Failure(e.to_string()))?;
    copy.import_journal(&journal)?;
    copy.flush()?;
    println!(
        "backed up {size} entries, {} checkpoints and {} reads into {}: root {} (the checkpoint's), views digest {}",
        checkpoints.len(),
        journal.len(),
        to.display(),
        BASE64_STANDARD.encode(root.0),
        copy.views_digest()?
    );
    Ok(())
}

/// `creditlog migrate --from DATA --to CLUSTER.toml`.
pub fn migrate(from: &Path, to: &Path) -> Result<()> {
    let config = ClusterConfig::load(to).map_err(|e| Failure(e.to_string()))?;
    let rt = crate::runtime()?;
    let key = LogKey::load(from).with_context(|| format!("reading the log key of {}", from.display()))?;
    let (log, _) = crate::open_log(&crate::LogArgs::at(from))?;
    let source = rt.block_on(registry::Registry::open(from, log.clone())).context("opening the registry to migrate")?;
    let digest = source.views_digest()?;
    let size = log.committed_size();
    let latest = log.latest();
    anyhow::ensure!(
        latest.size == size,
        "{} holds {size} entries but its newest checkpoint covers {}: start its server once so that it publishes them, then migrate",
        from.display(),
        latest.size
    );
    let checkpoints = log.checkpoints()?;
    let timeout = Duration::from_secs(30);
    let coord = Arc::new(
        Coordinator::connect(&config.postgres.url, log.origin(), timeout).map_err(|e| Failure(e.to_string()))?,
    );
    let keeper = hold_lease(&coord, "migrate")?;
    let token = keeper.token();
    let result = (|| -> Result<()> {
        let (have, _, _) = coord.tree().map_err(|e| Failure(e.to_string()))?;
        anyhow::ensure!(
            have == 0,
            "the cluster already holds a log of {have} entries under {}: migrate only into an empty cluster",
            log.origin()
        );
        let bucket = cluster::objects::bucket(&config.s3, timeout).map_err(|e| Failure(e.to_string()))?;
        let target =
            ObjectLog::open_reader(bucket.clone(), coord.clone(), timeout).map_err(|e| Failure(e.to_string()))?;
        let contents = ObjectContents::new(bucket.clone(), timeout);
        // 1. Tiles and contents (rewriting them is harmless: the same bytes).
        let tiles = tiles_of(size);
        for chunk in tiles.chunks(64) {
            let mut batch = Vec::with_capacity(chunk.len());
            for t in chunk {
                let bytes = log
                    .read_tile(*t)?
                    .ok_or_else(|| Failure(format!("{} is missing from {}", t.to_path(), from.display())))?;
                batch.push((*t, bytes));
            }
            target.put_tiles(batch).map_err(|e| Failure(e.to_string()))?;
        }
        let mut stored = 0u64;
        let mut batch = Vec::new();
        for index in 0..size {
            if let Some((leaf, c)) = source.stored_content(index)? {
                batch.push((index, leaf, c));
                stored += 1;
            }
            if batch.len() == 256 || index + 1 == size {
                contents.put_many(std::mem::take(&mut batch)).map_err(|e| Failure(e.to_string()))?;
            }
        }
        // 2. The database last: the checkpoints, then the tree, which makes the log count.
        for (s, note) in &checkpoints {
            coord.publish(token, *s, note).map_err(|e| Failure(e.to_string()))?;
        }
        let empty = ledger::storage::TileBatch {
            appends: Vec::new(),
            commit: ledger::storage::Commit { size, root: latest.root },
        };
        coord
            .advance(token, 0, size, latest.root, cluster::objects::encode_batch(&empty))
            .map_err(|e| Failure(e.to_string()))?;
        target.put_checkpoint(&latest.note).map_err(|e| Failure(e.to_string()))?;
        println!(
            "copied {} tiles, {stored} contents and {} checkpoints of {size} entries",
            tiles.len(),
            checkpoints.len()
        );

        // 3. Proof: the tree read back from the bucket has the same root, every content reads
        // back the same, and views rebuilt from the cluster have the same digest.
        let storage: Arc<dyn ledger::storage::LogStorage> = Arc::new(
            ObjectLog::open_reader(bucket.clone(), coord.clone(), timeout).map_err(|e| Failure(e.to_string()))?,
        );
        let reader = ledger::tree::TileHashReader::new(storage.clone(), 1024);
        let root =
            tlog_tiles::tree_hash(size, &reader).map_err(|e| Failure(format!("hashing the migrated tree: {e}")))?;
        anyhow::ensure!(
            root == latest.root,
            "the tree read back from the bucket has another root: the migration is not identical"
        );
        for index in 0..size {
            if let Some((leaf, c)) = source.stored_content(index)? {
                let back = contents.get(index, &leaf).map_err(|e| Failure(e.to_string()))?;
                anyhow::ensure!(
                    back.as_deref() == Some(&c[..]),
                    "the content of entry {index} reads back differently from the bucket"
                );
            }
        }
        // The views, built into PostgreSQL from the migrated log (under the migration's lease):
        // the cluster's sequencer finds them applied.
        let views = Arc::new(
            PgViews::connect(&config.postgres.url, log.origin(), timeout, Some(token))
                .map_err(|e| Failure(e.to_string()))?,
        );
        views.clear_all().map_err(|e| Failure(e.to_string()))?;
        let scratch = tempfile::tempdir()?;
        let follower = Log::follow(storage, key, Duration::from_secs(3600))?;
        let migrated = rt
            .block_on(registry::Registry::open_cluster(scratch.path(), follower, contents, coord.clone(), views))
            .context("building the views from the migrated log")?;
        let after = migrated.views_digest()?;
        anyhow::ensure!(
            after == digest,
            "views rebuilt from the migrated log have digest {after}, the source's are {digest}"
        );
        // The journal of reads is not derived from the log: it is carried over as it is.
        let journal = source.journal()?;
        migrated.import_journal(&journal)?;
        anyhow::ensure!(
            migrated.journal()?.len() == journal.len(),
            "the journal of reads did not carry over whole ({} reads)",
            journal.len()
        );
        println!("carried over the journal of reads ({} reads)", journal.len());
        println!("identical: checkpoint root {} and views digest {digest}", BASE64_STANDARD.encode(root.0));
        Ok(())
    })();
    keeper.release();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tiles_of_a_tree_are_its_full_tiles_and_its_right_edge() {
        let paths: Vec<String> = tiles_of(70_000).iter().map(TilePath::to_path).collect();
        // 70,000 = 273 × 256 + 112 entries; 273 = 1 × 256 + 17 level-1 hashes; 1 level-2 hash.
        assert_eq!(paths.len(), 274 + 274 + 2 + 1);
        assert_eq!(paths[272], "tile/entries/272");
        assert_eq!(paths[273], "tile/entries/273.p/112");
        assert_eq!(paths[274 + 273], "tile/0/273.p/112");
        assert_eq!(&paths[548..], ["tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"]);
        assert!(tiles_of(0).is_empty());
        assert_eq!(
            tiles_of(256).iter().map(TilePath::to_path).collect::<Vec<_>>(),
            ["tile/entries/000", "tile/0/000", "tile/1/000.p/1"]
        );
    }
}
