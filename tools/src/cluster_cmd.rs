//! Beyond one machine: `creditlog cluster init` and `creditlog serve --cluster FILE`
//! (README, "Deploying beyond one machine").

use crate::{Failure, ServeArgs};
use anyhow::{Context, Result};
use clap::Subcommand;
use cluster::{ClusterConfig, Coordinator, LeaseKeeper, ObjectContents, ObjectLog, Role};
use ledger::keys::LogKey;
use ledger::{Log, LogConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

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
    let registry = registry::Registry::open_cluster(data, log.clone(), contents, coord.clone())
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
